//! HTTPS (`[server] tls`) with a self-signed certificate made by `openssl` (Debian
//! package openssl, installed by scripts/test): reqwest trusting that certificate
//! reads the API, a client that does not trust it is refused, plain HTTP gets no
//! answer, and a WebSocket over TLS receives its snapshot. A bad key file stops
//! the start with a message that names it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use watchpost::config::TlsConfig;
use watchpost::daemon::Daemon;

use crate::common::*;

/// Writes `cert.pem` and `key.pem` (P-256, for 127.0.0.1 and localhost) in `dir`.
pub(crate) fn self_signed(dir: &Path) -> TlsConfig {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=watchpost test"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // A server certificate, not a CA (which rustls refuses as a leaf).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): install the Debian package openssl"));
    assert!(out.status.success(), "openssl: {out:?}");
    TlsConfig { cert, key }
}

fn https_client(cert: &Path) -> reqwest::Client {
    let pem = std::fs::read(cert).unwrap();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(DEADLINE)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

async fn https_daemon(dir: &Path) -> (TestDaemon, TlsConfig) {
    let tls = self_signed(dir);
    let mut cfg = config();
    cfg.server.tls = Some(tls.clone());
    let mut td = start_daemon(cfg).await;
    td.base_url = td.base_url.replacen("http://", "https://", 1);
    (td, tls)
}

#[actix_web::test]
async fn the_api_answers_over_https_to_a_client_that_trusts_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (td, tls) = https_daemon(dir.path()).await;
    let (status, body) = get_json(&https_client(&tls.cert), &td.url("/healthz")).await;
    assert_eq!((status, &body["status"]), (200, &"ok".into()), "{body}");
    let admin = https_client(&tls.cert)
        .post(td.url("/api/admin/reload"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 400, "a daemon built in memory has no file");

    let untrusted = client().get(td.url("/healthz")).send().await;
    assert!(
        untrusted.is_err(),
        "an unknown certificate is accepted: {untrusted:?}"
    );
    let plain = format!("http://{}/healthz", td.daemon.addr);
    let plain = client().get(plain).send().await;
    assert!(
        plain.as_ref().map_or(true, |r| !r.status().is_success()),
        "plain HTTP answered: {plain:?}"
    );
    td.daemon.shutdown().await;
}

#[actix_web::test]
async fn a_websocket_over_tls_receives_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (td, tls) = https_daemon(dir.path()).await;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&tls.cert).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(td.daemon.addr)
        .await
        .unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let stream = TlsConnector::from(Arc::new(client))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let req = format!("wss://{}/ws", td.daemon.addr)
        .into_client_request()
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .expect("WebSocket handshake over TLS");
    let mut next = async || {
        let message = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("a message");
        let Some(Ok(Message::Text(text))) = message else {
            panic!("expected a text message, got {message:?}");
        };
        serde_json::from_str::<serde_json::Value>(text.as_str()).unwrap()
    };
    let hello = next().await;
    assert_eq!(hello["type"], "hello", "{hello}");
    let snapshot = next().await;
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    drop(ws);
    td.daemon.shutdown().await;
}

#[actix_web::test]
async fn a_key_that_is_not_a_key_stops_the_start_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut tls = self_signed(dir.path());
    tls.key = tls.cert.clone();
    let mut cfg = config();
    cfg.server.listen = local();
    cfg.storage.path = dir.path().join("w.redb");
    cfg.server.tls = Some(tls);
    let e = Daemon::start(cfg)
        .await
        .err()
        .expect("no start")
        .to_string();
    assert!(e.contains("cert.pem: no private key"), "{e}");
}
