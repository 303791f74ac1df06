//! Silences and maintenance windows: checking a request body (every problem at
//! once) and finding the silences in force on an alert. Pure code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::model::{Alert, Labels, Silence, SilenceState};
use crate::model::Ts;

pub(crate) const KEYS: [&str; 6] = [
    "matchers",
    "starts_at",
    "ends_at",
    "duration",
    "comment",
    "created_by",
];

/// Checks a `POST /api/admin/silences` body and builds the silence `id`, created
/// at `now`. Returns every problem found.
pub fn from_request(body: &Value, id: String, now: Ts) -> Result<Silence, Vec<String>> {
    let mut problems = Vec::new();
    let Some(obj) = body.as_object() else {
        return Err(vec!["the body must be a JSON object".into()]);
    };
    for key in obj.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        problems.push(format!("unknown field `{key}`; known: {}", KEYS.join(", ")));
    }
    let matchers = matchers(obj.get("matchers"), &mut problems);
    let starts_at = match obj.get("starts_at") {
        None | Some(Value::Null) => Some(now),
        Some(v) => time(v, "starts_at", &mut problems),
    };
    let ends_at = ends_at(obj, starts_at, &mut problems);
    let comment = text(obj.get("comment"), "comment", &mut problems);
    let created_by = text(obj.get("created_by"), "created_by", &mut problems);
    if let (Some(end), true) = (ends_at, problems.is_empty()) {
        if Some(end) <= starts_at {
            problems.push("`ends_at` must be after `starts_at`".into());
        } else if end <= now {
            problems.push("`ends_at` is in the past; the silence would never apply".into());
        }
    }
    match (matchers, starts_at, ends_at, comment, created_by) {
        (Some(matchers), Some(starts_at), Some(ends_at), Some(comment), Some(created_by))
            if problems.is_empty() =>
        {
            Ok(Silence {
                id,
                matchers,
                starts_at,
                ends_at,
                comment,
                created_by,
                created_at: now,
            })
        }
        _ => Err(problems),
    }
}

fn matchers(v: Option<&Value>, problems: &mut Vec<String>) -> Option<BTreeMap<String, String>> {
    let Some(obj) = v.and_then(Value::as_object) else {
        problems.push(
            "`matchers` is required: an object of label → value or glob, e.g. \
             {\"target\": \"haproxy/fdmz01/*\"}"
                .into(),
        );
        return None;
    };
    if obj.is_empty() {
        problems.push("`matchers` is empty; a silence must match something".into());
    }
    let mut out = BTreeMap::new();
    for (name, value) in obj {
        let known = Labels::NAMES.contains(&name.as_str()) || name == "rule" || name == "severity";
        if !known {
            problems.push(format!(
                "matcher `{name}` is not a label; use rule, severity, {}",
                Labels::NAMES.join(", ")
            ));
        }
        match value.as_str() {
            Some(s) if !s.is_empty() => {
                out.insert(name.clone(), s.to_string());
            }
            _ => problems.push(format!("matcher `{name}` must be a non-empty string")),
        }
    }
    Some(out)
}

fn ends_at(
    obj: &serde_json::Map<String, Value>,
    starts_at: Option<Ts>,
    problems: &mut Vec<String>,
) -> Option<Ts> {
    match (obj.get("ends_at"), obj.get("duration")) {
        (Some(_), Some(_)) => {
            problems.push("give `ends_at` or `duration`, not both".into());
            None
        }
        (None, None) => {
            problems.push("`ends_at` or `duration` (e.g. \"2h\") is required".into());
            None
        }
        (Some(v), None) => time(v, "ends_at", problems),
        (None, Some(v)) => duration(v, problems).and_then(|d| Some(starts_at?.plus(d))),
    }
}

fn time(v: &Value, key: &str, problems: &mut Vec<String>) -> Option<Ts> {
    let parsed = v
        .as_str()
        .and_then(|s| humantime::parse_rfc3339_weak(s).ok());
    let ms = parsed.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    match ms {
        Some(d) => Some(Ts(d.as_millis() as u64)),
        None => {
            problems.push(format!(
                "`{key}` must be an RFC 3339 time such as \"2026-01-31T22:00:00Z\", got {v}"
            ));
            None
        }
    }
}

fn duration(v: &Value, problems: &mut Vec<String>) -> Option<Duration> {
    match v.as_str().map(humantime::parse_duration) {
        Some(Ok(d)) if !d.is_zero() => Some(d),
        _ => {
            problems.push(format!(
                "`duration` must be a positive duration such as \"2h\" or \"30m\", got {v}"
            ));
            None
        }
    }
}

fn text(v: Option<&Value>, key: &str, problems: &mut Vec<String>) -> Option<String> {
    match v.and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => Some(s.to_string()),
        _ => {
            problems.push(format!("`{key}` is required: a non-empty string"));
            None
        }
    }
}

/// The ids of the silences in force on `alert` at `now`.
pub fn silenced_by(alert: &Alert, silences: &[Silence], now: Ts) -> Vec<String> {
    silences
        .iter()
        .filter(|s| s.state(now) == SilenceState::Active && s.matches(alert))
        .map(|s| s.id.clone())
        .collect()
}

/// Whether a silence is still listed at `now`: pending, active, or ended less
/// than `keep` ago.
pub fn listed(s: &Silence, now: Ts, keep: Duration) -> bool {
    now.since(s.ends_at) < keep.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_good_body_makes_a_silence() {
        let body = json!({"matchers": {"target": "haproxy/fdmz01/*", "server": "app2"},
                          "duration": "2h", "comment": "deploy", "created_by": "ops"});
        let s = from_request(&body, "s1".into(), Ts(1000)).unwrap();
        assert_eq!(s.starts_at, Ts(1000));
        assert_eq!(s.ends_at, Ts(1000 + 7_200_000));
        assert_eq!(s.matchers.len(), 2);
    }

    #[test]
    fn every_problem_is_listed() {
        let body = json!({"matchers": {"colour": 3}, "ends_at": "yesterday",
                          "duration": "x", "extra": 1});
        let problems = from_request(&body, "s".into(), Ts(0)).unwrap_err();
        let all = problems.join("\n");
        for needle in [
            "unknown field `extra`",
            "`colour` is not a label",
            "non-empty string",
            "not both",
            "`comment` is required",
            "`created_by` is required",
        ] {
            assert!(all.contains(needle), "{needle} missing in {all}");
        }
    }

    #[test]
    fn a_window_in_the_past_is_refused() {
        let body = json!({"matchers": {"rule": "server_down"}, "starts_at": "2020-01-01T00:00:00Z",
                          "ends_at": "2020-01-01T01:00:00Z", "comment": "c", "created_by": "me"});
        let problems = from_request(&body, "s".into(), Ts(1_700_000_000_000)).unwrap_err();
        assert!(problems[0].contains("in the past"), "{problems:?}");
    }
}
