//! A source that fails shows ⚠, its error and "no data" live, with exactly one
//! toast, and recovers without another; an error text or a server name that looks
//! like HTML is shown as text and runs nothing.

use serde_json::{Value, json};
use watchpost::config::Policy;
use watchpost::sim::{AgentSim, Fault, SimBackend, SimServer};

use super::{Browser, CARD, last_seq};
use crate::common::*;

/// `fast_policy` whose circuit never opens, so a failing backend keeps being polled.
fn steady_policy() -> Policy {
    let mut p = fast_policy();
    p.circuit.failure_threshold = 1_000_000;
    p
}

/// The card of `arguments[0]` once it shows a failed fetch: ⚠ with its title, the
/// error block, a failed segment in its labelled availability strip, and the server
/// rows.
const FAILED_CARD: &str = "
    const card = document.querySelector(`[data-target-id=\"${CSS.escape(arguments[0])}\"]`);
    if (!card || card.dataset.fetch !== 'failed') return null;
    const warn = card.querySelector('.warn');
    const block = card.querySelector('.fetch-error');
    const strip = card.querySelector('svg.strip rect.seg.failed');
    if (warn.hidden || block.hidden || !strip) return null;
    return { title: warn.title, error: block.querySelector('.fetch-error-text').textContent,
        attempt: block.querySelector('.last-attempt').textContent,
        strip: card.querySelector('.strip-host').textContent,
        rows: [...card.querySelectorAll('tr[data-server] td.status')].map((c) => c.textContent),
        imgs: card.querySelectorAll('img').length,
        tableSvgs: card.querySelectorAll('table svg').length };";

/// Whether the card of `arguments[0]` shows a successful fetch and no ⚠.
const OK_CARD: &str = "
    const card = document.querySelector(`[data-target-id=\"${CSS.escape(arguments[0])}\"]`);
    return card && card.dataset.fetch === 'success' && card.querySelector('.warn').hidden
        && card.querySelector('.fetch-error').hidden
        && [...card.querySelectorAll('tr[data-server] td.status')].every((c) => c.textContent === 'UP');";

const TOASTS: &str = "return { shown: watchpost.toastsShown(), pending: watchpost.toastsPending(),
    visible: [...document.querySelectorAll('.toast')].map((t) => t.textContent),
    imgs: document.querySelectorAll('#toasts img').length };";

/// Exactly `n` toasts were shown and none is waiting to be.
const TOASTS_SHOWN: &str =
    "return watchpost.toastsShown() === arguments[0] && watchpost.toastsPending() === 0;";

async fn toasts(b: &Browser) -> Value {
    b.eval(TOASTS, vec![]).await
}

/// The string `key` of `v` contains `part`.
fn has(v: &Value, key: &str, part: &str) -> bool {
    v[key].as_str().is_some_and(|s| s.contains(part))
}

/// Waits until the card of `id` shows the failure `error`: ⚠ with the error as its
/// title, the error block with the last attempt, and the servers as "no data".
async fn shows_failure(b: &Browser, id: &str, error: &str) -> Value {
    let card = b.wait_js("the failure on the page", FAILED_CARD, vec![json!(id)]);
    let card = card.await;
    assert!(has(&card, "error", error), "the error text: {card:#}");
    assert!(has(&card, "title", error), "the title of ⚠: {card:#}");
    assert!(has(&card, "attempt", "last attempt "), "{card:#}");
    let strip = card["strip"].as_str().unwrap_or_default();
    assert!(
        strip.starts_with("fetched, last 24 h") && strip.ends_with('%'),
        "the strip says what it measures and over what period: {card:#}"
    );
    let rows = card["rows"].as_array().expect("rows");
    assert!(
        rows.iter()
            .all(|r| r.as_str().is_some_and(|s| s.starts_with("no data"))),
        "{card:#}"
    );
    card
}

/// Fails backend `a`: ⚠ and one toast, also after more failed polls.
async fn failing(b: &Browser, sim: &AgentSim, td: &TestDaemon, error: &str) {
    let fault = Fault::Envelope {
        status_code: 502,
        error: error.into(),
    };
    sim.set_backend_fault("a", Some(fault));
    let card = shows_failure(b, &hid("a"), error).await;
    assert_eq!(
        card["rows"],
        json!(["no datalast: UP", "no datalast: UP"]),
        "{card:#}"
    );
    b.wait_js("one toast", TOASTS_SHOWN, vec![json!(1)]).await;
    td.wait_polls(&hid("a"), 3).await;
    b.caught_up(last_seq(td).await).await;
    let t = toasts(b).await;
    assert_eq!(
        t["shown"], 1,
        "a source that keeps failing toasts once: {t:#}"
    );
    let text = t["visible"][0].as_str().unwrap_or_default();
    assert!(text.contains("fdmz01 / a") && text.contains(error), "{t:#}");
}

/// Heals backend `a`: the ⚠ goes, no toast comes.
async fn recovering(b: &Browser, sim: &AgentSim, td: &TestDaemon) {
    sim.set_backend_fault("a", None);
    let recovered = td.wait_event(&hid("a"), "fetch_recovered").await;
    b.caught_up(recovered["seq"].as_u64().expect("seq")).await;
    b.wait_js("the recovery on the page", OK_CARD, vec![json!(hid("a"))])
        .await;
    let t = toasts(b).await;
    let counts = (t["shown"].clone(), t["pending"].clone());
    assert_eq!(
        counts,
        (json!(1), json!(0)),
        "no toast for a recovery: {t:#}"
    );
}

#[actix_web::test]
async fn a_failing_source_shows_a_warning_and_one_toast_until_it_recovers() {
    let (sim, td) = agent_daemon(&["a", "b"], steady_policy()).await;
    let b = Browser::open_dashboard(&td.base_url).await;
    b.eval("window.__loaded = 'once'; return true;", vec![])
        .await;
    assert_eq!(toasts(&b).await["shown"], 0, "no toast for a healthy fleet");
    failing(&b, &sim, &td, "backend pool exhausted on lb-7").await;
    recovering(&b, &sim, &td).await;
    let same = b.eval("return window.__loaded;", vec![]).await;
    assert_eq!(same, "once", "the page was not reloaded");
    b.close().await;
}

/// An agent whose backend `x` has a server named like an HTML tag.
async fn hostile_names() -> (AgentSim, TestDaemon) {
    let x = SimBackend {
        name: "x".into(),
        servers: vec![SimServer::up("<svg onload=window.__xss=2>", "10.9.0.1:80")],
    };
    let sim = AgentSim::start(local(), vec![x, backend("y")], vec![]);
    let sim = sim.await.expect("agent sim");
    let mut c = config();
    let mut h = haproxy("fdmz01", &sim.url(), &["x", "y"]);
    h.policy = steady_policy();
    c.haproxy.push(h);
    let td = start_daemon(c).await;
    td.wait_success(&hid("x")).await;
    (sim, td)
}

#[actix_web::test]
async fn html_in_an_error_text_or_a_name_is_shown_as_text_and_runs_nothing() {
    let (sim, td) = hostile_names().await;
    let id = hid("x");
    let b = Browser::open_dashboard(&td.base_url).await;
    let name = format!("{CARD} return card && card.querySelector('td.name').textContent;");
    let shown = b.wait_js("the server row", &name, vec![json!(id)]).await;
    assert_eq!(shown, "<svg onload=window.__xss=2>");
    let payload = "<img src=x onerror=window.__xss=1>";
    let fault = Fault::Envelope {
        status_code: 500,
        error: payload.into(),
    };
    sim.set_backend_fault("x", Some(fault));
    let card = shows_failure(&b, &id, payload).await;
    assert_eq!(
        card["title"], card["error"],
        "the ⚠ title is the error text"
    );
    assert_eq!(
        (card["imgs"].clone(), card["tableSvgs"].clone()),
        (json!(0), json!(0)),
        "{card:#}"
    );
    b.wait_js("the toast", TOASTS_SHOWN, vec![json!(1)]).await;
    let t = toasts(&b).await;
    assert!(
        t["visible"][0]
            .as_str()
            .is_some_and(|v| v.contains(payload)),
        "{t:#}"
    );
    assert_eq!(t["imgs"], 0, "no img element in the toasts");
    let xss = b.eval("return typeof window.__xss;", vec![]).await;
    assert_eq!(
        xss, "undefined",
        "no script of the error text or the name ran"
    );
    b.close().await;
}
