//! The JSON bodies of the admin calls, each read by one pure function from the bytes
//! received: the handlers call these, and so does the `admin_bodies` fuzz target
//! (docs/fuzzing.md). An `Err` is the message of the `400 bad_request` answer.
//! `reset-circuit`, `recover`, `validate` and the notifier test take no body.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::actors::transaction::ActionRequest;
use crate::alerts::Silence;
use crate::alerts::silences::from_request;
use crate::model::{AdminState, Ts};

/// The body of `servers/{server}/state`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerStateBody {
    /// `ready`, `drain` or `maint`.
    #[schema(pattern = "^(ready|drain|maint)$")]
    state: String,
}

/// The body of `polling`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollingBody {
    enabled: bool,
}

/// Parses a body that must be a JSON object (not an array or a scalar) of `shape`.
fn json_object<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, String> {
    let parsed = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v @ serde_json::Value::Object(_)) => {
            serde_json::from_value(v).map_err(|e| e.to_string())
        }
        Ok(_) => Err("expected a JSON object".into()),
        Err(e) => Err(e.to_string()),
    };
    parsed.map_err(|e| format!("body must be {shape}: {e}"))
}

/// `POST /api/admin/targets/{id}/servers/{server}/state`: the state asked for.
pub fn parse_server_state(body: &[u8]) -> Result<AdminState, String> {
    let parsed: ServerStateBody = json_object(body, r#"{"state": "ready|drain|maint"}"#)?;
    AdminState::parse(&parsed.state).ok_or_else(|| {
        format!(
            "unknown state {:?}: use ready, drain or maint",
            parsed.state
        )
    })
}

/// `POST /api/admin/targets/{id}/polling`: whether polling is to be enabled.
pub fn parse_polling(body: &[u8]) -> Result<bool, String> {
    let parsed: PollingBody = json_object(body, r#"{"enabled": true|false}"#)?;
    Ok(parsed.enabled)
}

/// Why a silence body was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SilenceError {
    /// Not JSON at all.
    Json(String),
    /// JSON, with every problem found in it.
    Problems(Vec<String>),
}

/// The body of `POST /api/admin/silences` (docs/api.md), for the OpenAPI
/// description: [`parse_silence`] reads it field by field to report every problem at
/// once. `ends_at` or `duration`, not both. A test keeps the two in step.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read by tests only; the handler uses `parse_silence`
pub struct SilenceRequest {
    /// Label → value or glob: `rule`, `severity` or a label of the alerts, e.g.
    /// `{"target": "haproxy/fdmz01/*"}`; at least one.
    matchers: std::collections::BTreeMap<String, String>,
    /// RFC 3339; now when absent (a future time makes a maintenance window).
    #[schema(example = "2026-01-31T22:00:00Z")]
    starts_at: Option<String>,
    /// RFC 3339.
    ends_at: Option<String>,
    /// From `starts_at`, e.g. `2h`.
    #[schema(example = "2h")]
    duration: Option<String>,
    #[schema(min_length = 1)]
    comment: String,
    #[schema(min_length = 1)]
    created_by: String,
}

/// `POST /api/admin/silences`: the silence, with the given id, created at `now`.
pub fn parse_silence(body: &[u8], id: String, now: Ts) -> Result<Silence, SilenceError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| SilenceError::Json(format!("invalid JSON body: {e}")))?;
    from_request(&value, id, now).map_err(SilenceError::Problems)
}

/// The body of `POST /api/admin/transactions`, as sent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionBody {
    /// Each a `target` and `server`, or an `address` (every server with it), and
    /// the `state` (`ready`, `drain`, `maint`).
    actions: Vec<ActionRequest>,
    /// How long each step may take to be verified, e.g. `5s` (1 ms to 5 min).
    #[schema(example = "5s")]
    verify_timeout: Option<String>,
    /// Answer the plan without applying it.
    #[serde(default)]
    dry_run: bool,
    comment: Option<String>,
}

const TRANSACTION_SHAPE: &str = r#"{"actions": [{"target", "server", "state"} | {"address", "state"}], "verify_timeout": "5s", "dry_run": false, "comment": "..."}"#;

/// The longest a transaction step may take to be verified.
const MAX_VERIFY: Duration = Duration::from_secs(300);

/// A transaction as asked for, before its actions are checked against the targets.
#[derive(Debug)]
pub struct TransactionRequest {
    pub actions: Vec<ActionRequest>,
    /// How long each step may take to be verified (5 s unless given).
    pub verify_timeout: Duration,
    pub dry_run: bool,
    pub comment: Option<String>,
}

/// `POST /api/admin/transactions`: the request, with its `verify_timeout` read.
pub fn parse_transaction(body: &[u8]) -> Result<TransactionRequest, String> {
    let body: TransactionBody = serde_json::from_slice(body)
        .map_err(|e| format!("body must be {TRANSACTION_SHAPE}: {e}"))?;
    Ok(TransactionRequest {
        verify_timeout: verify_timeout(body.verify_timeout.as_deref())?,
        actions: body.actions,
        dry_run: body.dry_run,
        comment: body.comment,
    })
}

fn verify_timeout(text: Option<&str>) -> Result<Duration, String> {
    let d = match text {
        None => return Ok(Duration::from_secs(5)),
        Some(t) => {
            humantime::parse_duration(t).map_err(|e| format!("verify_timeout {t:?}: {e}"))?
        }
    };
    if d.is_zero() || d > MAX_VERIFY {
        return Err("verify_timeout must be between 1ms and 5m".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bodies the integration tests send (the fuzz seeds) are accepted.
    #[test]
    fn the_bodies_of_the_tests_parse() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/admin");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name().into_string().unwrap();
            let body = std::fs::read(entry.path()).unwrap();
            let now = Ts(1_700_000_000_000);
            let ok = match name.split('_').next().unwrap() {
                "server" => parse_server_state(&body).is_ok(),
                "polling" => parse_polling(&body).is_ok(),
                "silence" => {
                    serde_json::from_slice::<SilenceRequest>(&body).unwrap();
                    parse_silence(&body, "s".into(), now).is_ok()
                }
                "transaction" => parse_transaction(&body).is_ok(),
                other => panic!("no parser for {other}"),
            };
            assert!(ok, "{name}");
            seen += 1;
        }
        assert!(seen >= 4);
    }

    /// The described silence body has exactly the fields the parser reads.
    #[test]
    fn the_silence_schema_lists_the_parsed_fields() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(SilenceRequest::schema()).unwrap();
        let mut described: Vec<_> = schema["properties"].as_object().unwrap().keys().collect();
        let mut parsed: Vec<_> = crate::alerts::silences::KEYS.to_vec();
        described.sort();
        parsed.sort();
        assert_eq!(described, parsed);
        assert_eq!(
            schema["required"],
            serde_json::json!(["matchers", "comment", "created_by"])
        );
    }

    #[test]
    fn server_state_bodies() {
        assert_eq!(
            parse_server_state(br#"{"state":"drain"}"#),
            Ok(AdminState::Drain)
        );
        assert_eq!(
            parse_server_state(br#"{"state":" MAINT "}"#),
            Ok(AdminState::Maint)
        );
        let bad = parse_server_state(br#"{"state":"down"}"#).unwrap_err();
        assert!(bad.contains("unknown state \"down\""), "{bad}");
        let array = parse_server_state(b"[]").unwrap_err();
        assert!(array.contains("expected a JSON object"), "{array}");
        let extra = parse_server_state(br#"{"state":"ready","x":1}"#).unwrap_err();
        assert!(extra.contains("unknown field"), "{extra}");
        assert!(parse_server_state(b"").is_err());
    }

    #[test]
    fn polling_bodies() {
        assert_eq!(parse_polling(br#"{"enabled":false}"#), Ok(false));
        assert!(parse_polling(br#"{"enabled":"yes"}"#).is_err());
        assert!(parse_polling(b"true").is_err());
    }

    #[test]
    fn silence_bodies() {
        let now = Ts(1_700_000_000_000);
        assert!(matches!(
            parse_silence(b"{", "s".into(), now),
            Err(SilenceError::Json(_))
        ));
        let Err(SilenceError::Problems(p)) = parse_silence(b"{}", "s".into(), now) else {
            panic!("an empty object is refused with its problems");
        };
        assert!(!p.is_empty());
    }

    #[test]
    fn transaction_bodies() {
        let body = br#"{"actions":[{"target":"haproxy/a/b","server":"s1","state":"drain"}],"verify_timeout":"2s","dry_run":true}"#;
        let t = parse_transaction(body).unwrap();
        assert_eq!(t.verify_timeout, Duration::from_secs(2));
        assert!(t.dry_run);
        assert_eq!(t.actions.len(), 1);
        let none = parse_transaction(br#"{"actions":[]}"#).unwrap();
        assert_eq!(none.verify_timeout, Duration::from_secs(5));
        for bad in [
            r#"{"actions":[],"verify_timeout":"0s"}"#,
            r#"{"actions":[],"verify_timeout":"6m"}"#,
        ] {
            let e = parse_transaction(bad.as_bytes()).unwrap_err();
            assert!(e.contains("between 1ms and 5m"), "{e}");
        }
        assert!(parse_transaction(br#"{"actions":[],"verify_timeout":"soon"}"#).is_err());
        assert!(parse_transaction(br#"{"actions":[{"state":"x","y":1}]}"#).is_err());
    }
}
