//! Support for the tests and benchmarks, written once: waiting for a condition
//! under an overall deadline (never a fixed sleep), and, for the unit tests, the
//! strategy of arbitrary JSON documents the parsers' property tests feed in.
//! Not part of the daemon; hidden from the documentation.

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// Calls `f` every `tick` until it gives a value; `None` once `limit` has passed.
pub async fn poll_until<T>(
    limit: Duration,
    tick: Duration,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(tick).await;
    }
}

/// An overall deadline for a condition polled in a hand-written loop.
pub struct Deadline {
    end: Instant,
    what: String,
}

impl Deadline {
    /// The step between two looks at the condition.
    pub const TICK: Duration = Duration::from_millis(40);

    /// A deadline `limit` from now for waiting for `what`.
    pub fn new(what: &str, limit: Duration) -> Deadline {
        Deadline {
            end: Instant::now() + limit,
            what: what.to_string(),
        }
    }

    /// Waits one step, or panics with `last` (what was seen) once the deadline passed.
    pub async fn tick(&self, last: &dyn Debug) {
        if Instant::now() > self.end {
            panic!("timed out waiting for {}; last seen: {last:#?}", self.what);
        }
        tokio::time::sleep(Self::TICK).await;
    }
}

/// Arbitrary JSON whose object keys are drawn from `keys` (the names a parser
/// looks for), so that generated documents reach deep into the parser.
#[cfg(test)]
pub fn json_with_keys(
    keys: &'static [&'static str],
) -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    let key = proptest::sample::select(keys).prop_map(str::to_string);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
