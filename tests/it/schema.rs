//! A small JSON Schema check for the part of JSON Schema the OpenAPI description
//! uses (`$ref`, `allOf`, `oneOf`, `anyOf`, `type`, `enum`, `properties`,
//! `required`, `items`, `additionalProperties`): enough to hold real answers against
//! the schemas that describe them.

use serde_json::Value;

/// Every way `value` breaks `schema` (resolved in the description `doc`).
pub fn violations(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(doc, schema, value, "$", &mut out);
    out
}

fn check(doc: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(name) = schema["$ref"].as_str() {
        let name = name.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(target.is_object(), "no schema {name}");
        return check(doc, target, v, at, out);
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        check(doc, part, v, at, out);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = schema[key].as_array() {
            let fits = |c: &Value| violations(doc, c, v).is_empty();
            if !choices.iter().any(fits) {
                out.push(format!("{at}: fits none of {key} ({v})"));
            }
        }
    }
    if !type_fits(&schema["type"], v) {
        out.push(format!("{at}: {v} is not of type {}", schema["type"]));
        return;
    }
    if let Some(options) = schema["enum"].as_array().filter(|o| !o.contains(v)) {
        out.push(format!("{at}: {v} is not one of {options:?}"));
    }
    if let Some(items) = v.as_array().filter(|_| schema.get("items").is_some()) {
        for (i, item) in items.iter().enumerate() {
            check(doc, &schema["items"], item, &format!("{at}[{i}]"), out);
        }
    }
    let Some(object) = v.as_object() else { return };
    for name in schema["required"].as_array().into_iter().flatten() {
        if !object.contains_key(name.as_str().unwrap_or_default()) {
            out.push(format!("{at}: required {name} is missing"));
        }
    }
    for (key, field) in object {
        let here = format!("{at}.{key}");
        match schema["properties"].get(key) {
            Some(s) => check(doc, s, field, &here, out),
            None if schema["additionalProperties"].is_object() => {
                check(doc, &schema["additionalProperties"], field, &here, out)
            }
            None => {}
        }
    }
}

fn type_fits(wanted: &Value, v: &Value) -> bool {
    let one = |t: &str| match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    };
    match wanted {
        Value::String(t) => one(t),
        Value::Array(ts) => ts.iter().any(|t| one(t.as_str().unwrap_or_default())),
        _ => true,
    }
}
