//! The FAgent answer envelope (`{"success", "status_code", "data" | "error"}`) and
//! the tolerant reading of JSON scalars shared by every FAgent and Eureka parser.

use serde_json::{Map, Value};

use crate::sources::AgentError;

/// How many characters of an unreadable body an error message quotes.
const SNIPPET_CHARS: usize = 80;
/// Longest error text taken from an envelope, so one answer cannot flood logs.
const ERROR_TEXT_CHARS: usize = 500;

/// Opens an FAgent envelope and returns its `data` object.
///
/// `"success": false` (or an `error` without `data`) is [`AgentError::Envelope`];
/// anything that is not the documented shape is [`AgentError::Malformed`].
pub(crate) fn envelope_data(body: &[u8]) -> Result<Map<String, Value>, AgentError> {
    let mut root = open_envelope(body)?;
    match root.remove("data") {
        Some(Value::Object(data)) => Ok(data),
        _ => Err(missing("data", "an object")),
    }
}

/// Reads an envelope: its root object when it reports success, the error it
/// reports otherwise, [`AgentError::Malformed`] when it is not an envelope.
fn open_envelope(body: &[u8]) -> Result<Map<String, Value>, AgentError> {
    let root: Value = serde_json::from_slice(trim_bom(body)).map_err(|e| {
        AgentError::Malformed(format!(
            "agent answer is not JSON: {e}{}",
            body_snippet(body)
        ))
    })?;
    let Value::Object(root) = root else {
        return Err(AgentError::Malformed(format!(
            "agent answer is not a JSON object{}",
            body_snippet(body)
        )));
    };
    let success = root.get("success").and_then(flag);
    if success == Some(false) || (!root.contains_key("data") && root.contains_key("error")) {
        return Err(envelope_error(&root));
    }
    Ok(root)
}

/// Checks an envelope that carries no data of interest (an action's answer):
/// `"success": false` is [`AgentError::Envelope`], anything not JSON is malformed.
pub(crate) fn envelope_ok(body: &[u8]) -> Result<(), AgentError> {
    open_envelope(body).map(|_| ())
}

/// The failure an envelope reports, with its `status_code` when it has one.
fn envelope_error(root: &Map<String, Value>) -> AgentError {
    let status_code = root
        .get("status_code")
        .and_then(unsigned)
        .and_then(|c| u16::try_from(c).ok());
    let text = match root.get("error").or_else(|| root.get("message")) {
        Some(Value::Object(o)) => o.get("message").and_then(scalar_text),
        Some(v) => scalar_text(v),
        None => None,
    };
    let error = text
        .map(|t| clean_text(&t, ERROR_TEXT_CHARS))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "agent reported a failure without an error message".to_string());
    AgentError::Envelope { status_code, error }
}

/// The error for a missing or mistyped field of the envelope.
pub(crate) fn missing(field: &str, expected: &str) -> AgentError {
    AgentError::Malformed(format!(
        "agent answer has no usable \"{field}\" (expected {expected})"
    ))
}

/// The text of a JSON scalar: strings as written, numbers and booleans as their text.
/// Empty strings, nulls, lists and objects give `None`.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A non-negative whole number written as a JSON number or a decimal string.
/// Anything else, including values beyond `u64`, gives `None`.
pub(crate) fn unsigned(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            let whole = f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64;
            whole.then_some(f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean written as `true`/`false` or as the strings `"true"`/`"false"`.
fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The body without a leading UTF-8 byte order mark.
pub(crate) fn trim_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// `" (body starts with \"...\")"` quoting the start of a body for an error message,
/// or `" (empty body)"`.
pub(crate) fn body_snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let cut = clean_text(text.trim(), SNIPPET_CHARS);
    if cut.is_empty() {
        return " (empty body)".to_string();
    }
    let more = if text.trim().chars().count() > SNIPPET_CHARS {
        "..."
    } else {
        ""
    };
    format!(" (body starts with \"{cut}{more}\")")
}

/// At most `max` characters of `text`, with control characters replaced by spaces.
fn clean_text(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}
