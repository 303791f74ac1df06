//! The `hello` of every connection carries the daemon's `instance_id` (kept in its
//! storage file across restarts: `ha::tests`); a `since` given with another
//! instance's id gets a reset and a snapshot instead of a replay of unrelated events.

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use watchpost::daemon::Daemon;
use watchpost::model::{EventData, EventDraft, NoData};

use crate::common::{config, local};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(addr: std::net::SocketAddr, query: &str) -> (Value, Ws) {
    let url = format!("ws://{addr}/ws{query}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let hello = next(&mut ws).await;
    (hello, ws)
}

async fn next(ws: &mut Ws) -> Value {
    let wait = crate::common::DEADLINE;
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).unwrap(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no message: {other:?}"),
        }
    }
}

async fn first_two(addr: std::net::SocketAddr, query: &str) -> (Value, Value) {
    let (hello, mut ws) = open(addr, query).await;
    (hello, next(&mut ws).await)
}

#[actix_web::test]
async fn hello_names_the_instance_and_another_instances_since_is_reset() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.server.listen = local();
    c.storage.path = dir.path().join("w.redb");
    let d = Daemon::start(c).await.unwrap();
    let (hello, snap) = first_two(d.addr, "").await;
    assert_eq!(hello["type"], "hello");
    let id = hello["instance_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "{hello}");
    assert_eq!(snap["type"], "snapshot");
    let (again, _) = first_two(d.addr, "").await;
    assert_eq!(again["instance_id"], id.as_str(), "one id per daemon");
    let seq = again["seq"].as_u64().unwrap();
    let (_, mut same) = open(d.addr, &format!("?since={seq}&instance={id}")).await;
    let draft = EventDraft {
        target: "notify/x".into(),
        data: EventData::PollingEnabled(NoData {}),
    };
    d.status.record(vec![draft]).await.unwrap();
    let event = next(&mut same).await;
    assert_eq!(event["seq"], seq + 1, "the same instance resumes: {event}");
    let other = "0f0e0d0c-0b0a-4908-8706-050403020100";
    let (_, reset) = first_two(d.addr, &format!("?since={seq}&instance={other}")).await;
    assert_eq!(reset["type"], "reset", "{reset}");
    assert_eq!(reset["reason"], "since is from another watchpost instance");
    d.shutdown().await;
}
