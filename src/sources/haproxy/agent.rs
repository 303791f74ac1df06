//! Parsers for the FAgent v1 HAProxy API: the backend list and the servers of one
//! backend. Bytes in, typed data or [`AgentError`] out.

use serde_json::{Map, Value};

use crate::model::{ServerSample, intern};
use crate::sources::count::exceeds;
use crate::sources::fagent::{envelope_data, missing, scalar_text, unsigned};
use crate::sources::{AgentError, too_many};

/// Parses `GET /api/v1/haproxy[/{inst}]/backends`: the backend names, in the order
/// the agent lists them, without blanks or repeats.
pub fn parse_backends(body: &[u8]) -> Result<Vec<String>, AgentError> {
    let data = envelope_data(body)?;
    let list = data
        .get("backends")
        .and_then(Value::as_array)
        .ok_or_else(|| missing("data.backends", "a list of backend names"))?;
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    for name in list.iter().filter_map(scalar_text) {
        let name = name.trim();
        let usable = !name.is_empty() && !crate::sources::client::is_dot_segment(name);
        if usable && seen.insert(name.to_string()) {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// Parses `GET /api/v1/haproxy[/{inst}]/backends/{b}/servers`. Rows without a usable
/// name are skipped; a field that is empty or does not parse becomes `None` rather
/// than failing the fetch.
pub fn parse_servers(body: &[u8]) -> Result<Vec<ServerSample>, AgentError> {
    parse_servers_within(body, usize::MAX)
}

/// [`parse_servers`] refusing an answer with more than `max_servers` rows as soon
/// as row `max_servers + 1` is read, before any row is built.
pub fn parse_servers_within(
    body: &[u8],
    max_servers: usize,
) -> Result<Vec<ServerSample>, AgentError> {
    let too_large = || too_many("servers in the backend", max_servers, "max_servers");
    if exceeds(body, &["data", "servers"], max_servers) {
        return Err(too_large());
    }
    let data = envelope_data(body)?;
    let rows = match data.get("servers") {
        Some(Value::Array(rows)) => rows.as_slice(),
        Some(Value::Null) => &[],
        _ => return Err(missing("data.servers", "a list of servers")),
    };
    if rows.len() > max_servers {
        return Err(too_large());
    }
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
    let status = intern(
        row.get("status")
            .and_then(scalar_text)
            .as_deref()
            .unwrap_or("UNKNOWN"),
    );
    let last_chg = row.get("last_chg").or_else(|| row.get("lastchg"));
    Some(ServerSample {
        name,
        status,
        weight: row
            .get("weight")
            .and_then(unsigned)
            .and_then(|w| u32::try_from(w).ok()),
        check_status: row
            .get("check_status")
            .and_then(scalar_text)
            .map(|s| intern(&s)),
        last_change_s: last_chg.and_then(unsigned),
        addr: row.get("addr").and_then(scalar_text),
    })
}

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
