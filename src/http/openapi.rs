//! The OpenAPI 3.1 description of the HTTP API, generated from the handlers'
//! `#[utoipa::path]` annotations and the types they answer with. Served at
//! `GET /api/openapi.json`; `docs/openapi.json` is the same document, checked by a
//! test so that it never drifts from the code.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{admin, api, dashboard, metrics, ws};

/// The whole API. Add each new handler to `paths` here; its schemas follow.
#[derive(OpenApi)]
#[openapi(
    info(title = "watchpost", description = "Resilient polling daemon for HAProxy backends and \
        Eureka registries, with live events. Prose reference: docs/api.md."),
    paths(
        api::healthz, api::health, api::backends, api::instances, api::applications,
        api::targets, api::target, api::events, serve, metrics::metrics, ws::upgrade,
        admin::reset_circuit, admin::recover, admin::polling, admin::server_state,
        admin::reload, dashboard::index, dashboard::asset,
    ),
    modifiers(&AdminToken),
    tags(
        (name = "health", description = "Liveness and health"),
        (name = "state", description = "The committed state of the targets"),
        (name = "events", description = "The event log and the live stream"),
        (name = "admin", description = "Commands; `Authorization: Bearer <[server] admin_token>`"),
        (name = "metrics", description = "Prometheus metrics"),
        (name = "meta", description = "This description"),
        (name = "dashboard", description = "The embedded dashboard"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer token the admin endpoints require.
struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("`[server] admin_token` of the configuration"))
            .build();
        api.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("admin_token", SecurityScheme::Http(scheme));
    }
}

/// The document as served and as committed in `docs/openapi.json`.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n"
}

/// This description of the API (OpenAPI 3.1).
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", responses(
    (status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn serve() -> HttpResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOC.get_or_init(document).as_str())
}

#[cfg(test)]
mod tests {
    use super::document;

    /// `docs/openapi.json` is what the code generates. After a change of the API, write
    /// it again with `WATCHPOST_WRITE_OPENAPI=1 cargo test --lib openapi`.
    #[test]
    fn committed_document_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
        let generated = document();
        if std::env::var_os("WATCHPOST_WRITE_OPENAPI").is_some() {
            std::fs::write(path, &generated).expect("write docs/openapi.json");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json differs from the code: run \
             WATCHPOST_WRITE_OPENAPI=1 cargo test --lib openapi and commit it"
        );
    }

    #[test]
    fn every_operation_answers_errors_in_one_shape() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/api/targets/{id}"));
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                for (code, answer) in op["responses"].as_object().unwrap() {
                    let body = &answer["content"]["application/json"]["schema"]["$ref"];
                    if code.starts_with('4') && body.is_string() {
                        assert_eq!(body, "#/components/schemas/ErrorBody", "{method} {path}");
                    }
                }
            }
        }
    }
}
