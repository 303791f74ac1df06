//! A minimal W3C WebDriver client over reqwest + serde_json, driving Debian's
//! headless Chromium through `chromedriver` on a free loopback port: new session,
//! navigate, execute script, find elements, element text, screenshot. Chromedriver
//! runs in a process group of its own, killed (with the browser) on drop.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::common::try_wait_for;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key W3C WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The browser's viewport (and screenshot) size.
pub const WINDOW: (u32, u32) = (1440, 1500);

/// Fails the test with a clear message when Chromium or chromedriver is missing.
fn require_browser() {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        assert!(
            Path::new(path).exists(),
            "the dashboard tests need headless Chromium: {path} is missing. Install the Debian \
             packages chromium and chromium-driver (scripts/test installs them; by hand: \
             apt-get install -y --no-install-recommends chromium chromium-driver). Missing: {package}"
        );
    }
}

/// `chromedriver --port=N`, in its own process group; the group is killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(http: &reqwest::Client) -> Driver {
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
            let driver = Driver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            if driver.ready(http).await {
                return driver;
            }
        }
        panic!("chromedriver did not become ready on a loopback port (3 tries)");
    }

    async fn ready(&self, http: &reqwest::Client) -> bool {
        let url = format!("{}/status", self.url);
        let ok = try_wait_for(Duration::from_secs(15), async || {
            let resp = http.get(&url).send().await.ok()?;
            let body: Value = serde_json::from_str(&resp.text().await.ok()?).ok()?;
            (body["value"]["ready"] == true).then_some(())
        });
        ok.await.is_some()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Driver,
    _profile: TempDir,
}

fn chrome_args(profile: &Path) -> Vec<String> {
    let fixed = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-proxy-server",
        "--disable-dev-shm-usage",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
    ];
    let mut args: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
    args
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium with an empty profile.
    pub async fn launch() -> Browser {
        require_browser();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        let driver = Driver::start(&http).await;
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": chrome_args(profile.path())},
            "timeouts": {"script": 30000, "pageLoad": 30000, "implicit": 0},
        }}});
        let url = format!("{}/session", driver.url);
        let answer = send(with_json(http.post(&url), &caps), "new session").await;
        let session = answer["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        Browser {
            http,
            session,
            driver,
            _profile: profile,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.url, self.session);
        let mut req = self.http.request(method, &url);
        if let Some(body) = body {
            req = with_json(req, &body);
        }
        send(req, path).await
    }

    /// Navigates and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs `body` (a function body: use `return`) in the page with `args`.
    pub async fn eval(&self, body: &str, args: Vec<Value>) -> Value {
        let payload = json!({ "script": body, "args": args });
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(payload))
            .await
    }

    /// Runs `body` in the page; it answers by calling `arguments[arguments.length - 1]`.
    pub async fn eval_async(&self, body: &str, args: Vec<Value>) -> Value {
        let payload = json!({ "script": body, "args": args });
        self.cmd(reqwest::Method::POST, "/execute/async", Some(payload))
            .await
    }

    /// Every element matching the CSS selector.
    pub async fn find_all(&self, css: &str) -> Vec<String> {
        let q = json!({ "using": "css selector", "value": css });
        let found = self.cmd(reqwest::Method::POST, "/elements", Some(q)).await;
        let list = found.as_array().cloned().unwrap_or_default();
        list.iter()
            .filter_map(|e| e[ELEMENT].as_str().map(String::from))
            .collect()
    }

    /// The rendered text of an element.
    pub async fn text(&self, element: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{element}/text"),
                None,
            )
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        base64_decode(v.as_str().expect("base64 screenshot")).expect("valid base64")
    }

    /// Ends the session (the browser quits); chromedriver goes on drop.
    pub async fn close(self) {
        let url = format!("{}/session/{}", self.driver.url, self.session);
        let _ = self.http.delete(&url).send().await;
    }
}

/// A request with a JSON body.
fn with_json(req: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    req.header("content-type", "application/json")
        .body(body.to_string())
}

/// Sends a WebDriver command; panics with the driver's error message on failure.
async fn send(req: reqwest::RequestBuilder, what: &str) -> Value {
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {what}: {e}"));
    let status = resp.status();
    let text = resp
        .text()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {what}: {e}"));
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("WebDriver {what}: bad JSON: {e}"));
    if !status.is_success() {
        let v = &body["value"];
        panic!(
            "WebDriver {what} failed ({status}): {}: {}",
            v["error"], v["message"]
        );
    }
    body["value"].clone()
}

/// Standard base64 (with padding), as WebDriver sends screenshots.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut acc: u32 = 0;
        for (i, c) in chunk.iter().enumerate() {
            acc |= u32::from(value(*c)?) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[test]
fn base64_decodes_with_and_without_padding() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
    assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
    assert!(base64_decode("a$==").is_none());
}
