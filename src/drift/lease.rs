//! Lease rules, applied after each successful Eureka fetch.
//!
//! An instance's lease has expired when its last renewal is older than its lease
//! duration plus one poll interval of grace. Age is measured on the registry's own
//! clock: against the newest `lastRenewalTimestamp` or `lastUpdatedTimestamp` the
//! payload carries, so a skew between watchpost's clock and the registry's cannot
//! expire (or keep alive) anything. Without any such timestamp, the fetch time is
//! used. A server whose expired share is at least 15 % (Eureka's default renewal
//! threshold is 85 %) and at least 2 instances is suspected of self-preservation.

use super::events::{LeaseChange, SelfPreservation};
use crate::model::{
    AppRecord, EventData, EventDraft, FetchStatus, InstanceRecord, TargetState, Ts,
};

/// Share of expired instances (percent) from which self-preservation is suspected.
pub const SELF_PRESERVATION_PCT: usize = 15;
/// Fewest expired instances for a self-preservation suspicion.
pub const SELF_PRESERVATION_MIN: usize = 2;

/// Judges every lease of `t` (just fetched at `at`), updating `lease.age_s`,
/// `lease_expired` and `self_preservation_suspected`; returns the events of the
/// flags that changed. Instances of applications without data keep their flags.
pub fn judge(t: &mut TargetState, at: Ts, grace_ms: u64) -> Vec<EventDraft> {
    let reference = registry_clock(&t.applications).unwrap_or(at);
    let mut events = Vec::new();
    let (mut judged, mut expired) = (0, 0);
    for app in t.applications.iter_mut().filter(|a| usable(a)) {
        for inst in app.instances.iter_mut().filter(|i| i.removed_at.is_none()) {
            let Some(now_expired) = judge_one(inst, reference, grace_ms) else {
                continue;
            };
            judged += 1;
            expired += usize::from(now_expired);
            if now_expired != inst.lease_expired {
                inst.lease_expired = now_expired;
                events.push(lease_event(&t.id, inst));
            }
        }
    }
    let suspected =
        expired >= SELF_PRESERVATION_MIN && expired * 100 >= judged * SELF_PRESERVATION_PCT;
    if suspected != t.self_preservation_suspected {
        t.self_preservation_suspected = suspected;
        let data = SelfPreservation {
            expired: expired as u64,
            instances: judged as u64,
            suspected,
            threshold_pct: SELF_PRESERVATION_PCT as u64,
        };
        events.push(draft(&t.id, EventData::EurekaSelfPreservation(data)));
    }
    events
}

fn usable(app: &AppRecord) -> bool {
    app.last_fetch_status == FetchStatus::Success
}

/// The newest renewal or update time the registry reports: its clock, as near as
/// the payload tells it.
pub fn registry_clock(apps: &[AppRecord]) -> Option<Ts> {
    apps.iter()
        .filter(|a| usable(a))
        .flat_map(|a| a.instances.iter().filter(|i| i.removed_at.is_none()))
        .flat_map(|i| {
            [
                i.lease.as_ref().and_then(|l| l.last_renewal_at),
                i.last_updated_at,
            ]
        })
        .flatten()
        .max()
}

/// Sets the lease's age; `Some(expired)` when the lease says enough to judge.
fn judge_one(inst: &mut InstanceRecord, reference: Ts, grace_ms: u64) -> Option<bool> {
    let lease = inst.lease.as_mut()?;
    let renewed = lease.last_renewal_at?;
    let age_ms = reference.since(renewed);
    lease.age_s = Some(age_ms / 1000);
    let duration_ms = lease.duration_s?.saturating_mul(1000);
    Some(age_ms > duration_ms.saturating_add(grace_ms))
}

fn lease_event(target: &str, inst: &InstanceRecord) -> EventDraft {
    let lease = inst.lease.as_ref();
    let change = LeaseChange {
        age_s: lease.and_then(|l| l.age_s),
        app: inst.app.to_string(),
        duration_s: lease.and_then(|l| l.duration_s),
        instance_id: inst.instance_id.to_string(),
        last_renewal_at: lease.and_then(|l| l.last_renewal_at),
        status: inst.status.to_string(),
    };
    let data = if inst.lease_expired {
        EventData::InstanceLeaseExpired(change)
    } else {
        EventData::InstanceLeaseRenewed(change)
    };
    draft(target, data)
}

fn draft(target: &str, data: EventData) -> EventDraft {
    EventDraft {
        target: target.to_string(),
        data,
    }
}
