//! HAProxy's event ring as followed with `show events <ring> -w`: which lines say
//! that a server changed state, and the timestamp that orders them. Pure text
//! handling; the line only tells which backend to read now, never the new state.

/// A server state line of the ring: `Server be_app/s1 is DOWN, reason: ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLine<'a> {
    /// The line's timestamp (`format timed` or `iso`), when it has one.
    pub stamp: Option<&'a str>,
    pub backend: &'a str,
    pub server: &'a str,
}

/// What a server state message says after `Server <b>/<s> `.
const STATE_WORDS: [&str; 6] = [
    "is UP",
    "is DOWN",
    "is going DOWN",
    "is now in maintenance",
    "was DOWN and now enters maintenance",
    "is leaving forced maintenance",
];

/// Other words HAProxy uses for admin and state changes of a server.
const STATE_FRAGMENTS: [&str; 4] = [
    "for maintenance",
    "leaving maintenance",
    "is now UP",
    "is now DOWN",
];

/// Reads one ring line; `None` for every line that is not a server state change.
pub fn server_line(line: &str) -> Option<ServerLine<'_>> {
    let (stamp, message) = split_header(line.trim_end());
    let rest = message.strip_prefix("Server ")?;
    let (name, tail) = rest.split_once(' ')?;
    let (backend, server) = name.split_once('/')?;
    if backend.is_empty() || server.is_empty() {
        return None;
    }
    let is_state = STATE_WORDS.iter().any(|w| tail.starts_with(w))
        || STATE_FRAGMENTS.iter().any(|w| tail.contains(w));
    is_state.then_some(ServerLine {
        stamp,
        backend,
        server,
    })
}

/// Splits `<pri>2026-12-03T12:53:05.067248+00:00 message` (and the forms without
/// the priority or the timestamp) into the timestamp and the message.
fn split_header(line: &str) -> (Option<&str>, &str) {
    let line = match line.strip_prefix('<').and_then(|l| l.split_once('>')) {
        Some((pri, rest)) if pri.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => line,
    };
    match line.split_once(' ') {
        Some((first, rest)) if looks_like_timestamp(first) => (Some(first), rest),
        _ => (None, line),
    }
}

/// `2026-12-03T12:53:05.067248+00:00`: digits, a date and a time.
fn looks_like_timestamp(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 19 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T'
}

/// Whether a line stamped `stamp` comes after the last one handled (`seen`).
/// Lines replayed from the ring on a new connection are the ones at or before it.
/// Lines without a timestamp are always new.
pub fn is_new(stamp: Option<&str>, seen: Option<&str>) -> bool {
    match (stamp, seen) {
        (Some(s), Some(last)) => s > last,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_state_lines_name_the_backend_and_server() {
        let down = "<1>2026-12-03T12:53:05.067248+00:00 Server be_app/app1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 0 active and 0 backup servers left.";
        assert_eq!(
            server_line(down),
            Some(ServerLine {
                stamp: Some("2026-12-03T12:53:05.067248+00:00"),
                backend: "be_app",
                server: "app1"
            })
        );
        let cases = [
            "Server be_app/app1 is UP, reason: Layer7 check passed, code: 200",
            "Server b/s is going DOWN for maintenance. 1 active and 0 backup servers left.",
            "Server b/s is now in maintenance",
            "Server b/s is leaving forced maintenance",
            "2026-12-03T12:53:05.067248+00:00 Server b/s was DOWN and now enters maintenance.",
            "<5>Server b/s is UP/READY (leaving forced drain).",
        ];
        for line in cases {
            assert!(server_line(line).is_some(), "{line}");
        }
    }

    #[test]
    fn other_lines_are_ignored() {
        for line in [
            "<0>2026-12-03T12:53:05.067262+00:00 backend be_app has no server available!",
            "Proxy be_app started.",
            "Server nobackendslash is DOWN",
            "Server /s is DOWN",
            "",
            "Server b/s changed its IP from 1.2.3.4 to 1.2.3.5",
        ] {
            assert_eq!(server_line(line), None, "{line}");
        }
    }

    #[test]
    fn replayed_lines_are_at_or_before_the_last_seen() {
        let a = "2026-12-03T12:53:05.067248+00:00";
        let b = "2026-12-03T12:53:05.067262+00:00";
        assert!(is_new(Some(b), Some(a)));
        assert!(!is_new(Some(a), Some(a)));
        assert!(!is_new(Some(a), Some(b)));
        assert!(is_new(None, Some(a)));
        assert!(is_new(Some(a), None));
    }
}
