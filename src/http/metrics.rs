//! `GET /metrics`: the committed state in the Prometheus text format.

use std::fmt::Write;

use actix_web::{HttpResponse, web};

use super::AppState;
use crate::model::{CircuitState, FetchStatus, ServerState, TargetState};

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn target_lines(out: &mut String, t: &TargetState) {
    let id = escape(&t.id);
    let ok = (t.last_fetch_status == FetchStatus::Success) as u8;
    let open = (t.circuit.state != CircuitState::Closed) as u8;
    let _ = writeln!(out, "watchpost_target_fetch_success{{target=\"{id}\"}} {ok}");
    let _ = writeln!(out, "watchpost_target_circuit_open{{target=\"{id}\"}} {open}");
    let _ = writeln!(out, "watchpost_target_consecutive_failures{{target=\"{id}\"}} {}", t.consecutive_failures);
    let _ = writeln!(out, "watchpost_target_restarts_total{{target=\"{id}\"}} {}", t.restarts);
    for s in &t.servers {
        let up = (s.state == ServerState::Up) as u8;
        let _ = writeln!(out, "watchpost_server_up{{target=\"{id}\",server=\"{}\"}} {up}", escape(&s.name));
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let snap = state.status.snapshot();
    let mut out = String::new();
    out.push_str("# HELP watchpost_target_fetch_success 1 if the last fetch of the target succeeded.\n");
    out.push_str("# TYPE watchpost_target_fetch_success gauge\n");
    out.push_str("# TYPE watchpost_target_circuit_open gauge\n");
    out.push_str("# TYPE watchpost_target_consecutive_failures gauge\n");
    out.push_str("# TYPE watchpost_target_restarts_total counter\n");
    out.push_str("# HELP watchpost_server_up 1 if the HAProxy server is up (0 also while its backend cannot be read).\n");
    out.push_str("# TYPE watchpost_server_up gauge\n");
    for t in snap.targets.values() {
        target_lines(&mut out, t);
    }
    let _ = writeln!(out, "# TYPE watchpost_events_last_seq counter\nwatchpost_events_last_seq {}", snap.seq);
    let _ = writeln!(out, "# TYPE watchpost_storage_ok gauge\nwatchpost_storage_ok {}", snap.storage_ok as u8);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(out)
}
