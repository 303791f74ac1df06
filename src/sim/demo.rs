//! The sources of `watchpost demo`: a small simulated fleet (an FAgent with four
//! backends and two Eureka apps, a Eureka server with three apps) and a one-minute
//! schedule in which every kind of failure happens and recovers.
//!
//! The schedule is written for a daemon polling every 2 s with a failure threshold of
//! 3: each state lasts long enough to be seen, and failures that should open a
//! circuit breaker last about 20 s.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::{AgentSim, EurekaSim, Fault, SimBackend, SimInstance, SimServer};

/// The simulated FAgent and Eureka server of the demo.
pub struct DemoSources {
    /// FAgent with the backends `jurws`, `billing`, `auth`, `static` (instance
    /// `default`) and the Eureka apps `JURWS-API`, `BILLING-SVC`.
    pub agent: AgentSim,
    /// Eureka with the apps `ORDERS`, `PAYMENTS`, `CATALOG`.
    pub eureka: EurekaSim,
}

/// How long one round of the schedule takes.
const CYCLE: Duration = Duration::from_secs(60);

/// A failure the schedule injects into a backend's servers endpoint.
#[derive(Clone, Copy)]
enum DemoFault {
    Unavailable,
    CommandFailed,
    Garbage,
}

/// One change the schedule makes.
#[derive(Clone, Copy)]
enum Act {
    /// Backend, server, new HAProxy status.
    Server(&'static str, &'static str, &'static str),
    /// Backend, fault on its servers endpoint (`None` clears it).
    BackendFault(&'static str, Option<DemoFault>),
    /// Instance id of the agent's Eureka part, new status.
    AgentInstance(&'static str, &'static str),
    /// Instance id on the Eureka server, new status.
    Instance(&'static str, &'static str),
    RemoveInstance(&'static str),
    /// Registers the instance again, `UP`.
    RestoreInstance(&'static str),
    /// App served without ids, or with them again.
    WithoutIds(&'static str, bool),
    EurekaStop,
    EurekaResume,
}

/// One entry of the schedule: seconds into the cycle, step name, what a newcomer sees.
struct Step(u64, &'static str, &'static str, Act);

const APP2: &str = "app2";
const APP3: &str = "app3";
const PAYMENTS_1: &str = "payments-1.demo.local:payments:8080";
const JURWS_API_2: &str = "jurws-api-2.demo.local:jurws-api:8081";

#[rustfmt::skip]
const SCHEDULE: &[Step] = &[
    Step(0, "server-failing", "jurws/app2 checks fail (UP 2/3)", Act::Server("jurws", APP2, "UP 2/3")),
    Step(2, "server-failing", "jurws/app2 checks fail (UP 1/3)", Act::Server("jurws", APP2, "UP 1/3")),
    Step(4, "server-down", "jurws/app2 is DOWN", Act::Server("jurws", APP2, "DOWN")),
    Step(4, "eureka-stop", "Eureka server stops: connections refused for 20 s", Act::EurekaStop),
    Step(6, "backend-503", "billing answers HTTP 503 for 20 s: its circuit opens", Act::BackendFault("billing", Some(DemoFault::Unavailable))),
    Step(8, "backend-envelope-502", "static answers success:false 502", Act::BackendFault("static", Some(DemoFault::CommandFailed))),
    Step(12, "agent-instance-down", "FAgent Eureka: jurws-api-2 is DOWN", Act::AgentInstance(JURWS_API_2, "DOWN")),
    Step(14, "server-recovering", "jurws/app2 checks pass (DOWN 1/3)", Act::Server("jurws", APP2, "DOWN 1/3")),
    Step(16, "server-recovering", "jurws/app2 checks pass (DOWN 2/3)", Act::Server("jurws", APP2, "DOWN 2/3")),
    Step(18, "server-up", "jurws/app2 is UP again", Act::Server("jurws", APP2, "UP")),
    Step(20, "backend-envelope-cleared", "static answers normally again", Act::BackendFault("static", None)),
    Step(22, "server-drain", "auth/app3 is set to DRAIN", Act::Server("auth", APP3, "DRAIN")),
    Step(22, "agent-instance-up", "FAgent Eureka: jurws-api-2 is UP again", Act::AgentInstance(JURWS_API_2, "UP")),
    Step(24, "eureka-resume", "Eureka server is back on the same port", Act::EurekaResume),
    Step(26, "backend-recovered", "billing answers normally again: its circuit closes", Act::BackendFault("billing", None)),
    Step(28, "instance-down", "Eureka: payments-1 is DOWN", Act::Instance(PAYMENTS_1, "DOWN")),
    Step(30, "server-maint", "auth/app3 is set to MAINT", Act::Server("auth", APP3, "MAINT")),
    Step(34, "instance-out-of-service", "Eureka: payments-1 is OUT_OF_SERVICE", Act::Instance(PAYMENTS_1, "OUT_OF_SERVICE")),
    Step(38, "server-ready", "auth/app3 is UP again", Act::Server("auth", APP3, "UP")),
    Step(40, "instance-removed", "Eureka: payments-1 is removed", Act::RemoveInstance(PAYMENTS_1)),
    Step(42, "backend-garbage", "static answers an HTML page instead of JSON", Act::BackendFault("static", Some(DemoFault::Garbage))),
    Step(46, "instance-returned", "Eureka: payments-1 registers again, UP", Act::RestoreInstance(PAYMENTS_1)),
    Step(48, "backend-garbage-cleared", "static answers normally again", Act::BackendFault("static", None)),
    Step(50, "app-without-ids", "Eureka: CATALOG is served without instance ids", Act::WithoutIds("catalog", true)),
    Step(56, "app-ids-back", "Eureka: CATALOG is served normally again", Act::WithoutIds("catalog", false)),
];

impl DemoFault {
    fn fault(self) -> Fault {
        match self {
            DemoFault::Unavailable => Fault::Status(503),
            DemoFault::CommandFailed => Fault::Envelope {
                status_code: 502,
                error: "HAProxy command failed: show stat static 4 -1: timeout".to_string(),
            },
            DemoFault::Garbage => Fault::Garbage,
        }
    }
}

fn backend(name: &str, net: u8, servers: u8) -> SimBackend {
    let servers = (1..=servers)
        .map(|n| SimServer::up(&format!("app{n}"), &format!("10.0.0.{}:8080", net * 10 + n)))
        .collect();
    SimBackend {
        name: name.to_string(),
        servers,
    }
}

/// The FAgent's HAProxy backends.
fn demo_backends() -> Vec<SimBackend> {
    vec![
        backend("jurws", 1, 3),
        backend("billing", 2, 2),
        backend("auth", 3, 3),
        backend("static", 4, 2),
    ]
}

fn instances(app: &str, net: &str, port: u16, count: u8) -> Vec<SimInstance> {
    let host = |n: u8| format!("{app}-{n}.demo.local");
    let one = |n: u8| SimInstance::up(app, &host(n), &format!("{net}{n}"), port);
    (1..=count).map(one).collect()
}

/// The Eureka part of the FAgent.
fn agent_instances() -> Vec<SimInstance> {
    let mut all = instances("jurws-api", "10.0.0.1", 8081, 2);
    all.extend(instances("billing-svc", "10.0.0.2", 8081, 2));
    all
}

/// The Eureka server's registry.
fn eureka_instances() -> Vec<SimInstance> {
    let mut all = instances("orders", "10.0.1.1", 8080, 3);
    all.extend(instances("payments", "10.0.1.2", 8080, 3));
    all.extend(instances("catalog", "10.0.1.3", 8080, 2));
    all
}

impl DemoSources {
    /// Starts both servers on ephemeral ports of `127.0.0.1`, everything healthy.
    pub async fn start() -> io::Result<DemoSources> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let agent = AgentSim::start(any, demo_backends(), agent_instances()).await?;
        let eureka = EurekaSim::start(any, eureka_instances()).await?;
        Ok(DemoSources { agent, eureka })
    }

    /// Runs the schedule forever, one round a minute, logging every step.
    pub async fn run_schedule(&self) {
        let mut cycle_start = Instant::now();
        loop {
            for Step(at, name, what, act) in SCHEDULE {
                sleep_until(cycle_start + Duration::from_secs(*at)).await;
                tracing::info!(step = *name, "demo: {what}");
                self.apply(*act).await;
            }
            cycle_start += CYCLE;
            sleep_until(cycle_start).await;
        }
    }

    async fn apply(&self, act: Act) {
        match act {
            Act::Server(b, s, status) => self.agent.set_server_status(b, s, status),
            Act::BackendFault(b, f) => self.agent.set_backend_fault(b, f.map(DemoFault::fault)),
            Act::AgentInstance(id, status) => self.agent.set_instance_status(id, status),
            Act::Instance(id, status) => self.eureka.set_instance_status(id, status),
            Act::RemoveInstance(id) => self.eureka.remove_instance(id),
            Act::RestoreInstance(id) => {
                let found = eureka_instances().into_iter().find(|i| i.instance_id == id);
                if let Some(instance) = found {
                    self.eureka.add_instance(instance);
                }
            }
            Act::WithoutIds(app, on) => self.eureka.set_app_without_ids(app, on),
            Act::EurekaStop => self.eureka.stop().await,
            Act::EurekaResume => {
                if let Err(e) = self.eureka.resume().await {
                    tracing::warn!(error = %e, "demo: the Eureka server could not listen again");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_ordered_within_one_cycle() {
        let times: Vec<u64> = SCHEDULE.iter().map(|s| s.0).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(times.iter().all(|t| Duration::from_secs(*t) < CYCLE));
    }

    #[test]
    fn scheduled_ids_exist_in_the_fleet() {
        let agent = agent_instances();
        let eureka = eureka_instances();
        assert!(agent.iter().any(|i| i.instance_id == JURWS_API_2));
        assert!(eureka.iter().any(|i| i.instance_id == PAYMENTS_1));
        assert_eq!(eureka.len(), 8);
        let backends = demo_backends();
        for Step(_, name, _, act) in SCHEDULE {
            let (b, server) = match *act {
                Act::Server(b, s, _) => (b, Some(s)),
                Act::BackendFault(b, _) => (b, None),
                _ => continue,
            };
            let backend = backends.iter().find(|x| x.name == b).unwrap();
            let known = |s: &str| backend.servers.iter().any(|x| x.name == s);
            assert!(server.is_none_or(known), "{name}");
        }
    }

    #[actix_web::test]
    async fn one_cycle_of_steps_ends_where_it_started() {
        let demo = DemoSources::start().await.unwrap();
        let before = demo.agent.server("auth", APP3);
        for Step(_, _, _, act) in SCHEDULE {
            demo.apply(*act).await;
        }
        assert_eq!(demo.agent.server("auth", APP3), before);
        assert_eq!(demo.agent.server("jurws", APP2).unwrap().status, "UP");
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("{}/apps", demo.eureka.url());
        let body = client
            .get(url)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let body = body.text().await.unwrap();
        assert!(body.contains("\"apps__hashcode\":\"UP_8_\""), "{body}");
        let url = format!(
            "{}/api/v1/haproxy/backends/static/servers",
            demo.agent.url()
        );
        let body = client.get(url).send().await.unwrap().text().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["success"], true);
    }
}
