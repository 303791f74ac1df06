//! `GET /ws`: the live event stream (docs/websocket.md). The upgrade checks `Origin`, takes a
//! hub subscription (snapshot and queue under one lock) and hands the connection to
//! a session task of its own, so no client can slow another down.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::AggregatedMessageStream;
use serde::Deserialize;

use super::{ApiError, AppState};

mod session;

pub use session::Read;

/// Events queued for one client before it is cut off as too slow. The byte budget
/// ([`crate::actors::hub::QUEUE_BYTES`]) is the real bound; this count only has to
/// hold a storm: 10 % of 40,000 servers flipping in one round is about 6,000 events
/// (server changes, capacity changes, alerts).
pub const CLIENT_QUEUE: usize = 65_536;
/// Largest frame and message accepted from a client.
pub const MAX_FRAME: usize = 16 * 1024;
/// Interval of server pings.
pub const PING_EVERY: Duration = Duration::from_secs(10);
/// A client silent this long (no pong, no message) is dropped.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for one message to leave; a client that blocks longer is cut off.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws", web::get().to(upgrade));
}

/// The query of `/ws`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// Replay the stored events after this one instead of sending a snapshot.
    since: Option<u64>,
    /// The `instance_id` of the daemon that numbered `since` (from its hello).
    instance: Option<String>,
}

/// The live event stream: a WebSocket upgrade (docs/websocket.md).
#[utoipa::path(get, path = "/ws", tag = "events", params(WsQuery), responses(
    (status = 101, description = "Switching to the WebSocket protocol"),
    (status = 400, description = "Not a WebSocket handshake, or a bad `since`"),
    (status = 403, description = "`origin_not_allowed`", body = super::ErrorBody),
    (status = 503, description = "`shutting_down`", body = super::ErrorBody)))]
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    q: web::Query<WsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    check_origin(&req, &state)?;
    let Some(sub) = state.status.hub().subscribe(CLIENT_QUEUE) else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        )
        .into());
    };
    let (response, ws, stream) = handshake(&req, body)?;
    let status = state.status.clone();
    let opening = session::Opening {
        since: q.since,
        instance: q.instance.clone(),
        instance_id: state.instance_id.clone(),
    };
    actix_web::rt::spawn(session::run(ws, stream, sub, opening, status));
    Ok(response)
}

/// The handshake, and the client's messages as the server reads them: frames of at
/// most [`MAX_FRAME`] bytes, fragments joined into messages of at most [`MAX_FRAME`].
fn handshake(
    req: &HttpRequest,
    body: web::Payload,
) -> Result<(HttpResponse, actix_ws::Session, AggregatedMessageStream), actix_web::Error> {
    let (response, ws, stream) = actix_ws::handle(req, body)?;
    let stream = stream
        .max_frame_size(MAX_FRAME)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME);
    Ok((response, ws, stream))
}

/// What the server reads from a client that asks for `/ws?{query}` and then sends
/// `frames` (the bytes after the handshake): the query, then each message as a
/// session reads it, up to the one that ends the session. The code of a live
/// connection, without the network; the `ws_client` fuzz target feeds it.
pub async fn read_client(query: &str, frames: web::Bytes) -> Result<Vec<Read>, String> {
    use actix_web::FromRequest;
    let _query = web::Query::<WsQuery>::from_query(query).map_err(|e| e.to_string())?;
    let (req, mut payload) = actix_web::test::TestRequest::get()
        .uri("/ws")
        .insert_header(("upgrade", "websocket"))
        .insert_header(("connection", "upgrade"))
        .insert_header(("sec-websocket-version", "13"))
        .insert_header(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="))
        .set_payload(frames)
        .to_http_parts();
    let body = web::Payload::from_request(&req, &mut payload)
        .await
        .map_err(|e| e.to_string())?;
    let (_response, _session, mut stream) = handshake(&req, body).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    loop {
        let read = session::read(stream.recv().await);
        let end = !matches!(read, Read::Nothing | Read::Pong(_));
        out.push(read);
        if end {
            return Ok(out);
        }
    }
}

/// A browser's `Origin` must be listed in `[server] allowed_origins`, or, when the
/// list is empty, be the server's own origin. Clients that send no `Origin` (not
/// browsers) pass.
fn check_origin(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let origin = origin.trim_end_matches('/');
    let allowed = state.config.get().server.allowed_origins.clone();
    let ok = if allowed.is_empty() {
        let host = req.connection_info().host().to_string();
        origin
            .split_once("://")
            .is_some_and(|(_, h)| h.eq_ignore_ascii_case(&host))
    } else {
        allowed.iter().any(|a| a.eq_ignore_ascii_case(origin))
    };
    match ok {
        true => Ok(()),
        false => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            format!("origin {origin} is not allowed: add it to [server] allowed_origins"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use actix_ws::CloseCode;

    use super::{MAX_FRAME, Read, read_client};

    /// A client frame (masked, with a zero key): `FIN` set, `opcode`, `payload`.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(fin as u8) << 7 | opcode];
        match payload.len() {
            n @ 0..=125 => out.push(0x80 | n as u8),
            n => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(payload);
        out
    }

    async fn read(query: &str, frames: Vec<u8>) -> Vec<Read> {
        read_client(query, frames.into()).await.unwrap()
    }

    #[actix_web::test]
    async fn text_is_ignored_pings_are_answered_and_close_ends() {
        let mut bytes = frame(true, 1, br#"{"type":"subscribe"}"#);
        bytes.extend(frame(true, 9, b"hi"));
        bytes.extend(frame(true, 8, &1000u16.to_be_bytes()));
        let got = read("since=3&instance=abc", bytes).await;
        assert!(matches!(got[0], Read::Nothing), "{got:?}");
        assert!(
            matches!(&got[1], Read::Pong(b) if &b[..] == b"hi"),
            "{got:?}"
        );
        assert!(
            matches!(&got[2], Read::Closed(Some(r)) if r.code == CloseCode::Normal),
            "{got:?}"
        );
        assert_eq!(got.len(), 3);
    }

    #[actix_web::test]
    async fn oversized_frames_and_messages_are_refused() {
        let big = vec![b'a'; MAX_FRAME + 1];
        let got = read("", frame(true, 1, &big)).await;
        assert!(
            matches!(got[..], [Read::Protocol(CloseCode::Size, _)]),
            "{got:?}"
        );
        let half = vec![b'a'; MAX_FRAME / 2 + 1];
        let mut bytes = frame(false, 1, &half);
        bytes.extend(frame(true, 0, &half));
        let got = read("", bytes).await;
        assert!(
            matches!(got[..], [Read::Protocol(CloseCode::Size, _)]),
            "{got:?}"
        );
    }

    #[actix_web::test]
    async fn garbage_is_a_protocol_error_and_a_bad_query_is_refused() {
        let got = read("", vec![0x0f, 0x05, 1, 2]).await;
        assert!(
            matches!(
                got[..],
                [Read::Protocol(CloseCode::Protocol, _)] | [Read::Gone]
            ),
            "{got:?}"
        );
        assert!(matches!(read("", vec![]).await[..], [Read::Gone]));
        assert!(read_client("since=-1", Default::default()).await.is_err());
    }
}
