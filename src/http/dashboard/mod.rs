//! The dashboard (docs/dashboard.md): `GET /` and `GET /assets/{name}`, a page of plain ES
//! modules, HTML and CSS compiled into the binary with `include_str!`. Every answer
//! carries a strict Content-Security-Policy, `nosniff`, its content type and an
//! `ETag` (a hash of the embedded bytes) with `Cache-Control: no-cache`, so browsers
//! revalidate and get `304 Not Modified` until the binary changes.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::ApiError;

/// The policy of every dashboard answer: nothing but the daemon's own scripts,
/// styles and connections (the WebSocket included); no inline code, no frames.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    etag: &'static str,
}

/// FNV-1a (64 bit) of `bytes`, evaluated at compile time for the `ETag`s.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `"<16 hex digits>"`: the quoted `ETag` of `bytes`.
const fn etag(bytes: &[u8]) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = fnv1a(bytes);
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

macro_rules! asset {
    ($name:literal, $type:expr) => {{
        const BODY: &str = include_str!(concat!("files/", $name));
        const TAG: [u8; 18] = etag(BODY.as_bytes());
        Asset {
            name: $name,
            content_type: $type,
            body: BODY,
            etag: match std::str::from_utf8(&TAG) {
                Ok(s) => s,
                Err(_) => "\"0\"",
            },
        }
    }};
}

/// Every file of the page. `index.html` is served at `/`, the others under `/assets/`.
static ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("app.css", CSS),
    asset!("favicon.svg", SVG),
    asset!("app.js", JS),
    asset!("admin.js", JS),
    asset!("alerts.js", JS),
    asset!("api.js", JS),
    asset!("availability.js", JS),
    asset!("dom.js", JS),
    asset!("drift.js", JS),
    asset!("eureka.js", JS),
    asset!("format.js", JS),
    asset!("haproxy.js", JS),
    asset!("instances.js", JS),
    asset!("live.js", JS),
    asset!("notifiers.js", JS),
    asset!("list.js", JS),
    asset!("refetch.js", JS),
    asset!("scheduler.js", JS),
    asset!("state.js", JS),
    asset!("events.js", JS),
    asset!("status.js", JS),
    asset!("summary.js", JS),
    asset!("toasts.js", JS),
    asset!("widgets.js", JS),
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/assets/{name}", web::get().to(asset));
}

async fn index(req: HttpRequest) -> HttpResponse {
    match find("index.html") {
        Some(a) => serve(&req, a),
        None => HttpResponse::InternalServerError().finish(),
    }
}

async fn asset(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let found = find(&name).filter(|a| a.name != "index.html");
    let a = found.ok_or_else(|| ApiError::not_found(format!("no such dashboard asset: {name}")))?;
    Ok(serve(&req, a))
}

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The asset, or `304 Not Modified` when the browser already holds this version.
fn serve(req: &HttpRequest, a: &'static Asset) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag || t.trim() == "*"));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((header::ETAG, a.etag));
    match fresh {
        true => response.finish(),
        false => response.content_type(a.content_type).body(a.body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_differ_by_content_and_are_quoted_hex() {
        let a = etag(b"one");
        let b = etag(b"two");
        assert_ne!(a, b);
        let s = std::str::from_utf8(&a).unwrap();
        assert!(
            s.starts_with('"') && s.ends_with('"') && s.len() == 18,
            "{s}"
        );
        assert!(ASSETS.iter().all(|x| x.etag.len() == 18));
    }

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        for a in ASSETS.iter().filter(|a| a.content_type == JS) {
            for line in a.body.lines().filter(|l| l.starts_with("import ")) {
                let file = line.rsplit("'./").next().and_then(|r| r.split('\'').next());
                let file = file.unwrap_or_default();
                assert!(
                    find(file).is_some(),
                    "{} imports {file}, which is not embedded",
                    a.name
                );
            }
        }
    }
}
