//! `GET /ws`: the live event stream (docs/websocket.md). The upgrade checks `Origin`, takes a
//! hub subscription (snapshot and queue under one lock) and hands the connection to
//! a session task of its own, so no client can slow another down.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{ApiError, AppState};

mod session;

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
    let (response, ws, stream) = actix_ws::handle(&req, body)?;
    let stream = stream
        .max_frame_size(MAX_FRAME)
        .aggregate_continuations()
        .max_continuation_size(MAX_FRAME);
    let status = state.status.clone();
    let opening = session::Opening {
        since: q.since,
        instance: q.instance.clone(),
        instance_id: state.instance_id.clone(),
    };
    actix_web::rt::spawn(session::run(ws, stream, sub, opening, status));
    Ok(response)
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
