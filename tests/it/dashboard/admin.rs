//! Admin actions from the page: without a token there are none; with the token
//! (kept in sessionStorage) a circuit reset and a polling switch show the daemon's
//! answer, and a wrong token shows the 401.

use serde_json::json;
use watchpost::sim::Fault;

use super::{Browser, CARD};
use crate::common::*;

/// Enters `arguments[0]` as the admin token through the page's form.
pub(super) const ENTER_TOKEN: &str = "
    document.getElementById('admin-button').click();
    document.getElementById('admin-token').value = arguments[0];
    document.getElementById('admin-form').requestSubmit();
    return sessionStorage.getItem('watchpost.adminToken');";

/// Clicks action `arguments[1]` of target `arguments[0]`.
fn click() -> String {
    format!(
        "{CARD} card.querySelector(`button[data-action=\"${{arguments[1]}}\"]`).click(); return true;"
    )
}

/// The admin result of target `arguments[0]` once it is no longer "working".
fn result() -> String {
    format!(
        "{CARD} const r = card.querySelector('.admin-result');
         return !r.classList.contains('working') && r.textContent;"
    )
}

async fn act(b: &Browser, id: &str, action: &str) -> String {
    let args = vec![json!(id), json!(action)];
    let reset =
        format!("{CARD} card.querySelector('.admin-result').textContent = ''; return true;");
    b.eval(&reset, vec![json!(id)]).await;
    b.eval(&click(), args).await;
    let answer = b
        .wait_js(
            &format!("the answer to {action}"),
            &result(),
            vec![json!(id)],
        )
        .await;
    answer.as_str().unwrap_or_default().to_string()
}

#[actix_web::test]
async fn admin_actions_show_the_answer_or_the_error() {
    let (sim, td) = agent_daemon(&["a"], fast_policy()).await;
    let id = hid("a");
    sim.set_backend_fault("a", Some(Fault::Status(503)));
    td.wait_target(&id, "an open circuit", |t| t["circuit_state"] == "open")
        .await;
    sim.set_backend_fault("a", None);
    let b = Browser::open_dashboard(&td.base_url).await;
    let rows = format!("{CARD} return card.querySelector('.admin-row').hidden;");
    assert_eq!(
        b.eval(&rows, vec![json!(id)]).await,
        true,
        "no admin actions without a token"
    );

    assert_eq!(b.eval(ENTER_TOKEN, vec![json!("wrong")]).await, "wrong");
    let visible = format!("{CARD} return !card.querySelector('.admin-row').hidden;");
    b.wait_js("the admin actions", &visible, vec![json!(id)])
        .await;
    let denied = act(&b, &id, "reset-circuit").await;
    assert!(denied.starts_with("401 unauthorized: "), "{denied}");

    assert_eq!(b.eval(ENTER_TOKEN, vec![json!(TOKEN)]).await, TOKEN);
    let answer = act(&b, &id, "reset-circuit").await;
    assert_eq!(answer, "circuit reset; poll success, circuit closed");
    let closed = format!(
        "{CARD} return card.querySelector('.badge.circuit').textContent === 'circuit closed';"
    );
    b.wait_js("the closed circuit", &closed, vec![json!(id)])
        .await;
    let answer = act(&b, &id, "polling").await;
    assert_eq!(answer, "polling disabled");
    let off = format!("{CARD} return !card.querySelector('.badge.off').hidden;");
    b.wait_js("the polling-off badge", &off, vec![json!(id)])
        .await;
    b.close().await;
}
