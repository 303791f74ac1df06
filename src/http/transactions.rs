//! Transactions of server changes: `POST /api/admin/transactions` (validate every
//! action, `dry_run` answers the plan, otherwise apply with rollback; 409 when an
//! instance is busy or the transaction was rolled back), `GET /api/transactions`
//! (`?limit=N`, newest first) and `GET /api/transactions/{id}`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::admin::{authorize, read_body};
use super::{ApiError, AppState, percent_decode};
use crate::actors::fleet_haproxy::GetAdminReach;
use crate::actors::server_action::can_change;
use crate::actors::transaction::{self, ActionRequest, TxRecord, TxState};
use crate::actors::transaction_run::{self, Reach};
use crate::actors::txlog;

/// Most records `GET /api/transactions` answers.
const MAX_LIMIT: usize = 1000;
/// The longest a step may take to be verified.
const MAX_VERIFY: Duration = Duration::from_secs(300);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/admin/transactions", web::post().to(create))
        .route("/api/transactions", web::get().to(list))
        .route("/api/transactions/{id}", web::get().to(one));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    actions: Vec<ActionRequest>,
    verify_timeout: Option<String>,
    #[serde(default)]
    dry_run: bool,
    comment: Option<String>,
}

const SHAPE: &str = r#"{"actions": [{"target", "server", "state"} | {"address", "state"}], "verify_timeout": "5s", "dry_run": false, "comment": "..."}"#;

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "admin_failed",
        e.to_string(),
    )
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let raw = read_body(payload).await?;
    let body: Body = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::bad_request(format!("body must be {SHAPE}: {e}")))?;
    let verify_timeout = verify_timeout(body.verify_timeout.as_deref())?;
    let reach = state.fleet.send(GetAdminReach).await.map_err(internal)?;
    let snap = state.status.snapshot();
    let checked = transaction::plan(&body.actions, &snap.targets, |id| {
        match reach.pollers.get(id) {
            Some((_, spec)) => can_change(spec),
            None => Err(format!("{id} is not polled now")),
        }
    });
    let steps = match checked {
        Ok(steps) => steps,
        Err(problems) => return Ok(invalid(problems)),
    };
    if body.dry_run {
        return Ok(HttpResponse::Ok().json(json!({"dry_run": true, "plan": steps})));
    }
    let mut rec = TxRecord::new(transaction::new_id(), body.comment, &steps);
    let _claim = transaction::claim(&rec.id, rec.instances()).map_err(busy)?;
    let reach = Reach {
        status: state.status.clone(),
        client: reach.client,
        pollers: reach.pollers,
        verify_timeout,
    };
    transaction_run::execute(&reach, &mut rec).await;
    if rec.state == TxState::Committed {
        return Ok(HttpResponse::Ok().json(json!({"transaction": rec})));
    }
    let message = "a step failed; the steps already applied were rolled back";
    let body = json!({"error": {"code": "rolled_back", "message": message}, "transaction": rec});
    Ok(HttpResponse::Conflict().json(body))
}

fn verify_timeout(text: Option<&str>) -> Result<Duration, ApiError> {
    let d = match text {
        None => return Ok(Duration::from_secs(5)),
        Some(t) => humantime::parse_duration(t)
            .map_err(|e| ApiError::bad_request(format!("verify_timeout {t:?}: {e}")))?,
    };
    if d.is_zero() || d > MAX_VERIFY {
        return Err(ApiError::bad_request(
            "verify_timeout must be between 1ms and 5m",
        ));
    }
    Ok(d)
}

fn invalid(problems: Vec<String>) -> HttpResponse {
    let message = format!(
        "the transaction is invalid ({} problems); nothing was applied",
        problems.len()
    );
    HttpResponse::BadRequest().json(
        json!({"error": {"code": "invalid_transaction", "message": message, "problems": problems}}),
    )
}

fn busy(instances: Vec<String>) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "busy",
        format!(
            "another transaction is running on {}; try again when it has ended",
            instances.join(", ")
        ),
    )
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn list(
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    let records = txlog::latest(&state.status, limit).map_err(internal)?;
    let records: Vec<_> = records.into_iter().map(transaction::as_now).collect();
    Ok(HttpResponse::Ok().json(json!({"transactions": records})))
}

async fn one(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = percent_decode(req.match_info().get("id").unwrap_or(""));
    match txlog::get(&state.status, &id).map_err(internal)? {
        Some(rec) => Ok(HttpResponse::Ok().json(transaction::as_now(rec))),
        None => Err(ApiError::not_found(format!("unknown transaction {id}"))),
    }
}
