//! Stopping and resuming the simulators on the same port, and the demo fleet.

use super::*;
use crate::sim::demo::DemoSources;
use crate::sim::{AgentSim, EurekaSim, Fault};

async fn refused(url: &str) -> bool {
    match client().get(url).send().await {
        Ok(_) => false,
        Err(e) => e.is_connect(),
    }
}

#[actix_web::test]
async fn agent_stops_refusing_and_resumes_on_the_same_port() {
    let sim = AgentSim::start(local(), backends(), instances())
        .await
        .unwrap();
    let url = format!("{}/api/v1/haproxy/backends", sim.url());
    let addr = sim.addr();
    assert_eq!(get_json(&url).await.0, 200);
    sim.stop().await;
    assert!(refused(&url).await);
    sim.stop().await;
    sim.resume().await.unwrap();
    sim.resume().await.unwrap();
    assert_eq!(sim.addr(), addr);
    assert_eq!(get_json(&url).await.0, 200);
    assert_eq!(sim.requests(), 2);
}

#[actix_web::test]
async fn eureka_stops_refusing_and_resumes_on_the_same_port() {
    let sim = EurekaSim::start(local(), instances()).await.unwrap();
    let url = format!("{}/apps", sim.url());
    assert!(url.starts_with(&format!("http://127.0.0.1:{}/eureka", sim.addr().port())));
    sim.stop().await;
    assert!(refused(&url).await);
    sim.set_instance_status("foo-1.local:foo:8080", "DOWN");
    sim.resume().await.unwrap();
    let (status, _, body) = get_text(&url, Some("application/json")).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"apps__hashcode\":\"DOWN_1_UP_2_\""));
}

#[actix_web::test]
async fn stopping_drops_hanging_requests() {
    let sim = EurekaSim::start(local(), instances()).await.unwrap();
    sim.set_fault(Some(Fault::Hang));
    let pending = background(client().get(format!("{}/apps", sim.url())).send());
    until("the request to hang", || sim.requests() == 1).await;
    sim.stop().await;
    let outcome = pending.await.unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
    sim.set_fault(None);
    sim.resume().await.unwrap();
    assert_eq!(get_text(&format!("{}/apps", sim.url()), None).await.0, 200);
}

#[actix_web::test]
async fn fixed_port_is_reused_after_a_restart() {
    let first = AgentSim::start(local(), backends(), Vec::new())
        .await
        .unwrap();
    let addr = first.addr();
    first.stop().await;
    drop(first);
    let second = AgentSim::start(addr, Vec::new(), Vec::new()).await.unwrap();
    let (status, body) = get_json(&format!("{}/api/v1/haproxy/backends", second.url())).await;
    assert_eq!((status, body["data"]["count"].as_u64()), (200, Some(0)));
}

#[actix_web::test]
async fn demo_fleet_starts_healthy() {
    let demo = DemoSources::start().await.unwrap();
    let (status, body) = get_json(&format!("{}/api/v1/haproxy/backends", demo.agent.url())).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["backends"],
        serde_json::json!(["jurws", "billing", "auth", "static"])
    );
    let (_, body) = get_json(&format!("{}/api/v1/eureka/apps", demo.agent.url())).await;
    assert_eq!(body["data"]["applications"].as_array().unwrap().len(), 4);
    let (status, _, body) = get_text(
        &format!("{}/apps", demo.eureka.url()),
        Some("application/json"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("\"apps__hashcode\":\"UP_8_\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_a_plain_tokio_runtime() {
    let sim = AgentSim::start(local(), backends(), Vec::new())
        .await
        .unwrap();
    let url = format!("{}/api/v1/haproxy/backends", sim.url());
    assert_eq!(get_json(&url).await.0, 200);
    sim.stop().await;
    assert!(refused(&url).await);
    sim.resume().await.unwrap();
    assert_eq!(get_json(&url).await.0, 200);
}
