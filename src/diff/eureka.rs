//! Merging a Eureka server's applications and instances into the stored ones.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{NO_DATA, push};
use crate::model::{
    AppRecord, AppSample, EventData, EventDraft, FailureKind, FetchFailure, FetchRecovery,
    FetchStatus, InstanceChange, InstanceMember, InstanceRecord, InstanceSample, InstanceState,
    Shared, TextPack, Ts, intern,
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
    let index: HashMap<Shared, usize> = old
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().map(|r| (r.instance_id.clone(), i)))
        .collect();
    // Sized for the fetch: the list lives in the next state until it is replaced.
    app.instances = Vec::with_capacity(samples.len());
    let mut seen = HashSet::new();
    for sample in samples {
        if !seen.insert(sample.instance_id.as_str()) {
            continue;
        }
        let prev = index
            .get(sample.instance_id.as_str())
            .and_then(|&i| old[i].take());
        let mut rec = match prev {
            Some(rec) => refreshed(rec, sample, ctx, ev),
            None => {
                let rec = record_of(sample);
                if ctx.emit_members {
                    push(ev, ctx.target, EventData::InstanceAdded(member(&rec)));
                }
                rec
            }
        };
        // The instances of an application share one copy of its name.
        if let Some(last) = app.instances.last()
            && last.app == rec.app
        {
            rec.app = last.app.clone();
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

/// A known instance brought up to date with its sample, in place: what did not
/// change stays shared with the committed state. Its `lease_expired` flag is kept
/// (judged after the merge, `crate::drift::lease`).
fn refreshed(
    mut rec: InstanceRecord,
    sample: &InstanceSample,
    ctx: &Ctx,
    ev: &mut Vec<EventDraft>,
) -> InstanceRecord {
    let was_removed = rec.removed_at.is_some();
    let (from, previous_status) = (rec.last_known_state, rec.last_known_status.clone());
    refresh(&mut rec, sample);
    if was_removed {
        push(ev, ctx.target, EventData::InstanceAdded(member(&rec)));
    } else if from != rec.state {
        let data = InstanceChange {
            app: rec.app.to_string(),
            from,
            instance_id: rec.instance_id.to_string(),
            previous_status: previous_status.map(|s| s.to_string()),
            state: rec.state,
            status: rec.status.to_string(),
            to: rec.state,
        };
        push(ev, ctx.target, EventData::InstanceStateChanged(data));
    }
    rec
}

fn member(rec: &InstanceRecord) -> InstanceMember {
    InstanceMember {
        app: rec.app.to_string(),
        instance_id: rec.instance_id.to_string(),
        state: rec.state,
        status: rec.status.to_string(),
    }
}

fn restore_last_known(rec: &mut InstanceRecord) {
    if let Some(status) = &rec.last_known_status {
        rec.status = status.clone();
    }
    rec.state = rec.last_known_state;
}

fn shared(s: &str) -> Shared {
    Shared::from(s)
}

/// Replaces `slot` only when its text differs from `new`.
fn keep_or_set(slot: &mut Shared, new: &str) {
    if **slot != *new {
        *slot = shared(new);
    }
}

/// Sets every field the sample gives, keeping the shared values that are equal.
fn refresh(rec: &mut InstanceRecord, s: &InstanceSample) {
    let state = InstanceState::from_eureka_status(&s.status);
    keep_or_set(&mut rec.app, &s.app);
    let texts = texts_of(s);
    if !rec.texts.holds(texts) {
        rec.texts = TextPack::new(texts);
    }
    rec.port = s.port;
    match &rec.last_known_status {
        Some(known) if **known == *s.status => rec.status = known.clone(),
        _ if *rec.status != *s.status => rec.status = intern(&s.status),
        _ => {}
    }
    (rec.state, rec.last_known_state) = (state, state);
    rec.last_known_status = Some(rec.status.clone());
    if *rec.metadata != s.metadata {
        rec.metadata = metadata(&s.metadata);
    }
    rec.removed_at = None;
    rec.lease = s.lease.clone();
    rec.last_updated_at = s.last_updated_at;
}

/// The sample's texts in the order of [`crate::model::InstanceTexts`].
fn texts_of(s: &InstanceSample) -> [Option<&str>; 6] {
    InstanceRecord::texts_of(
        s.host_name.as_deref(),
        s.ip_addr.as_deref(),
        s.health_check_url.as_deref(),
        s.home_page_url.as_deref(),
        s.status_page_url.as_deref(),
        s.endpoint.as_deref(),
    )
}

fn record_of(s: &InstanceSample) -> InstanceRecord {
    let state = InstanceState::from_eureka_status(&s.status);
    let status = intern(&s.status);
    InstanceRecord {
        instance_id: shared(&s.instance_id),
        app: shared(&s.app),
        texts: TextPack::new(texts_of(s)),
        port: s.port,
        status: status.clone(),
        state,
        last_known_status: Some(status),
        last_known_state: state,
        metadata: metadata(&s.metadata),
        removed_at: None,
        lease: s.lease.clone(),
        last_updated_at: s.last_updated_at,
        lease_expired: false,
    }
}

/// An empty metadata map, shared by every instance that has one.
static NO_METADATA: std::sync::LazyLock<std::sync::Arc<BTreeMap<String, String>>> =
    std::sync::LazyLock::new(Default::default);

/// The metadata of a sample as kept: most instances have none, and share one map.
fn metadata(m: &BTreeMap<String, String>) -> std::sync::Arc<BTreeMap<String, String>> {
    match m.is_empty() {
        true => NO_METADATA.clone(),
        false => std::sync::Arc::new(m.clone()),
    }
}

/// `no data`, shared by every instance without it.
static NO_DATA_SHARED: std::sync::LazyLock<Shared> = std::sync::LazyLock::new(|| shared(NO_DATA));

fn mark_no_data(instances: &mut [InstanceRecord]) {
    for i in instances.iter_mut().filter(|i| i.removed_at.is_none()) {
        i.status = NO_DATA_SHARED.clone();
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

#[cfg(test)]
#[path = "eureka_tests.rs"]
mod tests;
