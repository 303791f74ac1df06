//! Runtime API (stats socket) answer handling and command building, without sockets:
//! when an answer is complete, whether it is one of HAProxy's error lines, and the
//! `set server <b>/<s> state ...` command with names checked against injection.

use crate::model::AdminState;

/// The banner of HAProxy's command list, which it prints for a command it does not know.
const HELP_BANNER: &str = "The following commands are valid at this level";

/// How the first line of an error answer starts.
const ERROR_PREFIXES: [&str; 16] = [
    "No such ",
    "Can't ",
    "Cannot ",
    "Require ",
    "Unknown ",
    "Permission denied",
    "Missing ",
    "Invalid ",
    "Absolute weight ",
    "Relative weight ",
    "Version number ",
    "Unable ",
    "Failed ",
    "Error",
    "Not found",
    "'",
];

/// How much of an answer [`error_line`] reads.
pub const ERROR_HEAD_BYTES: usize = 8 * 1024;

/// Whether a Runtime API answer is complete. Every answer ends with an empty line, so a
/// complete answer ends in `\n\n`; the empty answer of a successful admin command is the
/// empty line alone, `\n`. A `\r` before a `\n` is tolerated.
pub fn answer_complete(buf: &[u8]) -> bool {
    answer_complete_tail(buf, true)
}

/// [`answer_complete`] from the last bytes of an answer (at least
/// [`COMPLETE_TAIL_BYTES`] of them, or all of it when `whole`).
pub fn answer_complete_tail(tail: &[u8], whole: bool) -> bool {
    let Some(body) = strip_line_end(tail) else {
        return false;
    };
    (whole && body.is_empty()) || strip_line_end(body).is_some()
}

/// How many of an answer's last bytes [`answer_complete_tail`] needs.
pub const COMPLETE_TAIL_BYTES: usize = 4;

/// `buf` without its final `\n` (or `\r\n`), or `None` when it does not end with one.
fn strip_line_end(buf: &[u8]) -> Option<&[u8]> {
    let body = buf.strip_suffix(b"\n")?;
    Some(body.strip_suffix(b"\r").unwrap_or(body))
}

/// The error text when an answer is one of HAProxy's error answers: a line such as
/// `No such server.`, `No such backend.`, `No such proxy.`, `Can't find backend.`,
/// `Require 'backend/server'.`, `Permission denied`, `Unknown map identifier. ...`,
/// `'set server <srv> state' expects ...`, `Absolute weight can only be ...`, or
/// HAProxy's command list (the answer to a command it does not know). Data answers
/// (CSV, `get weight`'s `7 (initial 1)`, `New version created: 2`) and the empty
/// answer of a successful command give `None`.
pub fn error_line(body: &[u8]) -> Option<String> {
    // Error answers are one short line (or the command list): the start of a large
    // answer (a stats table of several MB) is enough to tell.
    let head = &body[..body.len().min(ERROR_HEAD_BYTES)];
    error_line_of_head(head, head.len() == body.len())
}

/// [`error_line`] from the first [`ERROR_HEAD_BYTES`] of an answer (`whole`: that
/// is all of it).
pub fn error_line_of_head(head: &[u8], whole: bool) -> Option<String> {
    let head = &head[..head.len().min(ERROR_HEAD_BYTES)];
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next()?;
    if first.starts_with(HELP_BANNER) {
        return Some("Unknown command (HAProxy answered with its command list)".to_string());
    }
    let only_line = lines.next().is_none() && whole;
    let unknown_command = first.starts_with("Unknown command");
    let known = ERROR_PREFIXES.iter().any(|p| first.starts_with(p));
    ((only_line && known) || unknown_command).then(|| first.to_string())
}

/// Whether an error line says the backend, server or proxy named does not exist
/// (`No such server.`, `No such backend.`, `No such proxy.`, `Can't find backend.`).
pub fn names_missing_object(line: &str) -> bool {
    line.starts_with("No such ") || line.starts_with("Can't find ")
}

/// The command line `set server <backend>/<server> state <state>\n`. Names that are
/// empty or contain whitespace, control characters, `;` (command separator), `/`
/// (backend/server separator), `\`, `"` or `'` (quoting and escaping in the CLI
/// tokenizer) are refused, so a name can never add words or commands.
pub fn set_server_state_command(
    backend: &str,
    server: &str,
    state: AdminState,
) -> Result<String, String> {
    check_name("backend", backend)?;
    check_name("server", server)?;
    Ok(format!("set server {backend}/{server} state {state}\n"))
}

/// Refuses a name that could change the meaning of a CLI command line.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("empty {what} name"));
    }
    let bad = name.chars().find(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, ';' | '/' | '\\' | '"' | '\'')
    });
    match bad {
        Some(c) => Err(format!(
            "{what} name {name:?} contains {c:?}, which is not allowed in a Runtime API command"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
