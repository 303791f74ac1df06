//! Parser for the Runtime API's `show servers state [<backend>]` answer (format
//! version 1), and the reconstruction of the status text `show stat` would show.
//! Bytes in, rows or an error text out; no I/O.

use crate::model::{ServerSample, intern};

/// The columns of format version 1, used when the answer has no header line.
const V1_COLUMNS: &str = "be_id be_name srv_id srv_name srv_addr srv_op_state \
     srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status \
     srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id \
     srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr \
     srv_agent_addr srv_agent_port";

/// `srv_admin_state` bits.
pub mod admin {
    /// Forced maintenance (`set server .. state maint`, `disable server`).
    pub const FMAINT: u16 = 0x01;
    /// Maintenance inherited from a tracked server.
    pub const IMAINT: u16 = 0x02;
    /// Maintenance from the configuration (`disabled`).
    pub const CMAINT: u16 = 0x04;
    /// Forced drain (`set server .. state drain`, or the agent said `drain`).
    pub const FDRAIN: u16 = 0x08;
    /// Drain inherited from a tracked server.
    pub const IDRAIN: u16 = 0x10;
    /// Maintenance because DNS resolution failed.
    pub const RMAINT: u16 = 0x20;
}

/// `srv_check_state` / `srv_agent_state` bits.
pub mod check {
    /// A check is running right now.
    pub const IN_PROGRESS: u8 = 0x01;
    /// The check is configured.
    pub const CONFIGURED: u8 = 0x02;
    /// The check is enabled.
    pub const ENABLED: u8 = 0x04;
    /// The check is paused (e.g. while the server is in maintenance).
    pub const PAUSED: u8 = 0x08;
}

/// One server line of `show servers state`. `-` cells are `None` (or 0 for bitmasks).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ServerStateRow {
    pub be_id: Option<u32>,
    pub be_name: String,
    pub srv_id: Option<u32>,
    pub srv_name: String,
    pub srv_addr: Option<String>,
    /// 0 stopped, 1 starting (slowstart), 2 running, 3 stopping (NOLB).
    pub op_state: u8,
    /// Bitmask, see [`admin`].
    pub admin_state: u16,
    pub uweight: Option<u32>,
    pub iweight: Option<u32>,
    pub time_since_last_change: Option<u64>,
    /// The numeric `srv_check_status`.
    pub check_status_code: Option<u8>,
    /// `srv_check_status` as the text code `show stat` uses (`L7OK`, `L4CON`, ...).
    pub check_status: Option<&'static str>,
    /// 0 unknown, 1 neutral, 2 failed, 3 passed, 4 conditionally passed.
    pub check_result: Option<u8>,
    pub check_health: Option<u32>,
    /// Bitmask, see [`check`].
    pub check_state: u8,
    /// Bitmask, see [`check`].
    pub agent_state: u8,
    pub srv_port: Option<u16>,
}

/// The text code of a numeric check status (HAProxy's `enum healthcheck_status`).
/// The internal values 2 (start) and 14 (L5-7 data marker) have none.
pub fn check_status_text(code: u8) -> Option<&'static str> {
    const CODES: [&str; 21] = [
        "UNK", "INI", "", "CHECKED", "HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK",
        "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT",
        "PROCOK",
    ];
    CODES
        .get(usize::from(code))
        .copied()
        .filter(|text| !text.is_empty())
}

/// Parses a `show servers state` answer: the version line `1`, the `# be_id be_name ...`
/// header, then one line per server. Columns are found by header name. A one-line
/// answer such as `Can't find backend.` is returned as the error. Lines without a
/// backend name, a server name and a numeric `srv_op_state` are skipped.
pub fn parse(body: &[u8]) -> Result<Vec<ServerStateRow>, String> {
    let text = String::from_utf8_lossy(body);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .ok_or_else(|| "empty answer to `show servers state`".to_string())?;
    let is_version = first.parse::<u32>().is_ok();
    if !is_version && !first.starts_with("# be_id") {
        return Err(first.chars().take(200).collect());
    }
    let mut columns: Vec<&str> = V1_COLUMNS.split_whitespace().collect();
    let mut rows = Vec::new();
    let rest = (!is_version).then_some(first).into_iter().chain(lines);
    for line in rest {
        if let Some(names) = line.strip_prefix('#') {
            columns = names.split_whitespace().collect();
        } else if let Some(row) = parse_row(&columns, line) {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// One server line, read through the column names.
fn parse_row(columns: &[&str], line: &str) -> Option<ServerStateRow> {
    let cells: Vec<&str> = line.split_whitespace().collect();
    let cell = |name: &str| -> Option<&str> {
        let at = columns.iter().position(|c| *c == name)?;
        cells.get(at).copied().filter(|c| *c != "-")
    };
    let num = |name: &str| cell(name).and_then(|c| c.parse::<u64>().ok());
    let small = |name: &str| num(name).and_then(|n| u8::try_from(n).ok());
    let check_status_code = small("srv_check_status");
    Some(ServerStateRow {
        be_id: num("be_id").and_then(|n| u32::try_from(n).ok()),
        be_name: cell("be_name")?.to_string(),
        srv_id: num("srv_id").and_then(|n| u32::try_from(n).ok()),
        srv_name: cell("srv_name")?.to_string(),
        srv_addr: cell("srv_addr").map(str::to_string),
        op_state: small("srv_op_state")?,
        admin_state: num("srv_admin_state")
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(0),
        uweight: num("srv_uweight").and_then(|n| u32::try_from(n).ok()),
        iweight: num("srv_iweight").and_then(|n| u32::try_from(n).ok()),
        time_since_last_change: num("srv_time_since_last_change"),
        check_status_code,
        check_status: check_status_code.and_then(check_status_text),
        check_result: small("srv_check_result"),
        check_health: num("srv_check_health").and_then(|n| u32::try_from(n).ok()),
        check_state: small("srv_check_state").unwrap_or(0),
        agent_state: small("srv_agent_state").unwrap_or(0),
        srv_port: num("srv_port").and_then(|n| u16::try_from(n).ok()),
    })
}

/// The status `show stat` would show for this server, as closely as the data allows.
///
/// Follows HAProxy's own order: resolution maintenance, then maintenance, then the
/// operational state refined by drain and the check and agent states. What the data
/// cannot give:
/// - the tracked server of `MAINT (via <backend>/<server>)`: inherited maintenance is
///   written `MAINT`;
/// - rise and fall, so the transitional `UP 1/3`, `DOWN 2/3`, `NOLB 1/2`, `DRAIN 1/2`
///   forms are written `UP`, `DOWN`, `NOLB`, `DRAIN`;
/// - the agent's health: a stopped server whose agent is enabled is `DOWN (agent)`
///   when the agent is the only check or the health check has some health left,
///   otherwise `DOWN`;
/// - whether a server tracks another one: a running server without a check of its
///   own is `no check`, where HAProxy writes `UP` if the tracked server has checks.
///
/// `op_state` 1 (starting, i.e. in slowstart) is running for HAProxy and shows `UP`.
pub fn status_text(row: &ServerStateRow) -> String {
    let adm = row.admin_state;
    if adm & admin::RMAINT != 0 {
        return "MAINT (resolution)".to_string();
    }
    if adm & (admin::FMAINT | admin::IMAINT | admin::CMAINT) != 0 {
        return "MAINT".to_string();
    }
    let text = match row.op_state {
        1 | 2 => running_text(row),
        3 => "NOLB",
        0 => stopped_text(row),
        _ => "UNKNOWN",
    };
    text.to_string()
}

/// A running or starting server: drain, then no check, else up.
fn running_text(row: &ServerStateRow) -> &'static str {
    if row.admin_state & (admin::FDRAIN | admin::IDRAIN) != 0 {
        if enabled(row.agent_state) {
            "DRAIN (agent)"
        } else {
            "DRAIN"
        }
    } else if enabled(row.check_state) {
        "UP"
    } else {
        "no check"
    }
}

/// A stopped server: down by its agent, or down.
fn stopped_text(row: &ServerStateRow) -> &'static str {
    let check_has_health = row.check_health.is_some_and(|h| h > 0);
    if enabled(row.agent_state) && (!enabled(row.check_state) || check_has_health) {
        "DOWN (agent)"
    } else {
        "DOWN"
    }
}

fn enabled(state: u8) -> bool {
    state & check::ENABLED != 0
}

/// The check status as `show stat` writes it: only while the check is enabled and not
/// paused, with a `* ` prefix while a check is running.
fn shown_check_status(row: &ServerStateRow) -> Option<String> {
    if row.check_state & (check::ENABLED | check::PAUSED) != check::ENABLED {
        return None;
    }
    let text = row.check_status?;
    Some(if row.check_state & check::IN_PROGRESS != 0 {
        format!("* {text}")
    } else {
        text.to_string()
    })
}

/// `addr:port` as `show stat` writes it, IPv6 in brackets.
fn shown_addr(row: &ServerStateRow) -> Option<String> {
    let addr = row.srv_addr.as_deref()?;
    Some(match row.srv_port {
        Some(port) if addr.contains(':') => format!("[{addr}]:{port}"),
        Some(port) => format!("{addr}:{port}"),
        None => addr.to_string(),
    })
}

/// The servers of `backend` (exact name) as samples: [`status_text`] for the status,
/// the user weight for the weight.
pub fn to_samples(rows: &[ServerStateRow], backend: &str) -> Vec<ServerSample> {
    rows.iter()
        .filter(|row| row.be_name == backend)
        .map(|row| ServerSample {
            name: row.srv_name.clone(),
            status: intern(&status_text(row)),
            weight: row.uweight,
            check_status: shown_check_status(row).map(|s| intern(&s)),
            last_change_s: row.time_since_last_change,
            addr: shown_addr(row),
        })
        .collect()
}

#[cfg(test)]
#[path = "servers_state_tests.rs"]
mod tests;
