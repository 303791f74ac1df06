//! `show info`: the health of one HAProxy process (version, uptime, pid, threads,
//! connections and rates), read from its `Name: value` lines.

use serde::Serialize;

/// What `show info` tells about an HAProxy process.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InstanceInfo {
    pub version: String,
    pub release_date: String,
    pub uptime_s: u64,
    pub pid: u64,
    pub nbthread: u64,
    pub curr_conns: u64,
    pub max_conn: u64,
    pub conn_rate: u64,
    pub sess_rate: u64,
    pub idle_pct: u64,
    pub stopping: bool,
    pub run_queue: u64,
}

/// Why a `show info` answer could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("the answer has no {0} line")]
    Missing(&'static str),
    #[error("{field} is not a number: {value:?}")]
    NotANumber { field: &'static str, value: String },
}

/// Reads a `show info` answer.
pub fn parse(text: &str) -> Result<InstanceInfo, InfoError> {
    let get = |key: &'static str| -> Result<&str, InfoError> {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim())
            .ok_or(InfoError::Missing(key))
    };
    let num = |key: &'static str| -> Result<u64, InfoError> {
        let value = get(key)?;
        value.parse().map_err(|_| InfoError::NotANumber {
            field: key,
            value: value.to_string(),
        })
    };
    Ok(InstanceInfo {
        version: get("Version")?.to_string(),
        release_date: get("Release_date")?.to_string(),
        uptime_s: num("Uptime_sec")?,
        pid: num("Pid")?,
        nbthread: num("Nbthread")?,
        curr_conns: num("CurrConns")?,
        max_conn: num("Maxconn")?,
        conn_rate: num("ConnRate")?,
        sess_rate: num("SessRate")?,
        idle_pct: num("Idle_pct")?,
        stopping: num("Stopping")? != 0,
        run_queue: num("Run_queue")?,
    })
}

/// Whether `now` is another process than `before`: a new pid, or an uptime that
/// went backwards.
pub fn restarted(before: &InstanceInfo, now: &InstanceInfo) -> bool {
    before.pid != now.pid || now.uptime_s < before.uptime_s
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nRelease_date: 2026/10/17\n\
        Nbthread: 1\nNbproc: 1\nPid: 30158\nUptime: 0d 0h00m09s\nUptime_sec: 9\nMaxconn: 9987\n\
        CurrConns: 3\nConnRate: 2\nSessRate: 1\nRun_queue: 0\nIdle_pct: 100\nnode: vm\nStopping: 0\n\n";

    #[test]
    fn reads_show_info() {
        let info = parse(INFO).unwrap();
        assert_eq!(info.version, "2.6.12-1+deb12u4");
        assert_eq!(info.release_date, "2026/10/17");
        assert_eq!((info.pid, info.uptime_s, info.nbthread), (30158, 9, 1));
        assert_eq!((info.curr_conns, info.max_conn), (3, 9987));
        assert_eq!((info.conn_rate, info.sess_rate, info.idle_pct), (2, 1, 100));
        assert!(!info.stopping);
    }

    #[test]
    fn missing_and_bad_fields_are_named() {
        assert_eq!(
            parse("Version: x\n"),
            Err(InfoError::Missing("Release_date"))
        );
        let bad = INFO.replace("Pid: 30158", "Pid: many");
        assert!(matches!(
            parse(&bad),
            Err(InfoError::NotANumber { field: "Pid", .. })
        ));
    }

    #[test]
    fn a_new_pid_or_a_shorter_uptime_is_a_restart() {
        let a = parse(INFO).unwrap();
        let later = InstanceInfo {
            uptime_s: 20,
            ..a.clone()
        };
        assert!(!restarted(&a, &later));
        assert!(restarted(&later, &a));
        assert!(restarted(&a, &InstanceInfo { pid: 1, ..later }));
    }
}
