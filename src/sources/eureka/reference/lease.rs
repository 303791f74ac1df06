//! The lease and endpoint rules of the tree-based parser. The parts of a Eureka instance that tie it to the rest of the fleet: its endpoint
//! (`ipAddr:port`, as HAProxy would address it) and its lease (`leaseInfo`), read
//! from the JSON form the JSON and XML parsers share. Absent or zero fields stay
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
    Some(crate::sources::eureka::lease::join(ip, port))
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

/// `lastUpdatedTimestamp` on the registry's clock.
pub(crate) fn last_updated(inst: &Map<String, Value>) -> Option<Ts> {
    inst.get("lastUpdatedTimestamp")
        .and_then(unsigned)
        .filter(|n| *n > 0)
        .map(Ts)
}
