//! The crash-consistency check (docs/architecture.md) on the real binary: after `kill -9` and
//! after SIGTERM, a restarted daemon answers the last committed state before it
//! polls, and its event sequence continues without gaps, reuse or repeated
//! transitions.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use watchpost::sim::{AgentSim, EurekaSim, Fault, SimBackend, SimInstance, SimServer};

use super::{
    Deadline, FAST, Proc, SLOW, Sources, Timing, events, find, free_port, keys, quiet_name,
    write_config,
};

/// What the API answered about the committed state.
#[derive(Debug, Clone)]
pub(super) struct Committed {
    pub(super) events: Vec<Value>,
    pub(super) backends: Value,
    pub(super) applications: Value,
}

impl Committed {
    pub(super) async fn read(d: &mut Proc) -> Committed {
        // The event log last: it holds at least the events of the states read.
        let backends = d.json("/api/haproxy/backends").await["backends"].clone();
        let applications = d.json("/api/eureka/applications").await["applications"].clone();
        let events = events(d).await;
        Committed {
            events,
            backends,
            applications,
        }
    }
}

/// Removes what changes on every poll without being a transition: attempt times,
/// failure counts, the age of a server's last change. Returns them by path.
fn split_volatile(v: &Value) -> (Value, BTreeMap<String, Value>) {
    let mut stable = v.clone();
    let mut volatile = BTreeMap::new();
    for (i, item) in stable.as_array_mut().expect("array").iter_mut().enumerate() {
        let obj = item.as_object_mut().expect("object");
        for key in ["last_fetch_at", "last_success_at", "consecutive_failures"] {
            if let Some(x) = obj.remove(key) {
                volatile.insert(format!("{i}.{key}"), x);
            }
        }
        for server in obj
            .get_mut("servers")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            server
                .as_object_mut()
                .expect("server")
                .remove("last_change_s");
        }
    }
    (stable, volatile)
}

/// `after` is the state `before` was read from, or a later committed one of the same
/// run: the same transitions, and attempt times and counters that did not go back.
fn assert_same_state(what: &str, before: &Value, after: &Value) {
    let (b, b_vol) = split_volatile(before);
    let (a, a_vol) = split_volatile(after);
    assert_eq!(a, b, "{what} after the restart differs from before it");
    for (key, was) in &b_vol {
        let now = &a_vol[key];
        let went_back = match (was, now) {
            (Value::String(x), Value::String(y)) => y < x,
            (Value::Number(x), Value::Number(y)) => y.as_u64() < x.as_u64(),
            (Value::Null, _) => false,
            _ => true,
        };
        assert!(!went_back, "{what}: {key} went from {was} to {now}");
    }
}

fn assert_same_committed(before: &Committed, after: &Committed) {
    assert_eq!(
        keys(&after.events),
        keys(&before.events),
        "the event log changed"
    );
    assert_eq!(after.events, before.events, "stored event contents changed");
    assert_same_state("/api/haproxy/backends", &before.backends, &after.backends);
    assert_same_state(
        "/api/eureka/applications",
        &before.applications,
        &after.applications,
    );
}

fn backend(name: &str, servers: u8) -> SimBackend {
    let server = |n: u8| SimServer::up(&format!("app{n}"), &format!("10.1.0.{n}:8080"));
    SimBackend {
        name: name.to_string(),
        servers: (1..=servers).map(server).collect(),
    }
}

pub(super) struct Fixture {
    dir: tempfile::TempDir,
    pub(super) agent: AgentSim,
    eureka: EurekaSim,
    sources: Sources,
}

impl Fixture {
    pub(super) async fn start() -> Fixture {
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        let agent = AgentSim::start(local, vec![backend("alpha", 2), backend("beta", 1)], vec![])
            .await
            .unwrap();
        let instances = vec![
            SimInstance::up("orders", "orders-1", "10.2.0.1", 8080),
            SimInstance::up("orders", "orders-2", "10.2.0.2", 8080),
            SimInstance::up("catalog", "catalog-1", "10.2.0.3", 8080),
        ];
        let eureka = EurekaSim::start(local, instances).await.unwrap();
        let haproxy = quiet_name("edge", |n| {
            vec![format!("haproxy/{n}/alpha"), format!("haproxy/{n}/beta")]
        });
        let eureka_name = quiet_name("reg", |n| vec![format!("eureka/{n}")]);
        let sources = Sources {
            haproxy,
            agent_url: agent.url(),
            backends: vec!["alpha", "beta"],
            eureka: eureka_name,
            eureka_url: eureka.url(),
        };
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            agent,
            eureka,
            sources,
        }
    }

    pub(super) fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Writes the config `name` (see [`write_config`]) and returns its path and port.
    pub(super) fn config(&self, name: &str, timing: &Timing) -> (std::path::PathBuf, u16) {
        let port = free_port();
        let config = write_config(self.dir.path(), name, port, &self.sources, timing);
        (config, port)
    }

    pub(super) fn id(&self, backend: &str) -> String {
        format!("haproxy/{}/{backend}", self.sources.haproxy)
    }

    pub(super) async fn run(&self, name: &str, timing: &Timing) -> Proc {
        let port = free_port();
        let config = write_config(self.dir.path(), name, port, &self.sources, timing);
        Proc::run(self.dir.path(), name, &config, port).await
    }

    fn requests(&self) -> (u64, u64) {
        (self.agent.requests(), self.eureka.requests())
    }

    /// Restarts with the 1 h interval and checks that it answers `before` and polls
    /// nothing. Returns the daemon and what it answered.
    async fn restart_quiet(&self, name: &str, before: &Committed) -> (Proc, Committed) {
        let mut d = self.run(name, &SLOW).await;
        let polled = self.requests();
        let after = Committed::read(&mut d).await;
        assert_same_committed(before, &after);
        let health = d.json("/api/health").await;
        assert_eq!(
            health["last_seq"],
            before.events.last().expect("events")["seq"],
            "{health}"
        );
        let again = Committed::read(&mut d).await;
        assert_eq!(
            format!("{again:?}"),
            format!("{after:?}"),
            "state changed without a poll"
        );
        assert_eq!(
            self.requests(),
            polled,
            "the restarted daemon polled before its first interval"
        );
        (d, after)
    }
}

/// Polls `d` until `done` holds for the committed state; returns that state.
pub(super) async fn until(
    d: &mut Proc,
    what: &str,
    done: impl Fn(&Committed) -> bool,
) -> Committed {
    let deadline = Deadline::new(what, Duration::from_secs(30));
    loop {
        let c = Committed::read(d).await;
        if done(&c) {
            return c;
        }
        deadline.tick(&c).await;
    }
}

pub(super) fn status_of(c: &Committed, id: &str) -> String {
    let b = find(&c.backends, "id", id).unwrap_or(&Value::Null);
    b["last_fetch_status"]
        .as_str()
        .unwrap_or("absent")
        .to_string()
}

fn apps_ok(c: &Committed) -> bool {
    let apps = c
        .applications
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    apps.len() == 2 && apps.iter().all(|a| a["last_fetch_status"] == "success")
}

pub(super) fn count(events: &[Value], kind: &str, target: &str) -> usize {
    events
        .iter()
        .filter(|e| e["type"] == kind && e["target"] == target)
        .count()
}

fn server<'a>(c: &'a Committed, id: &str, name: &str) -> &'a Value {
    let b = find(&c.backends, "id", id).expect("backend");
    find(&b["servers"], "name", name).expect("server")
}

/// Phase 1: everything read, then alpha/app2 goes DOWN and beta's fetch fails.
/// Returns the committed state that the API answered.
async fn polled_then_failed(f: &Fixture, d: &mut Proc) -> Committed {
    let (alpha, beta) = (f.id("alpha"), f.id("beta"));
    until(d, "both backends and both apps to succeed", |c| {
        all_ok(f, c) && apps_ok(c)
    })
    .await;
    f.agent.set_server_status("alpha", "app2", "DOWN");
    let boom = Fault::Envelope {
        status_code: 500,
        error: "beta exploded".into(),
    };
    f.agent.set_backend_fault("beta", Some(boom));
    let before = until(d, "beta's fetch_failed and app2 going down", |c| {
        status_of(c, &beta) == "failed"
            && count(&c.events, "fetch_failed", &beta) == 1
            && count(&c.events, "server_state_changed", &alpha) == 1
    })
    .await;
    assert_eq!(server(&before, &beta, "app1")["status"], "no data");
    assert_eq!(server(&before, &alpha, "app2")["status"], "DOWN");
    let error = find(&before.backends, "id", &beta).unwrap()["last_fetch_error"].clone();
    assert!(error.as_str().unwrap().contains("beta exploded"), "{error}");
    let seqs: Vec<u64> = keys(&before.events).iter().map(|k| k.0).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "seqs of the first run"
    );
    before
}

fn all_ok(f: &Fixture, c: &Committed) -> bool {
    f.sources
        .backends
        .iter()
        .all(|b| status_of(c, &f.id(b)) == "success")
}

/// Phase 3: polling again with alpha failing and app2 back UP; beta stays failed
/// until it is polled once, then both faults clear. Returns the final state.
async fn failed_across_restart_then_recovered(
    f: &Fixture,
    d: &mut Proc,
    quiet: &Committed,
) -> Committed {
    let (alpha, beta) = (f.id("alpha"), f.id("beta"));
    let beta_attempt = find(&quiet.backends, "id", &beta).unwrap()["last_fetch_at"].clone();
    let both_failed = until(d, "alpha to fail and beta to be polled again", |c| {
        let beta_now = find(&c.backends, "id", &beta).map(|b| b["last_fetch_at"].clone());
        status_of(c, &alpha) == "failed" && beta_now.is_some_and(|t| t != beta_attempt)
    })
    .await;
    assert_eq!(status_of(&both_failed, &beta), "failed");
    let twice = count(&both_failed.events, "fetch_failed", &beta);
    assert_eq!(
        twice, 1,
        "beta's failure was reported again after the restart"
    );
    f.agent.set_backend_fault("alpha", None);
    f.agent.set_backend_fault("beta", None);
    let recovered = until(d, "both backends to recover", |c| {
        all_ok(f, c)
            && count(&c.events, "fetch_recovered", &beta) == 1
            && count(&c.events, "fetch_recovered", &alpha) == 1
    })
    .await;
    assert_eq!(server(&recovered, &alpha, "app2")["state"], "up");
    recovered
}

/// The events after `before` continue its sequence and are exactly `wanted`.
fn assert_continues(before: &Committed, after: &Committed, mut wanted: Vec<(&str, &str)>) {
    let all = keys(&after.events);
    let old = keys(&before.events);
    assert_eq!(&all[..old.len()], &old[..], "old events changed");
    let new = &all[old.len()..];
    let seq_s = old.last().unwrap().0;
    let seqs: Vec<u64> = new.iter().map(|k| k.0).collect();
    let expected: Vec<u64> = (seq_s + 1..=seq_s + new.len() as u64).collect();
    assert_eq!(seqs, expected, "gap or reuse after seq {seq_s}: {new:?}");
    let mut kinds: Vec<(&str, &str)> = new.iter().map(|k| (k.1.as_str(), k.2.as_str())).collect();
    kinds.sort();
    wanted.sort();
    assert_eq!(kinds, wanted, "events after the restart: {new:?}");
}

async fn terminate(mut d: Proc) {
    d.term();
    let status = d.wait_exit(30).await;
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM exit: {status}; output: {:?}",
        d.output()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_sigterm_keep_the_committed_state_and_the_event_sequence() {
    let f = Fixture::start().await;
    let (alpha, beta) = (f.id("alpha"), f.id("beta"));

    let mut d = f.run("first", &FAST).await;
    let before = polled_then_failed(&f, &mut d).await;
    d.kill9();

    // 2. A 1 h interval: the committed state, and no request.
    let (d, quiet) = f.restart_quiet("second", &before).await;
    d.kill9();

    f.agent.set_backend_fault("alpha", Some(Fault::Status(404)));
    f.agent.set_server_status("alpha", "app2", "UP");
    let mut d = f.run("third", &FAST).await;
    let recovered = failed_across_restart_then_recovered(&f, &mut d, &quiet).await;
    let wanted = vec![
        ("fetch_failed", alpha.as_str()),
        ("fetch_recovered", alpha.as_str()),
        ("fetch_recovered", beta.as_str()),
        ("server_state_changed", alpha.as_str()),
    ];
    assert_continues(&before, &recovered, wanted);

    // 4. SIGTERM: exit 0, everything committed; a quiet restart answers it.
    let last = Committed::read(&mut d).await;
    terminate(d).await;
    let (d, _) = f.restart_quiet("fourth", &last).await;
    terminate(d).await;
}
