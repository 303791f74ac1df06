//! One set of rules: the page applies events to its copy of the state with the
//! reducer of `events.js`, the server with `diff`. Real event sequences, caused
//! through the simulated sources (a server change, a failure with "no data", the
//! circuit opening, recovery, an instance removed, its Eureka server failing and
//! recovering, the instance returning), are fed through the page's own reducer in Chromium, and
//! after each step the page's state must equal `/api/targets/{id}`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use watchpost::config::EurekaSourceKind;
use watchpost::sim::{AgentSim, EurekaSim, Fault, SimInstance};

use super::{Browser, last_seq};
use crate::common::*;

const MAIN: &str = "eureka/main";

/// Loads the page's `Model` and `applyEvent` into `window.rules` with a snapshot.
const LOAD: &str = "
    const [snapshot, done] = arguments;
    Promise.all([import('/assets/state.js'), import('/assets/events.js')]).then(([st, ev]) => {
        window.rules = { model: new st.Model(), applyEvent: ev.applyEvent };
        window.rules.model.loadSnapshot(snapshot);
        done(true);
    }, (e) => done(String(e)));";

/// Applies `arguments[0]` (events) with the page's reducer, then `arguments[2]`
/// (`GET /api/targets`) as the page's periodic refresh does, and answers the state it
/// reached and the targets it asked to fetch again; those are then replaced by
/// `arguments[1][id]` (the server's state), as the page does.
const APPLY: &str = "
    const [events, fresh, list] = arguments;
    const r = window.rules;
    const refetch = new Set();
    for (const ev of events) {
        const res = r.applyEvent(r.model, ev);
        if (res.refetch && !res.removed) refetch.add(res.id);
    }
    r.model.mergeTimes(list);
    const state = JSON.parse(JSON.stringify(Object.fromEntries(r.model.targets)));
    for (const id of refetch) r.model.replace(id, fresh[id] ?? null);
    return { state, refetch: [...refetch], seq: r.model.seq };";

/// `list` (an array of objects) as the `keys` of each, sorted.
fn pick(list: &Value, keys: &[&str]) -> Value {
    let mut rows: Vec<Value> = (list.as_array().into_iter().flatten())
        .map(|x| Value::Array(keys.iter().map(|k| x[*k].clone()).collect()))
        .collect();
    rows.sort_by_key(|r| r.to_string());
    Value::Array(rows)
}

/// What both sides must agree on. Times that move without an event (`last_fetch_at`,
/// `last_change_s`, ...) are left out; of `removed_at` only whether
/// it is set counts (the page takes the event's commit time, the server the time
/// of the poll that missed the instance). A target the reducer asked to
/// fetch again is compared on its fetch status only: its data comes from the server.
fn rules_view(t: &Value, whole: bool) -> Value {
    let mut v = json!({
        "last_fetch_status": t["last_fetch_status"], "last_fetch_error": t["last_fetch_error"],
        "circuit_state": t["circuit_state"], "enable_polling": t["enable_polling"],
        "applications": pick(&t["applications"], &["name", "last_fetch_status", "last_fetch_error"]),
    });
    if whole {
        v["servers"] = pick(
            &t["servers"],
            &["name", "status", "state", "last_known_status"],
        );
        let keys = [
            "instance_id",
            "app",
            "status",
            "state",
            "last_known_status",
            "removed",
        ];
        let mut instances = t["instances"].clone();
        for i in instances.as_array_mut().into_iter().flatten() {
            i["removed"] = json!(!i["removed_at"].is_null());
        }
        v["instances"] = pick(&instances, &keys);
    }
    v
}

/// What the server says at one sequence number.
struct Read {
    seq: u64,
    /// `GET /api/targets/{id}` of each target.
    targets: BTreeMap<String, Value>,
    /// `GET /api/targets`.
    list: Value,
}

/// The state of `ids` and the last event it reflects, read without a commit in
/// between (the sequence number is the same before and after).
async fn stable_read(td: &TestDaemon, ids: &[&str]) -> Read {
    wait_for("a read without a commit in between", async || {
        let seq = last_seq(td).await;
        let mut targets = BTreeMap::new();
        for id in ids {
            targets.insert(id.to_string(), td.target(id).await);
        }
        let (_, list) = td.get("/api/targets").await;
        let list = list["targets"].clone();
        // A failed poll commits a new error text without an event (seq stays), so
        // the per-target reads and the list must also show the same poll.
        let same_poll = targets.iter().all(|(id, one)| {
            let entry = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["id"] == **id);
            entry.is_some_and(|t| {
                t["last_fetch_at"] == one["last_fetch_at"]
                    && t["last_fetch_error"] == one["last_fetch_error"]
            })
        });
        (same_poll && last_seq(td).await == seq).then_some(Read { seq, targets, list })
    })
    .await
}

/// Waits for an event `kind` of `target` after `seq`.
async fn event_after(td: &TestDaemon, target: &str, kind: &str, seq: u64) {
    wait_for(&format!("{kind} of {target} after {seq}"), async || {
        let events = td.events(Some(target)).await;
        let found = events
            .iter()
            .find(|e| e["type"] == kind && e["seq"].as_u64() > Some(seq));
        found.map(|_| ())
    })
    .await
}

/// The page's copy of the state, fed the daemon's events.
struct Mirror<'a> {
    b: &'a Browser,
    td: &'a TestDaemon,
    ids: Vec<&'a str>,
    seq: u64,
}

impl Mirror<'_> {
    async fn load(&mut self) {
        let read = stable_read(self.td, &self.ids).await;
        let targets: Vec<_> = read.targets.values().collect();
        let snapshot = json!({"seq": read.seq, "targets": targets});
        assert_eq!(self.b.eval_async(LOAD, vec![snapshot]).await, json!(true));
        self.seq = read.seq;
    }

    /// Feeds the events committed since the last step through the page's reducer
    /// and compares the state it reaches with the server's.
    async fn step(&mut self, what: &str) {
        let Read {
            seq,
            targets: fresh,
            list,
        } = stable_read(self.td, &self.ids).await;
        let (_, body) = self
            .td
            .get(&format!("/api/events?since={}&limit=10000", self.seq))
            .await;
        let events: Vec<Value> = (body["events"].as_array().into_iter().flatten())
            .filter(|e| e["seq"].as_u64() <= Some(seq))
            .cloned()
            .collect();
        assert!(!events.is_empty(), "{what}: no event to apply");
        let args = vec![json!(events), json!(fresh), list];
        let page = self.b.eval(APPLY, args).await;
        let refetch: Vec<&str> = (page["refetch"].as_array().into_iter().flatten())
            .filter_map(|v| v.as_str())
            .collect();
        for (id, server) in &fresh {
            let whole = !refetch.contains(&id.as_str());
            let theirs = rules_view(&page["state"][id], whole);
            let ours = rules_view(server, whole);
            assert_eq!(
                theirs, ours,
                "{what}: the page and the server disagree on {id}; events: {events:#?}"
            );
        }
        assert_eq!(page["seq"], json!(seq), "{what}");
        self.seq = seq;
    }
}

async fn steady_state() -> (AgentSim, EurekaSim, TestDaemon) {
    let sim = AgentSim::start(local(), vec![backend("a")], vec![])
        .await
        .expect("agent sim");
    let main = EurekaSim::start(local(), instances("foo", &["h1", "h2"]))
        .await
        .expect("eureka sim");
    let mut config = config();
    let mut h = haproxy("fdmz01", &sim.url(), &["a"]);
    h.policy = short_open_policy();
    config.haproxy.push(h);
    config
        .eureka
        .push(eureka("main", EurekaSourceKind::Eureka, &main.url()));
    let td = start_daemon(config).await;
    td.wait_success(&hid("a")).await;
    td.wait_success(MAIN).await;
    (sim, main, td)
}

#[actix_web::test]
async fn the_page_applies_events_with_the_servers_rules() {
    let (sim, main, td) = steady_state().await;
    let b = Browser::open_dashboard(&td.base_url).await;
    let a = hid("a");
    let mut m = Mirror {
        b: &b,
        td: &td,
        ids: vec![a.as_str(), MAIN],
        seq: 0,
    };
    m.load().await;

    sim.set_server_status("a", "app1", "DOWN");
    event_after(&td, &a, "server_state_changed", m.seq).await;
    m.step("a server goes down").await;

    let fault = Fault::Envelope {
        status_code: 502,
        error: "haproxy command failed".into(),
    };
    sim.set_backend_fault("a", Some(fault));
    event_after(&td, &a, "fetch_failed", m.seq).await;
    m.step("the backend cannot be read: no data").await;
    event_after(&td, &a, "circuit_opened", m.seq).await;
    m.step("the circuit opens").await;

    sim.set_backend_fault("a", None);
    sim.set_server_status("a", "app1", "UP");
    event_after(&td, &a, "circuit_closed", m.seq).await;
    m.step("the backend recovers").await;

    let gone = instance_id(&td, "h2").await;
    main.remove_instance(&gone);
    event_after(&td, MAIN, "instance_removed", m.seq).await;
    m.step("an instance is removed").await;

    main.stop().await;
    event_after(&td, MAIN, "fetch_failed", m.seq).await;
    m.step("the Eureka server cannot be read (one instance removed)")
        .await;
    main.resume().await.expect("resume");
    event_after(&td, MAIN, "fetch_recovered", m.seq).await;
    m.step("the Eureka server recovers").await;

    main.add_instance(SimInstance::up("foo", "h2", "10.1.0.1", 8080));
    event_after(&td, MAIN, "instance_added", m.seq).await;
    m.step("the instance returns").await;
    main.set_instance_status(&gone, "DOWN");
    event_after(&td, MAIN, "instance_state_changed", m.seq).await;
    m.step("an instance goes down").await;
    b.close().await;
}

/// The id of the instance of `eureka/main` on `host`.
async fn instance_id(td: &TestDaemon, host: &str) -> String {
    let t = td.target(MAIN).await;
    let all = t["instances"].as_array().cloned().unwrap_or_default();
    let found = all.iter().find(|i| i["host_name"] == host);
    let id = found.and_then(|i| i["instance_id"].as_str());
    id.unwrap_or_else(|| panic!("no instance on {host}: {t:#}"))
        .to_string()
}
