//! HAProxy's event ring as followed with `show events <ring> -w`: which lines say
//! that a server changed state or that the process is stopping (a reload: the
//! subscription must leave the old process so that it can exit), and the timestamp
//! that orders them. Pure text handling; a server line only tells which backend to
//! read now, never the new state.

/// A server state line of the ring: `Server be_app/s1 is DOWN, reason: ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLine<'a> {
    /// The line's timestamp (`format timed` or `iso`), when it has one.
    pub stamp: Option<&'a str>,
    pub backend: &'a str,
    pub server: &'a str,
}

/// A ring line that matters to the subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RingLine<'a> {
    Server(ServerLine<'a>),
    /// `Proxy be stopped (...)` or `Stopping proxy be in 0 ms.`: the process is
    /// stopping (soft stop after a reload).
    Stopping {
        stamp: Option<&'a str>,
    },
}

/// Reads one ring line; `None` for lines that are neither a server state change
/// nor a sign that the process stops.
pub fn read(line: &str) -> Option<RingLine<'_>> {
    if let Some(s) = server_line(line) {
        return Some(RingLine::Server(s));
    }
    let (stamp, message) = split_header(line.trim_end());
    let stopping = (message.starts_with("Proxy ") && message.contains(" stopped ("))
        || ["Stopping proxy ", "Stopping frontend ", "Stopping backend "]
            .iter()
            .any(|p| message.starts_with(p));
    stopping.then_some(RingLine::Stopping { stamp })
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
    fn a_stopping_process_is_recognised() {
        let line = "<4>2026-12-03T13:10:08.444484+00:00 Proxy be_app stopped (cumulated conns: FE: 0, BE: 0).";
        assert_eq!(
            read(line),
            Some(RingLine::Stopping {
                stamp: Some("2026-12-03T13:10:08.444484+00:00")
            })
        );
        assert!(matches!(
            read("Stopping proxy be_app in 0 ms."),
            Some(RingLine::Stopping { .. })
        ));
        assert!(matches!(
            read("Server b/s is UP"),
            Some(RingLine::Server(_))
        ));
        assert_eq!(read("Proxy be_app started."), None);
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
