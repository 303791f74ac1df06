//! The parts of a Eureka instance that tie it to the rest of the fleet: its endpoint
//! (`ipAddr:port`, as HAProxy would address it) and its lease (`leaseInfo`), read
//! from an instance already read as a JSON object (FAgent's). Absent or zero fields stay
//! absent.

use serde_json::{Map, Value};

use crate::model::{Lease, Ts};
use crate::sources::fagent::unsigned;

/// `ipAddr:port`, or `ipAddr:securePort` when the port is disabled and the secure
/// port enabled. An IPv6 address is written in brackets, as HAProxy writes it.
pub(crate) fn endpoint(ip: Option<&str>, inst: &Map<String, Value>) -> Option<String> {
    let ip = ip?;
    let plain = inst.get("port");
    let secure = inst.get("securePort");
    let port = match (enabled(plain), enabled(secure)) {
        (Some(false), Some(true)) => secure.and_then(super::json::port)?,
        _ => plain.and_then(super::json::port)?,
    };
    Some(join(ip, port))
}

/// `ip:port`, with brackets around an IPv6 address.
pub fn join(ip: &str, port: u16) -> String {
    if ip.contains(':') && !ip.starts_with('[') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The `@enabled` attribute of a port (`"true"`/`"false"`, or a JSON boolean).
fn enabled(port: Option<&Value>) -> Option<bool> {
    match port?.as_object()?.get("@enabled")? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            t if t.eq_ignore_ascii_case("true") => Some(true),
            t if t.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The instance's `leaseInfo` (or FAgent's `lease_info`), `None` when it has none
/// of the fields watchpost reads.
pub(crate) fn lease(inst: &Map<String, Value>) -> Option<Lease> {
    let info = inst
        .get("leaseInfo")
        .or_else(|| inst.get("lease_info"))?
        .as_object()?;
    let num = |key: &str| info.get(key).and_then(unsigned).filter(|n| *n > 0);
    let lease = Lease {
        // Older codecs (Steeltoe) write `renewalTimestamp`.
        last_renewal_at: num("lastRenewalTimestamp")
            .or_else(|| num("renewalTimestamp"))
            .map(Ts),
        duration_s: num("durationInSecs"),
        renewal_interval_s: num("renewalIntervalInSecs"),
        age_s: None,
    };
    (lease != Lease::default()).then_some(lease)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn endpoint_takes_the_port_unless_only_the_secure_one_is_enabled() {
        let cases = [
            (
                json!({"port": {"$": 8080, "@enabled": "true"}, "securePort": {"$": 443, "@enabled": "false"}}),
                Some("10.0.0.1:8080"),
            ),
            (
                json!({"port": {"$": "8080", "@enabled": "false"}, "securePort": {"$": "8443", "@enabled": "true"}}),
                Some("10.0.0.1:8443"),
            ),
            (
                json!({"port": {"$": 8080, "@enabled": "true"}, "securePort": {"$": 8443, "@enabled": "true"}}),
                Some("10.0.0.1:8080"),
            ),
            (json!({"port": 9000}), Some("10.0.0.1:9000")),
            (
                json!({"port": {"$": 8080, "@enabled": "false"}}),
                Some("10.0.0.1:8080"),
            ),
            (json!({}), None),
        ];
        for (inst, want) in cases {
            assert_eq!(
                endpoint(Some("10.0.0.1"), &obj(inst.clone())).as_deref(),
                want,
                "{inst}"
            );
        }
        assert_eq!(endpoint(None, &obj(json!({"port": 80}))), None);
        assert_eq!(
            endpoint(Some("::1"), &obj(json!({"port": 80}))).as_deref(),
            Some("[::1]:80")
        );
    }

    #[test]
    fn lease_fields_that_are_absent_or_zero_stay_absent() {
        let full = obj(
            json!({"leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": "90",
            "lastRenewalTimestamp": 1_700_000_000_000u64, "evictionTimestamp": 0}}),
        );
        let l = lease(&full).unwrap();
        assert_eq!(l.last_renewal_at, Some(Ts(1_700_000_000_000)));
        assert_eq!(
            (l.duration_s, l.renewal_interval_s, l.age_s),
            (Some(90), Some(30), None)
        );
        let partial = obj(json!({"leaseInfo": {"durationInSecs": 90, "lastRenewalTimestamp": 0}}));
        let l = lease(&partial).unwrap();
        assert_eq!(
            (l.last_renewal_at, l.duration_s, l.renewal_interval_s),
            (None, Some(90), None)
        );
        assert_eq!(serde_json::to_value(&l).unwrap(), json!({"duration_s": 90}));
        assert_eq!(lease(&obj(json!({"leaseInfo": {}}))), None);
        assert_eq!(lease(&obj(json!({"leaseInfo": "x"}))), None);
        assert_eq!(lease(&obj(json!({}))), None);
    }
}
