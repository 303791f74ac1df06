//! `GET /` and its assets: the strict Content-Security-Policy, `nosniff`, content
//! types, revalidation with `ETag` / `304`, and JSON 404 for unknown assets.

use crate::common::*;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn header(resp: &reqwest::Response, name: &str) -> String {
    let value = resp.headers().get(name).and_then(|v| v.to_str().ok());
    value
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_string()
}

/// `/` answers the page with its headers, and 304 to its own `ETag`.
async fn page(http: &reqwest::Client, td: &TestDaemon) {
    let resp = http.get(td.url("/")).send().await.expect("GET /");
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-security-policy"), CSP);
    assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
    assert_eq!(header(&resp, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&resp, "cache-control"), "no-cache");
    let etag = header(&resp, "etag");
    let html = resp.text().await.expect("body");
    assert!(
        html.contains("/assets/app.js") && !html.contains("://"),
        "only own assets: {html}"
    );
    let again = http.get(td.url("/")).header("if-none-match", &etag).send();
    assert_eq!(
        again.await.expect("GET /").status(),
        304,
        "revalidation with the ETag"
    );
}

#[actix_web::test]
async fn the_page_carries_a_strict_csp_and_proper_types() {
    let td = start_daemon(config()).await;
    let http = client();
    page(&http, &td).await;
    for (path, kind) in [
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let resp = http.get(td.url(path)).send().await.expect("GET asset");
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(header(&resp, "content-type"), kind, "{path}");
        assert_eq!(header(&resp, "content-security-policy"), CSP, "{path}");
        assert_eq!(header(&resp, "x-content-type-options"), "nosniff", "{path}");
    }
    let (status, body) = td.get("/assets/nope.js").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &serde_json::json!("not_found"))
    );
    let (status, _) = td.get("/assets/index.html").await;
    assert_eq!(status, 404, "the page itself is served at / only");
}
