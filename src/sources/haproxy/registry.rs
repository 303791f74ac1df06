//! The shared readers of HAProxy instances: every poller (and every reload) that names
//! the same instance the same way gets the same [`StatsSource`], so one fetch of the
//! instance serves all its backends. The fleet owns the registry.

use std::sync::{Arc, Mutex, Weak};

use super::stats::{StatsSource, Transport};

/// A reader and how it reaches its instance.
type Entry = (Transport, Weak<StatsSource>);

/// Readers by transport, held weakly: a reader lives as long as a poller uses it.
#[derive(Clone, Debug, Default)]
pub struct StatsRegistry {
    readers: Arc<Mutex<Vec<Entry>>>,
}

impl StatsRegistry {
    /// The shared reader for `transport`, created when no poller holds one.
    pub fn shared(&self, transport: Transport) -> Arc<StatsSource> {
        let mut all = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|(_, w)| w.strong_count() > 0);
        let found = all
            .iter()
            .find(|(t, _)| *t == transport)
            .and_then(|(_, w)| w.upgrade());
        if let Some(source) = found {
            return source;
        }
        let source = Arc::new(StatsSource::new(transport.clone()));
        all.push((transport, Arc::downgrade(&source)));
        source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::haproxy::socket::{RuntimeAddr, RuntimeApi};

    fn t(path: &str) -> Transport {
        Transport::Runtime(RuntimeApi::new("lb", RuntimeAddr::parse(path)))
    }

    #[test]
    fn the_same_instance_shares_one_reader_within_a_registry_only() {
        let registry = StatsRegistry::default();
        let a = registry.shared(t("/run/a.sock"));
        let b = registry.clone().shared(t("/run/a.sock"));
        let c = registry.shared(t("/run/c.sock"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let other = StatsRegistry::default().shared(t("/run/a.sock"));
        assert!(!Arc::ptr_eq(&a, &other));
    }

    #[test]
    fn a_reader_no_poller_holds_is_dropped() {
        let registry = StatsRegistry::default();
        let weak = Arc::downgrade(&registry.shared(t("/run/a.sock")));
        assert!(weak.upgrade().is_none());
        registry.shared(t("/run/b.sock"));
        assert_eq!(registry.readers.lock().unwrap().len(), 1);
    }
}
