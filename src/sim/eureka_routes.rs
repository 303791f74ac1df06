//! The HTTP side of the simulated Eureka server: routes under `/eureka` and
//! `/eureka/v2`, Basic auth, content negotiation and gzip.

use std::sync::atomic::Ordering;

use actix_web::http::header::{ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::middleware::Compress;
use actix_web::{HttpRequest, HttpResponse, web};

use super::eureka::EurekaShared;
use super::eureka_doc::{View, to_json, to_xml};

/// The routes, each answered gzip-compressed when the client accepts it.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in ["/eureka/v2", "/eureka"] {
        let scope = web::scope(prefix)
            .wrap(Compress::default())
            .route("/apps", web::get().to(apps))
            .route("/apps/", web::get().to(apps))
            .route("/apps/delta", web::get().to(delta));
        cfg.service(scope);
    }
    cfg.default_service(web::to(not_found));
}

/// Counts the request and applies faults, then checks the credentials: the answer
/// to send instead of the normal one, if any.
async fn admit(req: &HttpRequest, sim: &EurekaShared) -> Option<HttpResponse> {
    if let Some(answer) = sim.gate.admit(req.path(), || sim.fault()).await {
        return Some(answer);
    }
    let encodings = req
        .headers()
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    if encodings.is_some_and(|e| e.contains("gzip")) {
        sim.gzip_requests.fetch_add(1, Ordering::Relaxed);
    }
    let wanted = sim.state().authorization.clone()?;
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given == Some(wanted.as_str()) {
        return None;
    }
    let refused = HttpResponse::Unauthorized()
        .insert_header((WWW_AUTHENTICATE, "Basic realm=\"eureka\""))
        .content_type("text/plain; charset=utf-8")
        .body("401 Unauthorized");
    Some(refused)
}

async fn apps(req: HttpRequest, sim: web::Data<EurekaShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim).await {
        return answer;
    }
    let view = sim.state().full_view();
    respond(&req, &sim, &view)
}

async fn delta(req: HttpRequest, sim: web::Data<EurekaShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim).await {
        return answer;
    }
    let view = sim.state().delta_view();
    match view {
        Some(view) => respond(&req, &sim, &view),
        None => HttpResponse::Forbidden().finish(),
    }
}

async fn not_found(req: HttpRequest, sim: web::Data<EurekaShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim).await {
        return answer;
    }
    HttpResponse::NotFound().finish()
}

/// JSON when the `Accept` header contains `json` (and XML is not forced), XML
/// otherwise.
fn respond(req: &HttpRequest, sim: &EurekaShared, view: &View) -> HttpResponse {
    let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
    let (xml_only, truncated) = {
        let state = sim.state();
        (state.xml_only, state.truncated)
    };
    let (content_type, mut body) = match accept.is_some_and(|a| a.contains("json")) && !xml_only {
        true => ("application/json", to_json(view)),
        false => ("application/xml", to_xml(view)),
    };
    if truncated {
        let mut half = body.len() / 2;
        while !body.is_char_boundary(half) {
            half -= 1;
        }
        body.truncate(half);
    }
    HttpResponse::Ok().content_type(content_type).body(body)
}

/// The `Authorization` header value of HTTP Basic auth.
pub(crate) fn basic_credentials(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_of_the_rfc_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (text, want) in cases {
            assert_eq!(base64(text.as_bytes()), want);
        }
        assert_eq!(
            basic_credentials("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }
}
