//! Parsers for the FAgent v1 HAProxy API: the backend list and the servers of one
//! backend, plus the `{"success", "status_code", "data" | "error"}` envelope that
//! every FAgent answer is wrapped in. Bytes in, typed data or [`AgentError`] out.

use serde_json::{Map, Value};

use crate::model::ServerSample;
use crate::sources::AgentError;

/// How many characters of an unreadable body an error message quotes.
const SNIPPET_CHARS: usize = 80;
/// Longest error text taken from an envelope, so one answer cannot flood logs.
const ERROR_TEXT_CHARS: usize = 500;

/// Parses `GET /api/v1/haproxy[/{inst}]/backends`: the backend names, in the order
/// the agent lists them, without blanks or repeats.
pub fn parse_backends(body: &[u8]) -> Result<Vec<String>, AgentError> {
    let data = envelope_data(body)?;
    let list = data
        .get("backends")
        .and_then(Value::as_array)
        .ok_or_else(|| missing("data.backends", "a list of backend names"))?;
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for name in list.iter().filter_map(scalar_text) {
        let name = name.trim();
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// Parses `GET /api/v1/haproxy[/{inst}]/backends/{b}/servers`. Rows without a usable
/// name are skipped; a field that is empty or does not parse becomes `None` rather
/// than failing the fetch.
pub fn parse_servers(body: &[u8]) -> Result<Vec<ServerSample>, AgentError> {
    let data = envelope_data(body)?;
    let rows = match data.get("servers") {
        Some(Value::Array(rows)) => rows.as_slice(),
        Some(Value::Null) => &[],
        _ => return Err(missing("data.servers", "a list of servers")),
    };
    Ok(rows
        .iter()
        .filter_map(Value::as_object)
        .filter_map(server_from_row)
        .collect())
}

/// One server row, or `None` when it has no name.
fn server_from_row(row: &Map<String, Value>) -> Option<ServerSample> {
    let name = row.get("name").and_then(scalar_text)?.trim().to_string();
    if name.is_empty() {
        return None;
    }
    let status = row
        .get("status")
        .and_then(scalar_text)
        .unwrap_or_else(|| "UNKNOWN".to_string());
    let last_chg = row.get("last_chg").or_else(|| row.get("lastchg"));
    Some(ServerSample {
        name,
        status,
        weight: row
            .get("weight")
            .and_then(unsigned)
            .and_then(|w| u32::try_from(w).ok()),
        check_status: row.get("check_status").and_then(scalar_text),
        last_change_s: last_chg.and_then(unsigned),
        addr: row.get("addr").and_then(scalar_text),
    })
}

/// Opens an FAgent envelope and returns its `data` object.
///
/// `"success": false` (or an `error` without `data`) is [`AgentError::Envelope`];
/// anything that is not the documented shape is [`AgentError::Malformed`].
pub(crate) fn envelope_data(body: &[u8]) -> Result<Map<String, Value>, AgentError> {
    let root: Value = serde_json::from_slice(trim_bom(body)).map_err(|e| {
        AgentError::Malformed(format!(
            "agent answer is not JSON: {e}{}",
            body_snippet(body)
        ))
    })?;
    let Value::Object(mut root) = root else {
        return Err(AgentError::Malformed(format!(
            "agent answer is not a JSON object{}",
            body_snippet(body)
        )));
    };
    let success = root.get("success").and_then(flag);
    if success == Some(false) || (!root.contains_key("data") && root.contains_key("error")) {
        return Err(envelope_error(&root));
    }
    match root.remove("data") {
        Some(Value::Object(data)) => Ok(data),
        _ => Err(missing("data", "an object")),
    }
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
fn missing(field: &str, expected: &str) -> AgentError {
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

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
