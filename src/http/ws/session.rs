//! One WebSocket client: the opening (snapshot, or replay of stored events after
//! `since`, or a reset), then live events from its own bounded queue, pings, and the
//! closing (1001 on shutdown, 1013 when it fell behind, 1009 for an oversized frame).

use std::sync::Arc;

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use serde_json::json;
use tokio::time::{Instant, interval, timeout};

use super::{CLIENT_TIMEOUT, PING_EVERY, SEND_TIMEOUT};
use crate::actors::hub::{Feed, Frame, Subscription};
use crate::actors::status::{Snapshot, StatusHandle};
use crate::http::views;

/// Stored events read per page during a replay.
const REPLAY_PAGE: usize = 1000;

/// Why a session ends.
enum End {
    /// The peer vanished: nothing more to send.
    Gone,
    /// The peer sent a close frame: answer it with the same code.
    Closed(Option<CloseReason>),
    /// The client fell behind: close 1013 so it resumes with `since`.
    TooSlow(u64),
    /// The daemon is stopping: close 1001.
    Shutdown,
    /// The event log cannot be read now: close 1011 so it resumes with `since`.
    Unavailable(u64),
    /// The client broke the protocol (e.g. an oversized frame).
    Protocol(CloseCode, String),
}

/// What a client asked for when it connected, and who answers.
pub struct Opening {
    /// Resume after this seq.
    pub since: Option<u64>,
    /// The instance that numbered `since`, if the client says.
    pub instance: Option<String>,
    /// This daemon's instance id.
    pub instance_id: Arc<str>,
}

/// Serves one client until it leaves or is cut off.
pub async fn run(
    ws: Session,
    stream: AggregatedMessageStream,
    sub: Subscription,
    opening: Opening,
    status: StatusHandle,
) {
    let mut ws = ws;
    let Subscription { snapshot, feed } = sub;
    let start = snapshot.seq;
    let opened = open(&mut ws, &snapshot, &opening, &status).await;
    // Sent: a session of days must not keep the states it began with.
    drop(snapshot);
    let end = match opened {
        Ok(()) => live(&mut ws, stream, feed, start).await,
        Err(e) => e,
    };
    let reason = match end {
        End::Gone => return,
        End::Closed(theirs) => {
            let code = theirs.map_or(CloseCode::Normal, |r| r.code);
            CloseReason {
                code,
                description: None,
            }
        }
        End::TooSlow(last) => {
            let msg = json!({"type": "reset", "reason": "client too slow", "resume_since": last});
            let _ = timeout(SEND_TIMEOUT, ws.text(msg.to_string())).await;
            CloseReason {
                code: CloseCode::Again,
                description: Some(format!("too slow; reconnect with since={last}")),
            }
        }
        End::Unavailable(last) => {
            let msg =
                json!({"type": "reset", "reason": "storage read failed", "resume_since": last});
            let _ = timeout(SEND_TIMEOUT, ws.text(msg.to_string())).await;
            CloseReason {
                code: CloseCode::Error,
                description: Some(format!("event log unreadable; reconnect with since={last}")),
            }
        }
        End::Shutdown => CloseReason {
            code: CloseCode::Away,
            description: Some("server shutting down".into()),
        },
        End::Protocol(code, why) => CloseReason {
            code,
            description: Some(why),
        },
    };
    let _ = timeout(SEND_TIMEOUT, ws.close(Some(reason))).await;
}

async fn send(
    ws: &mut Session,
    text: impl Into<bytestring::ByteString>,
    last: u64,
) -> Result<(), End> {
    match timeout(SEND_TIMEOUT, ws.text(text)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Gone),
        Err(_) => Err(End::TooSlow(last)),
    }
}

fn snapshot_json(snap: &Snapshot) -> String {
    let targets: Vec<_> = snap
        .targets
        .values()
        .map(|t| {
            let mut v = views::target_detail(t);
            v.target.stale = Some(!snap.storage_ok);
            v
        })
        .collect();
    json!({"type": "snapshot", "seq": snap.seq, "targets": targets}).to_string()
}

/// Sends the snapshot, or replays the stored events in `(since, snapshot.seq]`, or a
/// reset and the snapshot when those events are no longer all stored.
async fn open(
    ws: &mut Session,
    snap: &Snapshot,
    opening: &Opening,
    status: &StatusHandle,
) -> Result<(), End> {
    let hello = json!({"type": "hello", "instance_id": &*opening.instance_id, "seq": snap.seq});
    send(ws, hello.to_string(), opening.since.unwrap_or(snap.seq)).await?;
    let Some(since) = opening.since else {
        return send(ws, snapshot_json(snap), snap.seq).await;
    };
    if let Some(other) = opening
        .instance
        .as_deref()
        .filter(|i| **i != *opening.instance_id)
    {
        let reset = json!({"type": "reset", "reason": "since is from another watchpost instance",
                           "instance": other, "instance_id": &*opening.instance_id, "seq": snap.seq});
        send(ws, reset.to_string(), since).await?;
        return send(ws, snapshot_json(snap), snap.seq).await;
    }
    if since == snap.seq {
        return Ok(());
    }
    let store = status.store_arc();
    let oldest = tokio::task::spawn_blocking(move || store.oldest_seq())
        .await
        .map_err(|_| End::Unavailable(since))?
        .map_err(|_| End::Unavailable(since))?;
    let complete = since < snap.seq && oldest.is_some_and(|o| o <= since + 1);
    if !complete {
        let why = if since > snap.seq {
            "since is ahead of the event log"
        } else {
            "since is older than the retention"
        };
        let reset = json!({"type": "reset", "reason": why, "oldest_seq": oldest, "seq": snap.seq});
        send(ws, reset.to_string(), since).await?;
        return send(ws, snapshot_json(snap), snap.seq).await;
    }
    replay(ws, since, snap.seq, status).await
}

/// Replays the stored events in `(since, until]`, read off the HTTP workers; an
/// event that cannot be read arrives as a `gap` item.
async fn replay(
    ws: &mut Session,
    mut since: u64,
    until: u64,
    status: &StatusHandle,
) -> Result<(), End> {
    while since < until {
        let store = status.store_arc();
        let from = since;
        let read = tokio::task::spawn_blocking(move || store.events(from, REPLAY_PAGE, None));
        let page = match read.await {
            Ok(Ok(p)) if !p.is_empty() => p,
            _ => return Err(End::Unavailable(since)),
        };
        for item in page.into_iter().take_while(|i| i.last_seq() <= until) {
            let seq = item.last_seq();
            let text = serde_json::to_string(&item).map_err(|_| End::Unavailable(since))?;
            send(ws, text, since).await?;
            since = seq;
        }
        if since == from {
            break;
        }
    }
    Ok(())
}

async fn live(
    ws: &mut Session,
    mut stream: AggregatedMessageStream,
    mut sub: Feed,
    start: u64,
) -> End {
    let mut last = start;
    let mut seen = Instant::now();
    let mut ping = interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            frame = sub.rx.recv() => match frame {
                Some(first) => {
                    if let Err(end) = send_burst(ws, &mut sub, first, &mut last).await {
                        return end;
                    }
                }
                None if sub.state.overflowed() => return End::TooSlow(last),
                None => return End::Shutdown,
            },
            msg = stream.recv() => {
                seen = Instant::now();
                if let Some(end) = incoming(ws, msg).await {
                    return end;
                }
            }
            _ = ping.tick() => {
                let sent = timeout(SEND_TIMEOUT, ws.ping(b"")).await;
                match sent {
                    Ok(Err(_)) => return End::Gone,
                    // Silent, or not reading: cut off like any client that fell behind.
                    Err(_) => return End::TooSlow(last),
                    Ok(Ok(())) if seen.elapsed() > CLIENT_TIMEOUT => return End::TooSlow(last),
                    Ok(Ok(())) => {}
                }
            }
        }
    }
}

/// Frames sent in one go when a burst is already queued.
const BURST: usize = 256;

/// Sends `first` and whatever else is already queued (up to [`BURST`] frames) under
/// one send deadline: a storm of thousands of events costs one timer per burst, not
/// one per event, and each event still goes out as its own message.
async fn send_burst(
    ws: &mut Session,
    sub: &mut Feed,
    first: Arc<Frame>,
    last: &mut u64,
) -> Result<(), End> {
    let mut burst = Vec::with_capacity(1);
    burst.push(first);
    while burst.len() < BURST {
        match sub.rx.try_recv() {
            Ok(f) => burst.push(f),
            Err(_) => break,
        }
    }
    // Every frame taken off the queue frees its bytes, also one already covered by
    // the snapshot or the replay (seq <= last), which is skipped.
    sub.state.taken(burst.iter().map(|f| f.json.len()).sum());
    let sent = timeout(SEND_TIMEOUT, async {
        for f in &burst {
            if f.seq <= *last {
                continue;
            }
            ws.text(f.json.clone()).await.map_err(|_| End::Gone)?;
            *last = f.seq;
        }
        Ok(())
    })
    .await;
    // On a timeout, `last` is the last event that went out: the client resumes there.
    sent.unwrap_or(Err(End::TooSlow(*last)))
}

/// Handles one message from the client; `Some` ends the session.
async fn incoming(
    ws: &mut Session,
    msg: Option<Result<AggregatedMessage, actix_ws::ProtocolError>>,
) -> Option<End> {
    match read(msg) {
        Read::Nothing => None,
        Read::Pong(bytes) => match timeout(SEND_TIMEOUT, ws.pong(&bytes)).await {
            Ok(Ok(())) => None,
            _ => Some(End::Gone),
        },
        Read::Gone => Some(End::Gone),
        Read::Closed(reason) => Some(End::Closed(reason)),
        Read::Protocol(code, why) => Some(End::Protocol(code, why)),
    }
}

/// What the server makes of one message from a client. Text and binary messages
/// carry nothing the server reads: they are ignored.
#[derive(Debug)]
pub enum Read {
    /// Ignored: a text, binary or pong message.
    Nothing,
    /// A ping, to be answered with these bytes.
    Pong(actix_web::web::Bytes),
    /// The connection ended without a close frame.
    Gone,
    /// A close frame: the session ends with the same code.
    Closed(Option<CloseReason>),
    /// A protocol violation: the session is closed with this code.
    Protocol(CloseCode, String),
}

/// Reads one message of the client stream (pure: no answer is sent here).
pub fn read(msg: Option<Result<AggregatedMessage, actix_ws::ProtocolError>>) -> Read {
    match msg {
        None => Read::Gone,
        Some(Ok(AggregatedMessage::Close(reason))) => Read::Closed(reason),
        Some(Ok(AggregatedMessage::Ping(bytes))) => Read::Pong(bytes),
        Some(Ok(_)) => Read::Nothing,
        Some(Err(e)) if too_large(&e) => {
            Read::Protocol(CloseCode::Size, "message too large".into())
        }
        Some(Err(e)) => Read::Protocol(CloseCode::Protocol, e.to_string()),
    }
}

/// An oversized frame, or an oversized message sent in fragments (which actix-ws
/// reports as an I/O error).
fn too_large(e: &actix_ws::ProtocolError) -> bool {
    match e {
        actix_ws::ProtocolError::Overflow => true,
        actix_ws::ProtocolError::Io(io) => io.to_string().contains("maximum continuation size"),
        _ => false,
    }
}
