//! `GET /api/drift` (where HAProxy and Eureka disagree, `docs/drift.md`) and the
//! `watchpost_drift{kind}` metric family. Both read the committed drift board.

use std::fmt::Write;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::actors::drift_table::view;
use crate::drift::{DriftKind, ItemState, Items};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/drift", web::get().to(drift));
}

#[derive(Deserialize)]
struct DriftQuery {
    /// Also list mismatches not yet held for `drift_for`.
    #[serde(default)]
    pending: bool,
}

async fn drift(q: web::Query<DriftQuery>, state: web::Data<AppState>) -> HttpResponse {
    let items = state.status.drift();
    let list: Vec<_> = items
        .values()
        .filter(|i| i.reported || (q.pending && i.state != ItemState::Active))
        .map(view)
        .collect();
    HttpResponse::Ok().json(json!({"drift": list}))
}

/// Reported drift items (active or unknown) by kind.
pub fn metric(out: &mut String, items: &Items) {
    let name = "watchpost_drift";
    let _ = writeln!(
        out,
        "# HELP {name} Reported drift items between HAProxy and Eureka, by kind.\n# TYPE {name} gauge"
    );
    for kind in DriftKind::ALL {
        let n = items
            .values()
            .filter(|i| i.reported && i.kind == kind)
            .count();
        let _ = writeln!(out, "{name}{{kind=\"{}\"}} {n}", kind.as_str());
    }
}
