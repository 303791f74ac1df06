//! The notifiers panel's "send test" (admin): no button without a token, the 401
//! shown for a wrong token (and nothing sent), and with the admin token a test
//! message delivered to a real webhook receiver on 127.0.0.1 whose answer the page
//! shows.

use serde_json::json;
use watchpost::config::NotifierKind;

use super::Browser;
use super::admin::ENTER_TOKEN;
use crate::common::*;
use crate::notify::{Mode, Receiver, quick};

/// The row of notifier `arguments[0]`.
const ROW: &str =
    "const row = document.querySelector(`#notifiers-list li[data-notifier=\"${arguments[0]}\"]`);";

/// Clicks "send test" of notifier `arguments[0]`, after clearing its result.
fn click() -> String {
    format!(
        "{ROW} const b = row && row.querySelector('button[data-test]');
         if (!b) return false;
         row.querySelector('.admin-result').textContent = '';
         b.click(); return true;"
    )
}

/// The result of notifier `arguments[0]` once it starts with `arguments[1]` (a
/// re-render of the list may show the previous answer for a moment).
fn result() -> String {
    format!(
        "{ROW} const r = row && row.querySelector('.admin-result');
         const t = r ? r.textContent : '';
         return t.startsWith(arguments[1]) && t;"
    )
}

/// Presses "send test" and returns the answer the page shows, once it starts
/// with `expect` ("accepted" or "not accepted").
async fn send_test(b: &Browser, name: &str, expect: &str) -> String {
    b.wait_js("the send-test button", &click(), vec![json!(name)])
        .await;
    let args = vec![json!(name), json!(expect)];
    let answer = b.wait_js("the send-test answer", &result(), args).await;
    answer.as_str().unwrap_or_default().to_string()
}

#[actix_web::test]
async fn send_test_delivers_to_the_receiver_and_shows_its_answer_or_the_refusal() {
    let hook = Receiver::start(Mode::Accept).await;
    hook.set_answer("received by hook 7f3a");
    let mut c = config();
    let kind = NotifierKind::Webhook {
        url: hook.url("/hook"),
        secret: None,
    };
    c.notify.push(quick("ops-hook", kind));
    let td = start_daemon(c).await;
    let b = Browser::open_dashboard(&td.base_url).await;
    let row = format!("{ROW} return row && row.textContent;");
    let text = b
        .wait_js("the notifier row", &row, vec![json!("ops-hook")])
        .await;
    assert!(
        text.as_str().unwrap().starts_with("ops-hook (webhook): ok"),
        "{text}"
    );
    let button = format!("{ROW} return row.querySelector('button[data-test]') === null;");
    assert_eq!(
        b.eval(&button, vec![json!("ops-hook")]).await,
        true,
        "no send-test button without a token"
    );

    assert_eq!(b.eval(ENTER_TOKEN, vec![json!("wrong")]).await, "wrong");
    let denied = send_test(&b, "ops-hook", "not accepted").await;
    assert!(
        denied.starts_with("not accepted: 401 unauthorized: "),
        "{denied}"
    );
    assert_eq!(hook.got().len(), 0, "sent with a wrong token");

    assert_eq!(b.eval(ENTER_TOKEN, vec![json!(TOKEN)]).await, TOKEN);
    let answer = send_test(&b, "ops-hook", "accepted").await;
    assert_eq!(answer, "accepted: 200 OK received by hook 7f3a");
    let got = hook.accepted(1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].path, "/hook");
    let body = got[0].json();
    assert_eq!(body["notifier"], "ops-hook", "{body}");
    assert_eq!(body["alerts"][0]["rule"], "watchpost_test", "{body}");
    b.close().await;
    td.daemon.shutdown().await;
}
