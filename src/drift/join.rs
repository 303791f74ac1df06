//! The join: HAProxy servers and Eureka instances matched by endpoint (the server's
//! `addr` equals the instance's `ipAddr:port`), plus the membership checks of each
//! `[[link]]`. Only targets the caller calls fresh take part, so nothing here is
//! ever decided on old data. Cost: one hash map of the fresh instances by endpoint,
//! then one lookup per server.

use std::collections::HashSet;

use super::{DriftKind, EurekaSide, HaproxySide, Link, Mismatch};
use crate::model::{
    AppRecord, FastMap, FetchStatus, InstanceRecord, InstanceState, ServerRecord, ServerState,
    TargetKind, TargetState,
};

/// An instance with where it comes from.
#[derive(Clone, Copy)]
struct At<'a> {
    target: &'a TargetState,
    app: &'a AppRecord,
    inst: &'a InstanceRecord,
}

/// Every mismatch among the `fresh` targets: endpoint pairs first, then links.
pub fn mismatches(fresh: &[&TargetState], links: &[Link]) -> Vec<Mismatch> {
    let instances = by_endpoint(fresh);
    let mut out = Vec::new();
    for t in fresh
        .iter()
        .filter(|t| t.kind == TargetKind::HaproxyBackend)
    {
        for s in &t.servers {
            let Some(addr) = s.addr() else {
                continue;
            };
            for at in instances.get(addr).into_iter().flatten() {
                if let Some(kind) = pair_kind(s.state, at.inst.state) {
                    out.push(mismatch(kind, addr, t, Some(s), *at, Some(at.inst)));
                }
            }
        }
    }
    let by_id: FastMap<&str, &TargetState> = fresh.iter().map(|t| (t.id.as_str(), *t)).collect();
    for link in links {
        linked(link, &by_id, &mut out);
    }
    out
}

/// Live instances of usable applications of the fresh Eureka targets, by endpoint.
fn by_endpoint<'a>(fresh: &[&'a TargetState]) -> FastMap<&'a str, Vec<At<'a>>> {
    let mut map: FastMap<&str, Vec<At<'_>>> = FastMap::default();
    for t in fresh.iter().filter(|t| t.kind == TargetKind::EurekaServer) {
        for app in t.applications.iter().filter(|a| usable(a)) {
            for inst in live(app) {
                if let Some(e) = inst.endpoint() {
                    map.entry(e).or_default().push(At {
                        target: t,
                        app,
                        inst,
                    });
                }
            }
        }
    }
    map
}

fn usable(app: &AppRecord) -> bool {
    app.last_fetch_status == FetchStatus::Success
}

fn live(app: &AppRecord) -> impl Iterator<Item = &InstanceRecord> {
    app.instances.iter().filter(|i| i.removed_at.is_none())
}

/// The mismatch of a server and an instance at the same endpoint, if any.
fn pair_kind(server: ServerState, inst: InstanceState) -> Option<DriftKind> {
    use InstanceState as I;
    use ServerState as S;
    match (server, inst) {
        (S::Down | S::Maint, I::Up) => Some(DriftKind::RegisteredNotServing),
        (S::Up, I::Down | I::OutOfService) => Some(DriftKind::ServingNotRegistered),
        _ => None,
    }
}

/// A link's membership checks, when its Eureka target is fresh and the application
/// usable (absent counts as no instances); stale backends are skipped.
fn linked(link: &Link, fresh: &FastMap<&str, &TargetState>, out: &mut Vec<Mismatch>) {
    let Some(eureka) = fresh.get(link.eureka_target.as_str()) else {
        return;
    };
    let app = eureka
        .applications
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(&link.app));
    if app.is_some_and(|a| !usable(a)) {
        return;
    }
    let endpoints: HashSet<&str> = app
        .into_iter()
        .flat_map(live)
        .filter_map(|i| i.endpoint())
        .collect();
    for backend in link.backends.iter().filter_map(|b| fresh.get(b.as_str())) {
        let served: HashSet<&str> = backend.servers.iter().filter_map(|s| s.addr()).collect();
        let up = app.into_iter().flat_map(|a| live(a).map(move |i| (a, i)));
        for (app, inst) in up.filter(|(_, i)| i.state == InstanceState::Up) {
            let Some(e) = inst.endpoint().filter(|e| !served.contains(e)) else {
                continue;
            };
            let at = At {
                target: eureka,
                app,
                inst,
            };
            out.push(mismatch(
                DriftKind::RegisteredNotServing,
                e,
                backend,
                None,
                at,
                Some(inst),
            ));
        }
        for s in backend
            .servers
            .iter()
            .filter(|s| s.state == ServerState::Up)
        {
            let Some(e) = s.addr().filter(|e| !endpoints.contains(e)) else {
                continue;
            };
            out.push(missing_instance(e, backend, s, eureka, &link.app));
        }
    }
}

fn mismatch(
    kind: DriftKind,
    endpoint: &str,
    backend: &TargetState,
    server: Option<&ServerRecord>,
    at: At<'_>,
    inst: Option<&InstanceRecord>,
) -> Mismatch {
    Mismatch {
        kind,
        endpoint: endpoint.to_string(),
        haproxy: haproxy_side(backend, server),
        eureka: EurekaSide {
            target: at.target.id.clone(),
            app: at.app.name.clone(),
            instance_id: inst.map(|i| i.instance_id.to_string()),
            status: inst.map(|i| i.status.to_string()),
            fetched_at: at.app.last_fetch_at,
        },
    }
}

fn missing_instance(
    endpoint: &str,
    backend: &TargetState,
    server: &ServerRecord,
    eureka: &TargetState,
    app: &str,
) -> Mismatch {
    let name = eureka
        .applications
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(app));
    Mismatch {
        kind: DriftKind::ServingNotRegistered,
        endpoint: endpoint.to_string(),
        haproxy: haproxy_side(backend, Some(server)),
        eureka: EurekaSide {
            target: eureka.id.clone(),
            app: name.map_or_else(|| app.to_string(), |a| a.name.clone()),
            instance_id: None,
            status: None,
            fetched_at: eureka.last_success_at.get(),
        },
    }
}

fn haproxy_side(backend: &TargetState, server: Option<&ServerRecord>) -> HaproxySide {
    HaproxySide {
        target: backend.id.clone(),
        backend: backend.backend_name.clone().unwrap_or_default(),
        server: server.map(|s| s.name().to_string()),
        status: server.map(|s| s.status.to_string()),
        fetched_at: backend.last_success_at.get(),
    }
}
