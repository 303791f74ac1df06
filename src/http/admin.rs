//! Admin endpoints: bearer-token auth (constant-time compare), then a command to the
//! fleet. Order of checks: admin API disabled (403), token missing or wrong (401),
//! unknown target (404), bad body (400).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::api::target_id;
use super::bodies::{self, PollingBody, ServerStateBody};
use super::views::TargetView;
use super::{ApiError, AppState, ErrorBody, ErrorDetail, percent_decode, views};
use crate::actors::fleet::{Admin, AdminCmd, AdminError};
use crate::actors::outcome::AdminOutcome;
use crate::actors::outcome::PollReport;
use crate::actors::reload::{self, ReloadError, ReloadReport};
use crate::model::{RecoveryOutcome, ServerActionOutcome};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/admin/targets/{id:.+}/reset-circuit",
        web::post().to(reset_circuit),
    )
    .route(
        "/api/admin/targets/{id:.+}/recover",
        web::post().to(recover),
    )
    .route(
        "/api/admin/targets/{id:.+}/polling",
        web::post().to(polling),
    )
    .route("/api/admin/reload", web::post().to(reload))
    .route(
        "/api/admin/targets/{id:.+}/servers/{server}/state",
        web::post().to(server_state),
    );
}

/// Checks the bearer token of an admin request.
pub fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let config = state.config.get();
    let Some(token) = &config.server.admin_token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "the admin API is disabled: set [server] admin_token in the configuration",
        ));
    };
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let given = match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => "",
    };
    if given.is_empty() || !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong admin token (send Authorization: Bearer <token>)",
        ));
    }
    Ok(())
}

async fn command(
    req: &HttpRequest,
    state: &AppState,
    cmd: AdminCmd,
) -> Result<AdminAnswer, ApiError> {
    let target = target_id(req);
    let answer = state
        .fleet
        .send(Admin {
            target: target.clone(),
            cmd,
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("the fleet did not answer: {e}"),
            )
        })?;
    let outcome = answer.map_err(|e| match e {
        AdminError::UnknownTarget(id) => ApiError::not_found(format!("unknown target {id}")),
        AdminError::Conflict(m) => {
            ApiError::new(StatusCode::CONFLICT, "not_supported_by_source", m)
        }
        AdminError::Source(m) => ApiError::new(StatusCode::BAD_GATEWAY, "source_error", m),
        AdminError::Failed(m) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "admin_failed", m)
        }
    })?;
    let target = state
        .status
        .snapshot()
        .targets
        .get(target.as_str())
        .map(|t| views::target(t));
    Ok(AdminAnswer { outcome, target })
}

/// The body of an admin answer: what was done, and the target's state after it.
#[derive(Serialize)]
struct AdminAnswer {
    #[serde(flatten)]
    outcome: AdminOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<TargetView>,
}

fn known(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let id = target_id(req);
    match state.status.snapshot().targets.contains_key(id.as_str()) {
        true => Ok(()),
        false => Err(ApiError::not_found(format!("unknown target {id}"))),
    }
}

/// The answer of `reset-circuit`: the poll made after the reset.
#[allow(dead_code)] // describes the JSON the fleet answers (actors::fleet)
#[derive(ToSchema)]
pub struct ResetAnswer {
    poll: PollReport,
    /// The target after the command.
    target: TargetView,
}

/// Closes the circuit, clears `consecutive_failures` and polls now.
#[utoipa::path(post, path = "/api/admin/targets/{id}/reset-circuit", tag = "admin",
    params(("id" = String, Path, min_length = 1, example = "haproxy/fdmz01/jurws",
        description = "Target id, percent-encoded")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The poll made after the reset", body = ResetAnswer),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`admin_disabled`", body = ErrorBody),
        (status = 404, description = "`not_found`: unknown target", body = ErrorBody),
        (status = 503, description = "`unavailable`: shutting down", body = ErrorBody)))]
pub async fn reset_circuit(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    known(&req, &state)?;
    let body = command(&req, &state, AdminCmd::ResetCircuit).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The answer of `recover`.
#[allow(dead_code)] // describes the JSON the fleet answers (actors::fleet)
#[derive(ToSchema)]
pub struct RecoverAnswer {
    /// The data of the `recovery_attempted` event.
    recovery: RecoveryOutcome,
    poll: PollReport,
    target: TargetView,
}

/// Runs the target's `recover` command, then resets the circuit and polls now.
#[utoipa::path(post, path = "/api/admin/targets/{id}/recover", tag = "admin",
    params(("id" = String, Path, min_length = 1, example = "haproxy/fdmz01/jurws",
        description = "Target id, percent-encoded")),
    security(("admin_token" = [])),
    responses((status = 200, description = "What the command did and the poll after it", body = RecoverAnswer),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`admin_disabled`", body = ErrorBody),
        (status = 404, description = "`not_found`: unknown target", body = ErrorBody),
        (status = 500, description = "`admin_failed`: the result could not be committed", body = ErrorBody),
        (status = 503, description = "`unavailable`: shutting down", body = ErrorBody)))]
pub async fn recover(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    known(&req, &state)?;
    let body = command(&req, &state, AdminCmd::Recover).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The answer of `servers/{server}/state`.
#[allow(dead_code)] // describes the JSON the fleet answers (actors::server_action)
#[derive(ToSchema)]
pub struct ServerStateAnswer {
    /// The data of the `server_admin_action` event.
    action: ServerActionOutcome,
    poll: PollReport,
    target: TargetView,
}

/// Changes the admin state of one server of an HAProxy backend.
#[utoipa::path(post, path = "/api/admin/targets/{id}/servers/{server}/state", tag = "admin",
    params(("id" = String, Path, min_length = 1, example = "haproxy/fdmz01/jurws",
        description = "Target id, percent-encoded"),
        ("server" = String, Path, min_length = 1, example = "app1", description = "Server name")),
    request_body = ServerStateBody, security(("admin_token" = [])),
    responses((status = 200, description = "The change and the poll after it", body = ServerStateAnswer),
        (status = 400, description = "`bad_request`: bad body or server name", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`admin_disabled`", body = ErrorBody),
        (status = 404, description = "`not_found`: unknown target or server", body = ErrorBody),
        (status = 409, description = "`not_supported_by_source`", body = ErrorBody),
        (status = 408, description = "`body_timeout`: the body did not arrive in time", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 500, description = "`admin_failed`", body = ErrorBody),
        (status = 502, description = "`source_error`: the source refused or failed", body = ErrorBody),
        (status = 503, description = "`unavailable`: shutting down", body = ErrorBody)))]
pub async fn server_state(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let wanted = checked_body(&req, &state, payload, bodies::parse_server_state).await?;
    let server = percent_decode(req.match_info().get("server").unwrap_or(""));
    if server.is_empty() || server.len() > 255 || server.chars().any(|c| c.is_control()) {
        return Err(ApiError::bad_request("invalid server name"));
    }
    if crate::sources::client::is_dot_segment(&server) {
        return Err(ApiError::bad_request(
            "invalid server name: `.` and `..` cannot be sent to the agent as a path segment",
        ));
    }
    let body = command(
        &req,
        &state,
        AdminCmd::ServerState {
            server,
            state: wanted,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The answer of `polling`.
#[allow(dead_code)] // describes the JSON the fleet answers (actors::fleet)
#[derive(ToSchema)]
pub struct PollingAnswer {
    enable_polling: bool,
    target: TargetView,
}

/// Disables or enables polling of a target (persisted).
#[utoipa::path(post, path = "/api/admin/targets/{id}/polling", tag = "admin",
    params(("id" = String, Path, min_length = 1, example = "haproxy/fdmz01/jurws",
        description = "Target id, percent-encoded")),
    request_body = PollingBody, security(("admin_token" = [])),
    responses((status = 200, description = "Polling is set", body = PollingAnswer),
        (status = 400, description = "`bad_request`: bad body", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`admin_disabled`", body = ErrorBody),
        (status = 404, description = "`not_found`: unknown target", body = ErrorBody),
        (status = 408, description = "`body_timeout`: the body did not arrive in time", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`unavailable`: shutting down", body = ErrorBody)))]
pub async fn polling(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let enabled = checked_body(&req, &state, payload, bodies::parse_polling).await?;
    let body = command(&req, &state, AdminCmd::SetPolling(enabled)).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The answer of `reload`.
#[derive(serde::Serialize, ToSchema)]
pub struct Reloaded {
    /// Always `true`.
    reloaded: bool,
    report: ReloadReport,
}

/// The query of `reload`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReloadQuery {
    /// Apply a configuration without any target.
    #[serde(default)]
    allow_empty: bool,
}

/// Reads the configuration file again and applies it (as SIGHUP does).
#[utoipa::path(post, path = "/api/admin/reload", tag = "admin", security(("admin_token" = [])),
    params(ReloadQuery),
    responses((status = 200, description = "What changed", body = Reloaded),
        (status = 400, description = "`invalid_config` (with `errors`; the running configuration is kept), or `bad_request`: no file to reload", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`admin_disabled`", body = ErrorBody),
        (status = 503, description = "`unavailable`: shutting down", body = ErrorBody)))]
pub async fn reload(
    req: HttpRequest,
    q: web::Query<ReloadQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    match reload::reload(&state.fleet, &state.config, &state.notifiers, q.allow_empty).await {
        Ok(report) => Ok(HttpResponse::Ok().json(Reloaded {
            reloaded: true,
            report,
        })),
        Err(ReloadError::Invalid(errors)) => {
            tracing::warn!("reload refused, the running configuration is kept:\n{errors}");
            let list = errors.0;
            let message = format!(
                "the new configuration is invalid ({} errors); the running one is kept",
                list.len()
            );
            let error = ErrorDetail {
                code: "invalid_config".into(),
                message,
                errors: Some(list),
                problems: None,
            };
            Ok(HttpResponse::BadRequest().json(ErrorBody { error }))
        }
        Err(e @ (ReloadError::NoFile | ReloadError::Empty)) => {
            Err(ApiError::bad_request(e.to_string()))
        }
        Err(e) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            e.to_string(),
        )),
    }
}

/// The checks every admin call with a body makes, in order: token (403/401), known
/// target (404), content type (415), size (413), then the body's own `parse` (400).
async fn checked_body<T>(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
    parse: fn(&[u8]) -> Result<T, String>,
) -> Result<T, ApiError> {
    authorize(req, state)?;
    known(req, state)?;
    json_content(req)?;
    let body = read_body(payload).await?;
    parse(&body).map_err(ApiError::bad_request)
}

/// A body must say it is JSON (`Content-Type: application/json`, parameters
/// allowed); an empty body may say nothing.
fn json_content(req: &HttpRequest) -> Result<(), ApiError> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let length = header("content-length").and_then(|l| l.trim().parse::<u64>().ok());
    if length.is_some_and(|l| l > super::MAX_BODY as u64) {
        return Err(too_large());
    }
    let empty = length == Some(0);
    let kind = header("content-type").unwrap_or("");
    let essence = kind.split(';').next().unwrap_or("").trim();
    if empty || essence.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("request bodies must be sent with Content-Type: application/json (got {kind:?})"),
    ))
}

/// Longest time a request body may take to arrive.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads a request body of at most [`super::MAX_BODY`] bytes, within
/// [`BODY_TIMEOUT`] (a body that stalls is answered 408, not waited for).
pub async fn read_body(payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    match tokio::time::timeout(BODY_TIMEOUT, read_all(payload)).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the request body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ),
        )),
    }
}

async fn read_all(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > super::MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("request bodies are limited to {} bytes", super::MAX_BODY),
    )
}
