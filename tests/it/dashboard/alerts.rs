//! The alerts panel: a firing alert is listed with its severity and marks its
//! backend card and server row; with the admin token it can be silenced from the
//! page (the silenced mark appears) and the silence ended from the list.

use std::time::Duration;

use serde_json::json;
use watchpost::alerts::Rule;

use super::Browser;
use crate::alerts::{set_server, wait_alert, with_hold};
use crate::common::*;

const ENTER_TOKEN: &str = "
    document.getElementById('admin-button').click();
    document.getElementById('admin-token').value = arguments[0];
    document.getElementById('admin-form').requestSubmit();
    return sessionStorage.getItem('watchpost.adminToken');";

#[actix_web::test]
async fn a_firing_alert_is_listed_marked_and_silenced_from_the_page() {
    let c = with_hold(config(), Rule::ServerDown, Duration::ZERO);
    let (sim, td) = agent_daemon_in(c, &["a"], fast_policy()).await;
    set_server(&sim, &td, "a", "app2", "DOWN").await;
    wait_alert(&td, "server_down", "firing").await;
    let b = Browser::open_dashboard(&td.base_url).await;
    let listed = "const r = document.querySelector('.alert-row[data-state=\"firing\"]');
        return r && r.dataset.severity === 'critical' && r.textContent.includes('server_down');";
    b.wait_js("the alert in the panel", listed, vec![]).await;
    let marked = "const card = document.querySelector(`[data-target-id=\"${arguments[0]}\"]`);
        const row = card && card.querySelector('tr[data-server=\"app2\"]');
        return card && card.dataset.alert === 'critical' && row && row.dataset.alert === 'critical';";
    b.wait_js("the card and row marks", marked, vec![json!(hid("a"))])
        .await;

    b.eval(ENTER_TOKEN, vec![json!(TOKEN)]).await;
    let open = "const btn = document.querySelector('.alert-row button[data-silence]');
        if (!btn) return false; btn.click();
        const f = document.querySelector('.silence-form'); if (!f) return false;
        f.elements.comment.value = 'swap disk'; f.requestSubmit(); return true;";
    b.wait_js("the silence form", open, vec![]).await;
    let silenced = "return !!document.querySelector('.alert-row .mark.silenced');";
    b.wait_js("the silenced mark", silenced, vec![]).await;
    let listed = td.get("/api/silences").await.1;
    assert_eq!(
        listed["silences"][0]["matchers"]["server"], "app2",
        "{listed}"
    );
    assert_eq!(listed["silences"][0]["comment"], "swap disk");

    let end = "const btn = document.querySelector('#silences-list button[data-end]');
        if (!btn) return false; btn.click(); return true;";
    b.wait_js("the end-now button", end, vec![]).await;
    let unsilenced = "return document.querySelector('.alert-row') &&
        !document.querySelector('.alert-row .mark.silenced');";
    b.wait_js("the mark to go", unsilenced, vec![]).await;
    b.close().await;
}
