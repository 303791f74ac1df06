//! Answers past `max_servers` / `max_instances`: the fetch fails as too large, and
//! a huge answer never stops the other targets from being polled and recorded.

use std::sync::Arc;
use std::time::Duration;

use watchpost::config::Limits;
use watchpost::sim::{AgentSim, EurekaSim, SimBackend, SimInstance, SimServer};
use watchpost::sources::FetchErrorKind;
use watchpost::sources::client::{Endpoint, SourceSpec};
use watchpost::sources::eureka::delta::DeltaState;

use crate::common::*;

/// The servers of the huge backend: more than the default `max_servers` (10,000).
const HUGE: usize = 300_000;

/// A debug build on a loaded machine takes a while to build, serve and read the
/// 300,000 servers; a bound, not a measure.
const HUGE_DEADLINE: Duration = Duration::from_secs(240);

fn huge_backend() -> SimBackend {
    let servers = (0..HUGE)
        .map(|i| SimServer::up(&format!("srv{i}"), "10.9.0.1:80"))
        .collect();
    SimBackend {
        name: "huge".into(),
        servers,
    }
}

fn limits(max_servers: usize, max_instances: usize) -> Limits {
    Limits {
        max_servers,
        max_instances,
    }
}

#[actix_web::test]
async fn a_backend_past_max_servers_fails_as_too_large() {
    let sim = AgentSim::start(
        local(),
        vec![backend("web")],
        instances("APP", &["h1", "h2"]),
    )
    .await
    .expect("agent sim");
    let agent = Endpoint::new("agent", "a", sim.url().parse().unwrap());
    let servers = SourceSpec::HaproxyAgent {
        agent: agent.clone().into(),
        instance: None,
        backend: "web".into(),
    };
    let client = client();
    let timeout = Duration::from_secs(10);
    let err = servers
        .fetch_within(&client, timeout, limits(1, 10))
        .await
        .expect_err("2 servers are more than 1");
    assert_eq!(err.kind, FetchErrorKind::TooLarge, "{err}");
    assert!(err.message.contains("too large"), "{err}");
    assert!(err.message.contains("max_servers"), "{err}");
    let within = servers.fetch_within(&client, timeout, limits(2, 10)).await;
    assert!(within.is_ok(), "{within:?}");
    let apps = SourceSpec::EurekaAgent {
        agent: agent.into(),
    };
    let err = apps
        .fetch_within(&client, timeout, limits(10, 1))
        .await
        .expect_err("2 instances are more than 1");
    assert_eq!(err.kind, FetchErrorKind::TooLarge, "{err}");
    assert!(err.message.contains("max_instances"), "{err}");
}

/// A native Eureka registry past `max_instances` fails as too large, in JSON and in
/// XML (counted while it is read); a registry at the limit is read whole.
#[actix_web::test]
async fn a_registry_past_max_instances_fails_as_too_large() {
    let instances = (1..=3u16)
        .map(|i| SimInstance::up("APP", &format!("h{i}"), "10.0.0.1", 8080 + i))
        .collect();
    let sim = EurekaSim::start(local(), instances)
        .await
        .expect("eureka sim");
    let spec = SourceSpec::EurekaNative {
        server: Endpoint::new("eureka", "e", sim.url().parse().unwrap()).into(),
        username: None,
        password: None,
        state: Arc::new(DeltaState::new(false)),
    };
    let client = client();
    let timeout = Duration::from_secs(10);
    for xml in [false, true] {
        sim.set_xml_only(xml);
        let err = spec
            .fetch_within(&client, timeout, limits(10, 2))
            .await
            .expect_err("3 instances are more than 2");
        assert_eq!(err.kind, FetchErrorKind::TooLarge, "xml {xml}: {err}");
        assert!(err.message.contains("max_instances"), "xml {xml}: {err}");
        let within = spec.fetch_within(&client, timeout, limits(10, 3)).await;
        assert!(within.is_ok(), "xml {xml}: {within:?}");
    }
}

#[actix_web::test]
async fn a_huge_backend_fails_while_a_control_target_keeps_committing() {
    // Two agents: the one serving the huge answer is busy building it for a while.
    let huge = AgentSim::start(local(), vec![huge_backend()], vec![]);
    let huge = huge.await.expect("agent sim");
    let sim = AgentSim::start(local(), vec![backend("web")], vec![]);
    let sim = sim.await.expect("agent sim");
    let mut config = config();
    let mut big = haproxy("big", &huge.url(), &["huge"]);
    // Room for a debug build to serve and read 300,000 servers: the answer must
    // be refused for its size, not time out.
    big.policy.timeout = Duration::from_secs(50);
    big.policy.interval = Duration::from_secs(60);
    config.haproxy.push(big);
    config.haproxy.push(haproxy("fdmz01", &sim.url(), &["web"]));
    let td = start_daemon(config).await;
    let (big, control) = ("haproxy/big/huge", hid("web"));
    let mut control_seen = Vec::new();
    let started = std::time::Instant::now();
    let failed = try_wait_for(HUGE_DEADLINE, async || {
        let c = td.target(&control).await;
        let at = c["last_fetch_at"].clone();
        if fetch_is(&c, "success") && control_seen.last() != Some(&at) {
            control_seen.push(at);
        }
        let t = td.target(big).await;
        fetch_is(&t, "failed").then_some(t)
    })
    .await
    .expect("the huge backend fails within the deadline");
    eprintln!("huge backend refused after {:?}", started.elapsed());
    let error = td.backend(big).await["last_fetch_error"].to_string();
    assert!(error.contains("too large"), "{error} / {failed:#}");
    assert!(error.contains("10000 servers"), "{error}");
    // Serving and reading 300,000 servers takes many of the control's intervals;
    // had it run on the pollers' thread, the control would not have moved at all.
    assert!(
        control_seen.len() >= 2,
        "successful control polls seen meanwhile: {control_seen:?}"
    );
    td.wait_polls(&control, 3).await;
    let t = td.target(&control).await;
    assert!(fetch_is(&t, "success"), "{t:#}");
}
