//! The acceptance check of SPEC §3 and §7 on the real binary: after `kill -9` and
//! after SIGTERM, a restarted daemon answers the last committed state before it
//! polls, and its event sequence continues without gaps, reuse or repeated
//! transitions.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::Value;
use watchpost::sim::{AgentSim, EurekaSim, Fault, SimBackend, SimInstance, SimServer};

use super::{
    Deadline, FAST, Proc, SLOW, Sources, Timing, events, find, free_port, keys, quiet_name,
    write_config,
};

/// What the API answered about the committed state.
#[derive(Debug, Clone)]
struct Committed {
    events: Vec<Value>,
    backends: Value,
    applications: Value,
}

impl Committed {
    async fn read(d: &mut Proc) -> Committed {
        let events = events(d).await;
        let backends = d.json("/api/haproxy/backends").await["backends"].clone();
        let applications = d.json("/api/eureka/applications").await["applications"].clone();
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

struct Fixture {
    dir: tempfile::TempDir,
    agent: AgentSim,
    eureka: EurekaSim,
    sources: Sources,
}

impl Fixture {
    async fn start() -> Fixture {
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

    fn id(&self, backend: &str) -> String {
        format!("haproxy/{}/{backend}", self.sources.haproxy)
    }

    async fn run(&self, name: &str, timing: &Timing) -> Proc {
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
async fn until(d: &mut Proc, what: &str, done: impl Fn(&Committed) -> bool) -> Committed {
    let deadline = Deadline::new(what, 30);
    loop {
        let c = Committed::read(d).await;
        if done(&c) {
            return c;
        }
        deadline.tick(&c).await;
    }
}

fn status_of(c: &Committed, id: &str) -> String {
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

fn count(events: &[Value], kind: &str, target: &str) -> usize {
    events
        .iter()
        .filter(|e| e["type"] == kind && e["target"] == target)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_sigterm_keep_the_committed_state_and_the_event_sequence() {
    let f = Fixture::start().await;
    let (alpha, beta) = (f.id("alpha"), f.id("beta"));

    // 1. Poll until everything is read, then make beta fail; kill -9.
    let mut d = f.run("first", &FAST).await;
    let ok = |c: &Committed| status_of(c, &alpha) == "success" && status_of(c, &beta) == "success";
    until(&mut d, "both backends and both apps to succeed", |c| {
        ok(c) && apps_ok(c)
    })
    .await;
    f.agent.set_backend_fault(
        "beta",
        Some(Fault::Envelope {
            status_code: 500,
            error: "beta exploded".into(),
        }),
    );
    let before = until(&mut d, "beta's fetch_failed", |c| {
        status_of(c, &beta) == "failed" && count(&c.events, "fetch_failed", &beta) == 1
    })
    .await;
    let beta_seen = find(&before.backends, "id", &beta).unwrap().clone();
    assert_eq!(beta_seen["servers"][0]["status"], "no data", "{beta_seen}");
    assert!(
        beta_seen["last_fetch_error"]
            .as_str()
            .unwrap()
            .contains("beta exploded"),
        "{beta_seen}"
    );
    d.kill9();
    let seq_s = keys(&before.events).last().unwrap().0;
    let expected: Vec<u64> = (1..=seq_s).collect();
    assert_eq!(
        keys(&before.events).iter().map(|k| k.0).collect::<Vec<_>>(),
        expected
    );

    // 2. Restart with a 1 h interval: the committed state, and no request.
    let (d, quiet) = f.restart_quiet("second", &before).await;
    d.kill9();

    // 3. Restart polling again, alpha now failing too; beta stays failed.
    f.agent.set_backend_fault("alpha", Some(Fault::Status(404)));
    let mut d = f.run("third", &FAST).await;
    let beta_attempt = find(&quiet.backends, "id", &beta).unwrap()["last_fetch_at"].clone();
    let both_failed = until(&mut d, "alpha to fail and beta to be polled again", |c| {
        let beta_now = find(&c.backends, "id", &beta).map(|b| b["last_fetch_at"].clone());
        status_of(c, &alpha) == "failed" && beta_now.is_some_and(|t| t != beta_attempt)
    })
    .await;
    assert_eq!(status_of(&both_failed, &beta), "failed");
    assert_eq!(
        count(&both_failed.events, "fetch_failed", &beta),
        1,
        "beta's failure was reported twice"
    );
    f.agent.set_backend_fault("alpha", None);
    f.agent.set_backend_fault("beta", None);
    let recovered = until(&mut d, "both backends to recover", |c| {
        ok(c)
            && count(&c.events, "fetch_recovered", &beta) == 1
            && count(&c.events, "fetch_recovered", &alpha) == 1
    })
    .await;
    let all = keys(&recovered.events);
    assert_eq!(
        &all[..before.events.len()],
        &keys(&before.events)[..],
        "old events changed"
    );
    let new: Vec<_> = all[before.events.len()..].to_vec();
    let seqs: Vec<u64> = new.iter().map(|k| k.0).collect();
    assert_eq!(
        seqs,
        (seq_s + 1..=seq_s + new.len() as u64).collect::<Vec<_>>(),
        "gap or reuse: {new:?}"
    );
    let mut kinds: Vec<(String, String)> = new.iter().map(|k| (k.1.clone(), k.2.clone())).collect();
    kinds.sort();
    let mut wanted = vec![
        ("fetch_failed".to_string(), alpha.clone()),
        ("fetch_recovered".to_string(), alpha.clone()),
        ("fetch_recovered".to_string(), beta.clone()),
    ];
    wanted.sort();
    assert_eq!(kinds, wanted, "new events after the restart: {new:?}");

    // 4. SIGTERM: exit 0, everything committed; a quiet restart answers it.
    let last = Committed::read(&mut d).await;
    d.term();
    let status = d.wait_exit(30).await;
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM exit: {status}; output: {:?}",
        d.output()
    );
    drop(d);
    let (mut d, _) = f.restart_quiet("fourth", &last).await;
    d.term();
    let status = d.wait_exit(30).await;
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM exit: {status}; output: {:?}",
        d.output()
    );
}

/// Opens a breaker after two failed polls, for 5 s.
const BREAKS: Timing = Timing {
    interval: "300ms",
    timeout: "150ms",
    threshold: 2,
    open: "5s",
};

fn circuit_of(c: &Committed, id: &str) -> Value {
    find(&c.backends, "id", id)
        .map(|b| b["circuit_state"].clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_circuit_open_at_a_kill_is_not_reported_open_after_a_successful_poll() {
    let f = Fixture::start().await;
    let beta = f.id("beta");
    let mut d = f.run("first", &BREAKS).await;
    f.agent.set_backend_fault("beta", Some(Fault::Status(404)));
    let before = until(&mut d, "beta's circuit to open", |c| {
        circuit_of(c, &beta) == "open"
    })
    .await;
    assert_eq!(count(&before.events, "circuit_opened", &beta), 1);
    d.kill9();
    f.agent.set_backend_fault("beta", None);

    // A restored breaker probes after its open period; a fresh one polls at once.
    // Either way, once a poll has succeeded the circuit is not open any more.
    let mut d = f.run("second", &BREAKS).await;
    let after = until(&mut d, "beta to be read again", |c| {
        status_of(c, &beta) == "success"
    })
    .await;
    let seen = find(&after.backends, "id", &beta).unwrap();
    assert_eq!(
        seen["circuit_state"], "closed",
        "polled successfully but reported open: {seen:#}"
    );
    assert_eq!(seen["next_attempt_at"], Value::Null, "{seen:#}");
    let new = &after.events[before.events.len()..];
    assert_eq!(
        count(new, "circuit_closed", &beta),
        1,
        "the closing is reported once: {new:#?}"
    );
    assert_eq!(count(new, "fetch_recovered", &beta), 1, "{new:#?}");
}
