//! Transactions of server changes: `POST /api/admin/transactions` (validate every
//! action, `dry_run` answers the plan, otherwise apply with rollback; 409 when an
//! instance is busy or the transaction was rolled back), `GET /api/transactions`
//! (`?limit=N`, newest first) and `GET /api/transactions/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::admin::{authorize, read_body};
use super::bodies;
use super::{ApiError, AppState, ErrorBody, ErrorDetail, percent_decode};
use crate::actors::fleet_haproxy::GetAdminReach;
use crate::actors::server_action::can_change;
use crate::actors::transaction::{self, PlannedStep, TxRecord, TxState};
use crate::actors::transaction_run::{self, Reach};
use crate::actors::txlog;

/// Most records `GET /api/transactions` answers.
const MAX_LIMIT: usize = 1000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/admin/transactions", web::post().to(create))
        .route("/api/transactions", web::get().to(list))
        .route("/api/transactions/{id}", web::get().to(one));
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "admin_failed",
        e.to_string(),
    )
}

/// Applies a transaction of server changes, with rollback; `dry_run` answers the plan.
#[utoipa::path(post, path = "/api/admin/transactions", tag = "admin",
    request_body = bodies::TransactionBody,
    security(("admin_token" = [])),
    responses((status = 200, description = "The committed transaction, or with `dry_run` the plan", body = TransactionAnswer),
        (status = 400, description = "`bad_request`: bad body or action", body = super::ErrorBody),
        (status = 401, description = "`unauthorized`", body = super::ErrorBody),
        (status = 403, description = "`admin_disabled`", body = super::ErrorBody),
        (status = 409, description = "`busy`: an instance is busy, or `rolled_back`, with the transaction", body = TxConflict),
        (status = 500, description = "`admin_failed`", body = super::ErrorBody)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let raw = read_body(payload).await?;
    let body = bodies::parse_transaction(&raw).map_err(ApiError::bad_request)?;
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
        return Ok(HttpResponse::Ok().json(TransactionAnswer::Plan {
            dry_run: true,
            plan: steps,
        }));
    }
    let mut rec = TxRecord::new(transaction::new_id(), body.comment, &steps);
    let _claim = transaction::claim(&rec.id, rec.instances()).map_err(busy)?;
    let reach = Reach {
        status: state.status.clone(),
        client: reach.client,
        pollers: reach.pollers,
        verify_timeout: body.verify_timeout,
    };
    transaction_run::execute(&reach, &mut rec).await;
    if rec.state == TxState::Committed {
        return Ok(HttpResponse::Ok().json(TransactionAnswer::Applied { transaction: rec }));
    }
    let message = "a step failed; the steps already applied were rolled back";
    Ok(HttpResponse::Conflict().json(TxConflict {
        error: detail("rolled_back", message.into(), None),
        transaction: Some(rec),
    }))
}

/// The answer of `POST /api/admin/transactions`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum TransactionAnswer {
    /// Every step applied and verified.
    Applied { transaction: TxRecord },
    /// `dry_run`: what would be done, nothing applied.
    Plan {
        /// Always `true`.
        dry_run: bool,
        plan: Vec<PlannedStep>,
    },
}

/// A `409` of `POST /api/admin/transactions`: `busy`, or `rolled_back` with the
/// transaction as it ended.
#[derive(Serialize, ToSchema)]
pub struct TxConflict {
    pub error: ErrorDetail,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<TxRecord>,
}

fn detail(code: &str, message: String, problems: Option<Vec<String>>) -> ErrorDetail {
    ErrorDetail {
        code: code.into(),
        message,
        errors: None,
        problems,
    }
}

fn invalid(problems: Vec<String>) -> HttpResponse {
    let message = format!(
        "the transaction is invalid ({} problems); nothing was applied",
        problems.len()
    );
    let error = detail("invalid_transaction", message, Some(problems));
    HttpResponse::BadRequest().json(ErrorBody { error })
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

/// The query of `/api/transactions`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many records, newest first (default 50, at most 1000).
    limit: Option<usize>,
}

/// The list of transactions, `{"transactions": [...]}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TxList {
    pub transactions: Vec<TxRecord>,
}

/// The latest transactions, newest first.
#[utoipa::path(get, path = "/api/transactions", tag = "state", params(ListQuery), responses(
    (status = 200, description = "The latest transactions", body = TxList),
    (status = 400, description = "`bad_request`: a bad parameter", body = super::ErrorBody),
    (status = 500, description = "`admin_failed`: the log cannot be read", body = super::ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    let records = txlog::latest(&state.status, limit).map_err(internal)?;
    let records: Vec<_> = records.into_iter().map(transaction::as_now).collect();
    Ok(HttpResponse::Ok().json(TxList {
        transactions: records,
    }))
}

/// One transaction.
#[utoipa::path(get, path = "/api/transactions/{id}", tag = "state",
    params(("id" = String, Path, min_length = 1, description = "Transaction id")),
    responses((status = 200, description = "The transaction", body = TxRecord),
        (status = 404, description = "`not_found`: unknown transaction", body = super::ErrorBody),
        (status = 500, description = "`admin_failed`: the log cannot be read", body = super::ErrorBody)))]
pub async fn one(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = percent_decode(req.match_info().get("id").unwrap_or(""));
    match txlog::get(&state.status, &id).map_err(internal)? {
        Some(rec) => Ok(HttpResponse::Ok().json(transaction::as_now(rec))),
        None => Err(ApiError::not_found(format!("unknown transaction {id}"))),
    }
}
