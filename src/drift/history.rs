//! The history of a target's failures from its committed events: outages as
//! intervals (from `fetch_failed` to `fetch_recovered`, the whole target or one
//! Eureka application) and their summary over a period. Pure: events in, history
//! out; `GET /api/history` reads the events and calls it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Event, EventData, FailureKind, Ts};

/// One outage, clipped to the period asked for. `end` is `None` while it lasts.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Outage {
    pub start: Ts,
    pub end: Option<Ts>,
    pub duration_s: f64,
    /// The kind of the first error; `None` for events stored before they named one.
    pub error_kind: Option<FailureKind>,
    pub first_error: Option<String>,
}

/// How many outages had an error kind.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ErrorCount {
    pub kind: String,
    pub count: usize,
}

/// The summary of one period.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub availability_pct: f64,
    pub outages: usize,
    /// Mean outage length; `None` without outages.
    pub mttr_s: Option<f64>,
    /// Mean time up per outage; `None` without outages.
    pub mtbf_s: Option<f64>,
    pub top_errors: Vec<ErrorCount>,
}

/// The history of the target itself or of one of its applications.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct History {
    pub summary: Summary,
    pub outages: Vec<Outage>,
}

/// The target's history and its applications' (by name), over `[since, until]`,
/// from the target's events in sequence order (earlier events give the state at
/// `since`). When the log starts with the target's `target_added`, the period
/// starts there at the earliest: time before watchpost watched it is not counted.
pub fn history(events: &[Event], since: Ts, until: Ts) -> (History, BTreeMap<String, History>) {
    let since = match events.first() {
        Some(e) if matches!(e.data, EventData::TargetAdded(_)) => since.max(e.ts).min(until),
        _ => since,
    };
    let mut own = Vec::new();
    let mut apps: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.ts <= until) {
        let app = match &e.data {
            EventData::FetchFailed(f) => &f.application,
            EventData::FetchRecovered(r) => &r.application,
            _ => continue,
        };
        match app {
            Some(app) => apps.entry(app.clone()).or_default().push(e),
            None => own.push(e),
        }
    }
    let apps = apps
        .into_iter()
        .map(|(name, list)| (name, of(&list, since, until)))
        .collect();
    (of(&own, since, until), apps)
}

fn of(edges: &[&Event], since: Ts, until: Ts) -> History {
    let outages = outages(edges, since, until);
    History {
        summary: summary(&outages, since, until),
        outages,
    }
}

/// Intervals from each failure edge to the next recovery, clipped to the period.
fn outages(edges: &[&Event], since: Ts, until: Ts) -> Vec<Outage> {
    let mut out = Vec::new();
    let mut open: Option<&Event> = None;
    for e in edges {
        match (&e.data, open) {
            (EventData::FetchFailed(_), None) => open = Some(e),
            (EventData::FetchRecovered(_), Some(start)) => {
                out.extend(clip(start, Some(e.ts), since, until));
                open = None;
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        out.extend(clip(start, None, since, until));
    }
    out
}

fn clip(start: &Event, end: Option<Ts>, since: Ts, until: Ts) -> Option<Outage> {
    let from = start.ts.max(since);
    let to = end.unwrap_or(until).min(until);
    if end.is_some_and(|e| e < since) || from > to {
        return None;
    }
    let first_error = match &start.data {
        EventData::FetchFailed(f) => Some(f),
        _ => None,
    };
    Some(Outage {
        start: from,
        end: end.filter(|e| *e <= until),
        duration_s: to.since(from) as f64 / 1000.0,
        error_kind: first_error.and_then(|f| f.kind),
        first_error: first_error.map(|f| f.error.clone()),
    })
}

fn summary(outages: &[Outage], since: Ts, until: Ts) -> Summary {
    let period_s = until.since(since) as f64 / 1000.0;
    let down_s: f64 = outages.iter().map(|o| o.duration_s).sum();
    let n = outages.len();
    let availability_pct = if period_s > 0.0 {
        (100.0 * (period_s - down_s) / period_s).clamp(0.0, 100.0)
    } else {
        100.0
    };
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for o in outages {
        *kinds
            .entry(o.error_kind.map_or("unclassified", FailureKind::as_str))
            .or_default() += 1;
    }
    let mut top_errors: Vec<ErrorCount> = kinds
        .into_iter()
        .map(|(kind, count)| ErrorCount {
            kind: kind.to_string(),
            count,
        })
        .collect();
    top_errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
    Summary {
        availability_pct: (availability_pct * 1000.0).round() / 1000.0,
        outages: n,
        mttr_s: (n > 0).then(|| down_s / n as f64),
        mtbf_s: (n > 0).then(|| (period_s - down_s).max(0.0) / n as f64),
        top_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FetchFailure, FetchRecovery, InstanceMember, InstanceState};

    fn failed(seq: u64, secs: u64, app: Option<&str>, error: &str) -> Event {
        let kind = match error {
            "refused" => Some(FailureKind::Refused),
            "timeout" => Some(FailureKind::Timeout),
            _ => None,
        };
        let f = FetchFailure {
            application: app.map(str::to_string),
            consecutive_failures: None,
            error: error.into(),
            kind,
        };
        ev(seq, secs, EventData::FetchFailed(f))
    }

    fn recovered(seq: u64, secs: u64) -> Event {
        let r = FetchRecovery {
            application: None,
            consecutive_failures: None,
            previous_error: None,
        };
        ev(seq, secs, EventData::FetchRecovered(r))
    }

    fn ev(seq: u64, secs: u64, data: EventData) -> Event {
        Event {
            seq,
            ts: Ts(secs * 1000),
            target: "t".into(),
            data,
        }
    }

    #[test]
    fn outages_are_intervals_clipped_to_the_period() {
        let other = InstanceMember {
            app: "A".into(),
            instance_id: "i".into(),
            state: InstanceState::Up,
            status: "UP".into(),
        };
        let events = [
            failed(1, 50, None, "refused"),
            recovered(2, 150),
            failed(3, 300, None, "timeout"),
            failed(4, 320, Some("A"), "bad"),
            recovered(5, 400),
            failed(6, 900, None, "refused"),
            ev(7, 950, EventData::InstanceAdded(other)),
        ];
        let (own, apps) = history(&events, Ts(100_000), Ts(1_000_000));
        let spans: Vec<_> = own
            .outages
            .iter()
            .map(|o| (o.start.0 / 1000, o.end.map(|e| e.0 / 1000)))
            .collect();
        assert_eq!(spans, vec![(100, Some(150)), (300, Some(400)), (900, None)]);
        let s = &own.summary;
        assert_eq!(s.outages, 3);
        assert_eq!(s.availability_pct, 72.222);
        assert_eq!(s.mttr_s, Some(250.0 / 3.0));
        assert_eq!(s.mtbf_s, Some(650.0 / 3.0));
        let count = |kind: &str, count| ErrorCount {
            kind: kind.into(),
            count,
        };
        assert_eq!(s.top_errors, vec![count("refused", 2), count("timeout", 1)]);
        assert_eq!(own.outages[1].first_error.as_deref(), Some("timeout"));
        assert_eq!(own.outages[1].error_kind, Some(FailureKind::Timeout));
        let a = &apps["A"];
        assert_eq!((a.outages.len(), a.outages[0].end), (1, None));
    }

    #[test]
    fn the_period_starts_when_the_target_was_added() {
        let added = crate::model::TargetAdded {
            backend: None,
            group: "g".into(),
            kind: crate::model::TargetKind::HaproxyBackend,
            source: crate::model::SourceKind::Agent,
        };
        let events = [
            ev(1, 900, EventData::TargetAdded(added)),
            failed(2, 950, None, "x"),
        ];
        let (own, _) = history(&events, Ts(0), Ts(1_000_000));
        assert_eq!(own.outages[0].error_kind, None, "stored without a kind");
        assert_eq!(own.summary.top_errors[0].kind, "unclassified");
        assert_eq!(own.summary.availability_pct, 50.0);
        assert_eq!(own.summary.mtbf_s, Some(50.0));
    }

    #[test]
    fn no_events_is_full_availability() {
        let (own, apps) = history(&[], Ts(0), Ts(1000));
        assert_eq!(
            (
                own.summary.availability_pct,
                own.summary.outages,
                own.summary.mttr_s
            ),
            (100.0, 0, None)
        );
        assert!(apps.is_empty());
    }
}
