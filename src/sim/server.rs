//! One simulated HAProxy server: its status, the check result that goes with it, and
//! the CSV-like row FAgent reports for it (every value a string).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::SimServer;

/// A server's live state.
#[derive(Clone, Debug)]
pub(crate) struct ServerState {
    pub(crate) name: String,
    pub(crate) status: String,
    check_status: String,
    check_duration: String,
    weight: u32,
    addr: String,
    /// Last change of the operational state (`UP`, `DOWN`, `MAINT`, ...).
    changed: Instant,
    /// Time spent down before the current state began.
    down_before: Duration,
}

/// A server as FAgent's `.../servers` answer lists it.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerRow {
    name: String,
    status: String,
    weight: String,
    check_status: String,
    check_duration: String,
    last_chg: String,
    downtime: String,
    addr: String,
    cookie: String,
}

impl ServerState {
    pub(crate) fn new(sim: SimServer) -> ServerState {
        ServerState {
            check_duration: duration_for(&sim.check_status).to_string(),
            name: sim.name,
            status: sim.status,
            check_status: sim.check_status,
            weight: sim.weight,
            addr: sim.addr,
            changed: Instant::now(),
            down_before: Duration::ZERO,
        }
    }

    /// Sets the status and a check result that HAProxy would show with it. The
    /// last-change clock restarts only when the operational state changes, so
    /// `DOWN` → `DOWN 1/3` keeps counting, as HAProxy does.
    pub(crate) fn set_status(&mut self, status: &str) {
        if status == self.status {
            return;
        }
        if base(status) != base(&self.status) {
            let now = Instant::now();
            if is_down(&self.status) {
                self.down_before += now.saturating_duration_since(self.changed);
            }
            self.changed = now;
        }
        if let Some(check) = check_for(status) {
            self.check_duration = duration_for(check).to_string();
            self.check_status = check.to_string();
        }
        self.status = status.to_string();
    }

    /// The configured part of the state.
    pub(crate) fn sim(&self) -> SimServer {
        SimServer {
            name: self.name.clone(),
            status: self.status.clone(),
            check_status: self.check_status.clone(),
            weight: self.weight,
            addr: self.addr.clone(),
        }
    }

    /// The row FAgent would report now.
    pub(crate) fn row(&self) -> ServerRow {
        let since = Instant::now().saturating_duration_since(self.changed);
        let downtime = match is_down(&self.status) {
            true => self.down_before + since,
            false => self.down_before,
        };
        ServerRow {
            name: self.name.clone(),
            status: self.status.clone(),
            weight: self.weight.to_string(),
            check_status: self.check_status.clone(),
            check_duration: self.check_duration.clone(),
            last_chg: since.as_secs().to_string(),
            downtime: downtime.as_secs().to_string(),
            addr: self.addr.clone(),
            cookie: String::new(),
        }
    }
}

/// The operational state: the first word of the status (`UP 1/3` → `UP`).
fn base(status: &str) -> &str {
    status.split_whitespace().next().unwrap_or("")
}

/// HAProxy counts downtime while a server is down or in maintenance.
fn is_down(status: &str) -> bool {
    matches!(base(status), "DOWN" | "MAINT")
}

/// The check result HAProxy shows with a status, `None` to keep the current one.
/// While going down (`UP 2/3`) checks fail; while coming up (`DOWN 1/3`) they pass;
/// a server in maintenance or without checks shows none.
fn check_for(status: &str) -> Option<&'static str> {
    let moving = status.contains('/');
    let check = match base(status) {
        _ if status.ends_with("(agent)") => "L7OK",
        "UP" if moving => "L4CON",
        "UP" | "DRAIN" => "L7OK",
        "DOWN" if moving => "L7OK",
        "DOWN" => "L4CON",
        "NOLB" => "L7OKC",
        "MAINT" | "no" => "",
        _ => return None,
    };
    Some(check)
}

/// A plausible `check_duration` (ms) for a check result, as in the HAProxy captures.
fn duration_for(check_status: &str) -> &'static str {
    match check_status {
        "" => "",
        "L7OK" | "L7OKC" | "L7STS" => "1",
        "L7TOUT" | "L4TOUT" => "1000",
        _ => "0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: &str) -> ServerState {
        let mut s = ServerState::new(SimServer::up("app1", "10.0.0.1:8080"));
        s.set_status(status);
        s
    }

    #[test]
    fn check_status_follows_the_status() {
        let cases = [
            ("UP", "L7OK", "1"),
            ("UP 2/3", "L4CON", "0"),
            ("DOWN", "L4CON", "0"),
            ("DOWN 1/3", "L7OK", "1"),
            ("DRAIN", "L7OK", "1"),
            ("MAINT", "", ""),
            ("MAINT (via be_app/app1)", "", ""),
            ("NOLB", "L7OKC", "1"),
            ("no check", "", ""),
        ];
        for (status, check, duration) in cases {
            let row = server(status).row();
            assert_eq!(
                (row.check_status.as_str(), row.check_duration.as_str()),
                (check, duration),
                "{status}"
            );
            assert_eq!(row.status, status);
        }
    }

    #[test]
    fn row_values_are_strings_like_the_csv() {
        let row = serde_json::to_value(server("DOWN").row()).unwrap();
        let obj = row.as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        for key in [
            "name",
            "status",
            "weight",
            "check_status",
            "check_duration",
            "last_chg",
            "downtime",
            "addr",
            "cookie",
        ] {
            assert!(keys.contains(&key), "{key}");
        }
        assert_eq!(obj.len(), 9);
        assert!(obj.values().all(|v| v.is_string()));
        assert_eq!(row["last_chg"], "0");
        assert_eq!(row["weight"], "1");
    }

    #[test]
    fn unknown_status_keeps_the_check() {
        let s = server("WEIRD");
        assert_eq!(s.row().check_status, "L7OK");
    }
}
