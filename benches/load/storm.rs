//! The storm of a load run: `--storm PCT` puts every server of the first PCT % of
//! the backends into MAINT in one burst of Runtime API commands (real HAProxy
//! only), waits until every WebSocket client and every notifier has every event
//! and alert, and undoes it. Figures: commit → WebSocket client and commit →
//! notifier, over every event and alert of the burst.

use std::time::{Duration, Instant};

use crate::common::Res;
use crate::common::haproxy::{Haproxy, backend_name};
use crate::common::ws::Fleet;
use crate::hooks::{Hook, latencies};

/// Latencies of one burst, milliseconds.
#[derive(Debug, Default)]
pub struct Storm {
    pub servers: usize,
    /// Commit (event `ts`) → each client, for every `server_state_changed`.
    pub to_clients: Vec<f64>,
    /// Commit → each notifier, for every `backend_down` alert that fired.
    pub to_notifiers: Vec<f64>,
    /// Events a client never got, alerts a notifier never got.
    pub missing: usize,
}

/// Runs the burst on `backends` × `servers` and measures it.
pub async fn run(
    ha: &Haproxy,
    (backends, servers, pct): (usize, usize, f64),
    fleet: &Fleet,
    hooks: &[Hook],
    deadline: Duration,
) -> Res<Storm> {
    let hit = ((backends as f64 * pct / 100.0).round() as usize).clamp(1, backends);
    let cmds: Vec<String> = (1..=hit)
        .flat_map(|b| {
            (1..=servers).map(move |s| format!("set server {}/s{s} state maint", backend_name(b)))
        })
        .collect();
    for chunk in cmds.chunks(100) {
        ha.cli(&chunk.join(";"))?;
    }
    let mut out = Storm {
        servers: cmds.len(),
        ..Storm::default()
    };
    let end = Instant::now() + deadline;
    let want = cmds.len() * fleet.size;
    loop {
        let got: usize = maint_events(fleet).iter().map(|(_, n)| n.len()).sum();
        if got >= want || Instant::now() > end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = maint_events(fleet);
    for (_, rs) in &events {
        out.to_clients
            .extend(rs.iter().map(|r| r.wall_ms.saturating_sub(r.ts_ms) as f64));
    }
    out.missing += want.saturating_sub(out.to_clients.len());
    notifier_side(&mut out, fleet, hooks, hit, end).await;
    for chunk in cmds.chunks(100) {
        ha.cli(&chunk.join(";").replace("state maint", "state ready"))?;
    }
    Ok(out)
}

type Received = Vec<(crate::common::ws::Key, Vec<crate::common::ws::Receipt>)>;

fn maint_events(fleet: &Fleet) -> Received {
    let mut v = fleet.all_of("server_state_changed");
    v.retain(|(k, _)| k.to == "maint");
    v
}

/// Waits until every notifier has every `backend_down` alert of the burst.
async fn notifier_side(out: &mut Storm, fleet: &Fleet, hooks: &[Hook], hit: usize, end: Instant) {
    if hooks.is_empty() {
        return;
    }
    let alerts = |fleet: &Fleet| {
        let mut v = fleet.all_of("alert_firing");
        v.retain(|(k, _)| k.to == "backend_down/firing");
        v
    };
    loop {
        let list = alerts(fleet);
        if (list.len() >= hit && latencies(&list, hooks).1 == 0) || Instant::now() > end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list = alerts(fleet);
    let (got, missing) = latencies(&list, hooks);
    out.to_notifiers = got;
    out.missing += missing + hit.saturating_sub(list.len()) * hooks.len();
}
