//! The OpenAPI 3.1 description of the HTTP API, generated from the handlers'
//! `#[utoipa::path]` annotations and the types they answer with. Served at
//! `GET /api/openapi.json`; `docs/openapi.json` is the same document, checked by a
//! test so that it never drifts from the code.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    admin, alerts, api, dashboard, drift, haproxy, health, metrics, notifiers, transactions, ws,
};

/// The whole API. Add each new handler to `paths` here; its schemas follow.
#[derive(OpenApi)]
#[openapi(
    info(title = "watchpost", description = "Resilient polling daemon for HAProxy backends and \
        Eureka registries, with live events. Prose reference: docs/api.md."),
    paths(
        health::healthz, health::health, api::backends, api::instances, api::applications,
        api::targets, api::target, api::events, serve, metrics::metrics, ws::upgrade,
        admin::reset_circuit, admin::recover, admin::polling, admin::server_state,
        admin::reload, dashboard::index, dashboard::asset, alerts::alerts, alerts::silences,
        alerts::create, alerts::end, notifiers::list, notifiers::send_test,
        haproxy::instances, haproxy::validate, transactions::create, transactions::list,
        transactions::one, drift::drift, drift::history_of,
    ),
    modifiers(&AdminToken),
    tags(
        (name = "health", description = "Liveness and health"),
        (name = "state", description = "The committed state of the targets"),
        (name = "events", description = "The event log and the live stream"),
        (name = "admin", description = "Commands; `Authorization: Bearer <[server] admin_token>`"),
        (name = "alerts", description = "Alerts and silences"),
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

/// The methods the description lists for a request path (`GET`, `POST`), none for
/// an unknown path. A `{id}` (a target id) spans one or more segments, any other
/// `{name}` exactly one.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    static ROUTES: OnceLock<Vec<(Vec<String>, Vec<&'static str>)>> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        let methods = ["get", "post", "put", "delete", "patch"];
        paths
            .iter()
            .map(|(template, item)| {
                let allowed = methods.iter().filter(|m| item.get(**m).is_some());
                (segments(template), allowed.map(|m| upper(m)).collect())
            })
            .collect()
    });
    let asked = segments(path);
    routes
        .iter()
        .find(|(template, _)| matches(template, &asked))
        .map(|(_, methods)| methods.clone())
        .unwrap_or_default()
}

fn upper(method: &str) -> &'static str {
    match method {
        "get" => "GET",
        "post" => "POST",
        "put" => "PUT",
        "delete" => "DELETE",
        _ => "PATCH",
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/').skip(1).map(str::to_string).collect()
}

fn matches(template: &[String], asked: &[String]) -> bool {
    match (template.split_first(), asked.split_first()) {
        (None, None) => true,
        (Some((t, rest)), Some((a, _))) if t == "{id}" => {
            !a.is_empty() && (1..=asked.len()).any(|n| matches(rest, &asked[n..]))
        }
        (Some((t, rest)), Some((a, more))) if t.starts_with('{') => {
            !a.is_empty() && matches(rest, more)
        }
        (Some((t, rest)), Some((a, more))) => t == a && matches(rest, more),
        _ => false,
    }
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

    /// Every path registered with `.route("...")` in src/http is described.
    #[test]
    fn every_route_is_described() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
        let mut missing = Vec::new();
        for source in rust_files(std::path::Path::new(dir)) {
            let text = std::fs::read_to_string(&source).unwrap();
            for piece in text.split("route(").skip(1) {
                let Some(path) = piece.trim_start().strip_prefix('"') else {
                    continue;
                };
                let path = path.split('"').next().unwrap().replace(":.+}", "}");
                if path.starts_with('/') && doc["paths"].get(&path).is_none() {
                    missing.push(path);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "not in the OpenAPI description: {missing:?}"
        );
    }

    fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(rust_files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
        out
    }

    /// Every answer with a body and every request body is described by a schema
    /// with properties (or a list, a text, a `oneOf`), never by a bare `object`;
    /// the description itself is the one exception.
    #[test]
    fn every_body_is_typed() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        let mut bare = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let answers = op["responses"].as_object().unwrap().iter();
                let request = op.get("requestBody").map(|b| ("request", b));
                for (what, body) in answers.map(|(c, a)| (c.as_str(), a)).chain(request) {
                    for media in body["content"]
                        .as_object()
                        .into_iter()
                        .flat_map(|c| c.values())
                    {
                        let schema = &media["schema"];
                        if schema.get("type") == Some(&"object".into())
                            && schema.get("properties").is_none()
                            && path != "/api/openapi.json"
                        {
                            bare.push(format!("{method} {path} {what}"));
                        }
                    }
                }
            }
        }
        assert!(
            bare.is_empty(),
            "bodies described as a bare object: {bare:?}"
        );
    }

    #[test]
    fn allowed_methods_follow_the_description() {
        use super::allowed_methods;
        assert_eq!(allowed_methods("/api/health"), ["GET"]);
        assert_eq!(allowed_methods("/"), ["GET"]);
        assert_eq!(
            allowed_methods("/api/targets/haproxy/fdmz01/jurws"),
            ["GET"]
        );
        let state = "/api/admin/targets/haproxy/fdmz01/jurws/servers/app1/state";
        assert_eq!(allowed_methods(state), ["POST"]);
        assert!(allowed_methods("/api/targets/").is_empty());
        assert!(allowed_methods("/api/nope").is_empty());
        assert!(allowed_methods("/api/admin/targets/x/servers//state").is_empty());
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
                    let body = &answer["content"]["application/json"]["schema"];
                    if code.starts_with('4') || code.starts_with('5') {
                        let name = body["$ref"].as_str().unwrap_or_default();
                        let name = name.trim_start_matches("#/components/schemas/");
                        let schema = &doc["components"]["schemas"][name];
                        let error = &schema["properties"]["error"]["$ref"];
                        let error_shaped = error == "#/components/schemas/ErrorDetail";
                        let untyped = body.is_null() && answer.get("content").is_none();
                        // The health checks answer their verdict, also with 503.
                        let verdict = path.contains("health") && code == "503";
                        assert!(error_shaped || untyped || verdict, "{method} {path} {code}");
                    }
                }
            }
        }
    }
}
