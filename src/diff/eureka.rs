//! Merging a Eureka server's applications and instances into the stored ones.

use std::collections::{HashMap, HashSet};

use super::{NO_DATA, push};
use crate::model::{
    AppRecord, AppSample, EventData, EventDraft, FailureKind, FetchFailure, FetchRecovery,
    FetchStatus, InstanceChange, InstanceMember, InstanceRecord, InstanceSample, InstanceState, Ts,
};

/// How long an instance absent from the registry is kept, with `removed_at`, before it
/// is forgotten.
pub const REMOVED_RETENTION_MS: u64 = 24 * 60 * 60 * 1000;

/// What the merge needs to know about the fetch.
pub(super) struct Ctx<'a> {
    pub at: Ts,
    /// False for a target's first successful fetch: it is the baseline, no
    /// `instance_added` flood.
    pub emit_members: bool,
    /// The target's previous fetch succeeded, so application-level failures and
    /// recoveries are their own (not the whole server's).
    pub target_was_ok: bool,
    pub target: &'a str,
}

/// Applies a successful registry fetch.
pub(super) fn merge(
    apps: &mut Vec<AppRecord>,
    samples: &[AppSample],
    ctx: &Ctx,
    ev: &mut Vec<EventDraft>,
) {
    let mut seen = HashSet::new();
    let mut index: HashMap<String, usize> = apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.clone(), i))
        .collect();
    for sample in samples {
        if !seen.insert(sample.name.as_str()) {
            continue;
        }
        let i = *index.entry(sample.name.clone()).or_insert_with(|| {
            apps.push(new_app(&sample.name));
            apps.len() - 1
        });
        merge_app(&mut apps[i], sample, ctx, ev);
    }
    for app in apps.iter_mut().filter(|a| !seen.contains(a.name.as_str())) {
        app.last_fetch_status = FetchStatus::Success;
        app.last_fetch_error = None;
        app.last_fetch_at = Some(ctx.at);
        merge_instances(app, &[], ctx, ev);
    }
    apps.retain(|a| !a.instances.is_empty() || seen.contains(a.name.as_str()));
}

fn new_app(name: &str) -> AppRecord {
    AppRecord {
        name: name.to_string(),
        last_fetch_status: FetchStatus::Unknown,
        last_fetch_error: None,
        last_fetch_at: None,
        instances: Vec::new(),
    }
}

fn merge_app(app: &mut AppRecord, sample: &AppSample, ctx: &Ctx, ev: &mut Vec<EventDraft>) {
    let was = app.last_fetch_status;
    app.last_fetch_at = Some(ctx.at);
    match &sample.instances {
        Ok(list) => {
            if was == FetchStatus::Failed && ctx.target_was_ok {
                let data = FetchRecovery {
                    application: Some(app.name.clone()),
                    consecutive_failures: None,
                    previous_error: app.last_fetch_error.clone(),
                };
                push(ev, ctx.target, EventData::FetchRecovered(data));
            }
            app.last_fetch_status = FetchStatus::Success;
            app.last_fetch_error = None;
            merge_instances(app, list, ctx, ev);
        }
        Err(error) => {
            if was != FetchStatus::Failed {
                let data = FetchFailure {
                    application: Some(app.name.clone()),
                    consecutive_failures: None,
                    error: error.clone(),
                    // An application fails alone only when its part of an answer
                    // cannot be read.
                    kind: Some(FailureKind::Protocol),
                };
                push(ev, ctx.target, EventData::FetchFailed(data));
            }
            app.last_fetch_status = FetchStatus::Failed;
            app.last_fetch_error = Some(error.clone());
            mark_no_data(&mut app.instances);
        }
    }
}

fn merge_instances(
    app: &mut AppRecord,
    samples: &[InstanceSample],
    ctx: &Ctx,
    ev: &mut Vec<EventDraft>,
) {
    let mut old: Vec<Option<InstanceRecord>> = std::mem::take(&mut app.instances)
        .into_iter()
        .map(Some)
        .collect();
    let index: HashMap<String, usize> = old
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().map(|r| (r.instance_id.clone(), i)))
        .collect();
    let mut seen = HashSet::new();
    for sample in samples {
        if !seen.insert(sample.instance_id.as_str()) {
            continue;
        }
        let mut rec = record_of(sample);
        let prev = index.get(&sample.instance_id).and_then(|&i| old[i].take());
        // Judged after the merge (`crate::drift::lease`), against this flag.
        rec.lease_expired = prev.as_ref().is_some_and(|p| p.lease_expired);
        match prev {
            Some(p) if p.removed_at.is_some() => {
                push(ev, ctx.target, EventData::InstanceAdded(member(&rec)))
            }
            Some(p) if p.last_known_state != rec.state => push(
                ev,
                ctx.target,
                EventData::InstanceStateChanged(change(&p, &rec)),
            ),
            Some(_) => {}
            None if ctx.emit_members => {
                push(ev, ctx.target, EventData::InstanceAdded(member(&rec)))
            }
            None => {}
        }
        app.instances.push(rec);
    }
    for mut gone in old.into_iter().flatten() {
        if gone.removed_at.is_none() {
            gone.removed_at = Some(ctx.at);
            restore_last_known(&mut gone);
            push(ev, ctx.target, EventData::InstanceRemoved(member(&gone)));
        }
        if gone
            .removed_at
            .is_some_and(|t| ctx.at.since(t) < REMOVED_RETENTION_MS)
        {
            app.instances.push(gone);
        }
    }
}

fn member(rec: &InstanceRecord) -> InstanceMember {
    InstanceMember {
        app: rec.app.clone(),
        instance_id: rec.instance_id.clone(),
        state: rec.state,
        status: rec.status.clone(),
    }
}

fn change(prev: &InstanceRecord, now: &InstanceRecord) -> InstanceChange {
    InstanceChange {
        app: now.app.clone(),
        from: prev.last_known_state,
        instance_id: now.instance_id.clone(),
        previous_status: prev.last_known_status.clone(),
        state: now.state,
        status: now.status.clone(),
        to: now.state,
    }
}

fn restore_last_known(rec: &mut InstanceRecord) {
    if let Some(status) = &rec.last_known_status {
        rec.status = status.clone();
    }
    rec.state = rec.last_known_state;
}

fn record_of(s: &InstanceSample) -> InstanceRecord {
    let state = InstanceState::from_eureka_status(&s.status);
    InstanceRecord {
        instance_id: s.instance_id.clone(),
        app: s.app.clone(),
        host_name: s.host_name.clone(),
        ip_addr: s.ip_addr.clone(),
        port: s.port,
        status: s.status.clone(),
        state,
        last_known_status: Some(s.status.clone()),
        last_known_state: state,
        health_check_url: s.health_check_url.clone(),
        home_page_url: s.home_page_url.clone(),
        status_page_url: s.status_page_url.clone(),
        metadata: s.metadata.clone(),
        removed_at: None,
        endpoint: s.endpoint.clone(),
        lease: s.lease.clone(),
        last_updated_at: s.last_updated_at,
        lease_expired: false,
    }
}

fn mark_no_data(instances: &mut [InstanceRecord]) {
    for i in instances.iter_mut().filter(|i| i.removed_at.is_none()) {
        i.status = NO_DATA.to_string();
        i.state = InstanceState::Unknown;
    }
}

/// Marks every application failed with the server's error.
pub(super) fn mark_failed(apps: &mut [AppRecord], error: &str, at: Ts) {
    for app in apps {
        app.last_fetch_status = FetchStatus::Failed;
        app.last_fetch_error = Some(error.to_string());
        app.last_fetch_at = Some(at);
        mark_no_data(&mut app.instances);
    }
}
