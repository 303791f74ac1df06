//! `/ws` connection limits: the `Origin` check (403, nothing else affected), the
//! 16 KiB limit on client frames and messages (close 1009), and the close 1001 that
//! every client gets when the daemon shuts down.

use futures_util::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
use tokio_tungstenite::tungstenite::{self, Bytes, Message};

use super::*;

const ALLOWED: &str = "http://dashboard.example:8080";

/// The HTTP status of a refused handshake.
fn refused_with(result: Result<Ws, tungstenite::Error>) -> (u16, Value) {
    match result {
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp.body().clone().unwrap_or_default();
            (
                resp.status().as_u16(),
                serde_json::from_slice(&body).unwrap_or(Value::Null),
            )
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

/// A client after its snapshot, and the snapshot's seq.
async fn watching(td: &TestDaemon) -> (Ws, u64) {
    let mut ws = connect(td.daemon.addr, "").await;
    let snap = next_json(&mut ws).await;
    assert_eq!(snap["type"], "snapshot", "{snap}");
    (ws, snap["seq"].as_u64().expect("seq"))
}

/// Flips `app1` of backend `a` to `status` and reads the change on `ws`.
async fn sees_flip(sim: &AgentSim, ws: &mut Ws, after: u64, status: &str) -> u64 {
    sim.set_server_status("a", "app1", status);
    let got = events_until_match(ws, |e| is_change(e, "a", "app1", &status.to_lowercase())).await;
    assert_contiguous(&got, after);
    seq(got.last().expect("event"))
}

/// The close code the client reads next (skipping nothing but pings).
async fn close_code(ws: &mut Ws) -> Option<u16> {
    match recv(ws).await {
        Got::Closed(code, why) => {
            eprintln!("closed with {code:?}: {why}");
            code
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[actix_web::test]
async fn a_foreign_origin_is_refused_and_an_allowed_one_connects() {
    let mut config = config();
    config.server.allowed_origins = vec![ALLOWED.to_string()];
    let (sim, td) = agent_daemon(&["a"], config).await;
    let (mut other, start) = watching(&td).await;
    let addr = td.daemon.addr;
    for origin in [
        "http://evil.example",
        "http://dashboard.example:8081",
        &format!("http://{addr}"),
    ] {
        let opts = Opts {
            origin: Some(origin),
            ..Opts::default()
        };
        let (status, body) = refused_with(try_connect(addr, "", opts).await);
        assert_eq!(status, 403, "origin {origin}: {body}");
        assert_eq!(body["error"]["code"], "origin_not_allowed", "{body}");
    }
    let opts = Opts {
        origin: Some(ALLOWED),
        ..Opts::default()
    };
    let mut allowed = try_connect(addr, "", opts)
        .await
        .expect("an allowed origin connects");
    assert_eq!(next_json(&mut allowed).await["type"], "snapshot");
    let last = sees_flip(&sim, &mut other, start, "DOWN").await;
    let got = events_until(&mut allowed, last).await;
    assert_eq!(seq(&got[0]), start + 1, "{got:#?}");
}

#[actix_web::test]
async fn without_allowed_origins_only_the_daemons_own_origin_connects() {
    let (_sim, td) = agent_daemon(&["a"], config()).await;
    let addr = td.daemon.addr;
    let own = format!("http://{addr}");
    let mut ws = try_connect(
        addr,
        "",
        Opts {
            origin: Some(&own),
            ..Opts::default()
        },
    )
    .await
    .expect("own origin");
    assert_eq!(next_json(&mut ws).await["type"], "snapshot");
    let opts = Opts {
        origin: Some("http://evil.example"),
        ..Opts::default()
    };
    assert_eq!(refused_with(try_connect(addr, "", opts).await).0, 403);
}

#[actix_web::test]
async fn an_oversized_frame_closes_only_that_client_with_1009() {
    let (sim, td) = agent_daemon(&["a"], config()).await;
    let (mut other, mut last) = watching(&td).await;
    let (mut big, _) = watching(&td).await;
    big.send(Message::text("x".repeat(17 * 1024)))
        .await
        .expect("send");
    assert_eq!(close_code(&mut big).await, Some(1009), "a 17 KiB frame");

    let (mut small, _) = watching(&td).await;
    small
        .send(Message::text("x".repeat(8 * 1024)))
        .await
        .expect("send");
    small
        .send(Message::Ping(Bytes::from_static(b"hi")))
        .await
        .expect("ping");
    for status in ["DOWN", "UP"] {
        last = sees_flip(&sim, &mut other, last, status).await;
    }
    let got = events_until(&mut small, last).await;
    assert!(
        got.iter().any(|e| is_change(e, "a", "app1", "up")),
        "{got:#?}"
    );
}

/// Pins: a message over 16 KiB sent in frames under 16 KiB each must close with
/// 1009 like one big frame (docs/websocket.md), not 1002.
#[actix_web::test]
async fn an_oversized_fragmented_message_closes_with_1009() {
    let (sim, td) = agent_daemon(&["a"], config()).await;
    let (mut other, start) = watching(&td).await;
    let (mut parts, _) = watching(&td).await;
    let piece = "y".repeat(10 * 1024);
    let frame = |op: OpCode, fin: bool| {
        let header = FrameHeader {
            is_final: fin,
            opcode: op,
            ..FrameHeader::default()
        };
        Message::Frame(Frame::from_payload(header, Bytes::from(piece.clone())))
    };
    parts
        .send(frame(OpCode::Data(Data::Text), false))
        .await
        .expect("first fragment");
    parts
        .send(frame(OpCode::Data(Data::Continue), true))
        .await
        .expect("last fragment");
    let code = close_code(&mut parts).await;
    sees_flip(&sim, &mut other, start, "DOWN").await;
    assert_eq!(code, Some(1009), "a 20 KiB message in two 10 KiB frames");
}

#[actix_web::test]
async fn shutdown_closes_every_client_with_1001() {
    let (sim, td) = agent_daemon(&["a"], config()).await;
    let (mut one, start) = watching(&td).await;
    let mut two = connect(td.daemon.addr, &format!("?since={start}")).await;
    sees_flip(&sim, &mut one, start, "DOWN").await;
    let got = events_until(&mut two, start + 1).await;
    assert_eq!(got.len(), 1);
    td.daemon.shutdown().await;
    for ws in [&mut one, &mut two] {
        assert_eq!(close_code(ws).await, Some(1001));
    }
}
