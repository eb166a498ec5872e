//! The OpenAPI 3.1 document, generated (utoipa) from the code that serves the API: each
//! handler carries a `#[utoipa::path(...)]` annotation naming its path, parameters, body and the
//! statuses it answers; the request and answer types derive `ToSchema` (the view types in
//! `view.rs`, `quotes.rs`, `webhooks.rs`, … are what the handlers serialise); and [`table`] is
//! the one list of handlers that both builds the axum router and collects the document, so a
//! served path cannot be missing from it.
//!
//! What the annotations do not say is added here, once for all operations: the statuses the
//! middleware and the body reader answer for every operation ([`add_shared_responses`]), the
//! bearer-key security scheme, and `additionalProperties: false` on every object schema whose
//! fields are all listed (an answer with an undocumented field fails the conformance check).
//!
//! To add an endpoint: write the handler with its `#[utoipa::path]` (every status it returns
//! besides the shared ones), derive `Serialize + ToSchema` on its answer type and
//! `Deserialize + ToSchema` on its body, and add `.routes(routes!(module::handler))` to
//! [`table`]. A field added to a type that derives `ToSchema` appears in the document by itself.

use std::sync::OnceLock;

use serde_json::{json, Value};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{assets, events, ops, quotes, routes as route_api, track, webhooks, AppState};

#[derive(OpenApi)]
#[openapi(components(schemas(super::view::EventView<'static>)), info(
    title = "starkroute",
    description = "Quotes and durable execution of asset routes between StarkEx, Starknet and Ethereum L1. \
        Every /v1 endpoint needs `Authorization: Bearer <API key>`; a key maps to a tenant, which sees only its own routes. \
        Amounts are integers of base units, as strings. Errors have one shape: `{\"error\": {\"code\", \"message\", \"field\"}}`."
))]
struct Info;

/// Every endpoint: the router and the document are both built from this table.
pub(crate) fn table() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Info::openapi())
        .routes(routes!(quotes::create))
        .routes(routes!(route_api::create, route_api::list))
        .routes(routes!(route_api::get))
        .routes(routes!(events::stream))
        .routes(routes!(route_api::signature))
        .routes(routes!(route_api::cancel))
        .routes(routes!(assets::list))
        .routes(routes!(assets::readiness))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::delivery))
        .routes(routes!(webhooks::retry))
        .routes(routes!(webhooks::events))
        .routes(routes!(track::reissue, track::revoke))
        .routes(routes!(track::tenant_page))
        .routes(routes!(track::asset))
        .routes(routes!(track::page))
        .routes(routes!(track::route_json))
        .routes(routes!(track::events))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi))
}

fn err(desc: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// Adds the answers every operation can give besides its own: on `/v1`, 401 (no or unknown
/// key), 429 (the tenant's rate limit), 500 (an internal failure, detail logged) and 503 (a
/// dependency unavailable, or the request timeout); on an operation with a request body, 400
/// (not JSON, not an object, a key given twice), 408 (the body stopped arriving), 413 (too large),
/// 415 (not `application/json`) and 422 (a field that does not fit, or an unknown one); on every
/// operation, 503 (the request timeout).
fn add_shared_responses(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else { continue };
        for op in ops.values_mut() {
            let has_body = op.get("requestBody").is_some();
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            let mut shared = vec![(
                "503",
                "Unavailable: the request timed out (`timeout`, api.request_timeout_ms), too many event streams are open (`too_many_streams`), or a dependency does not answer; retry after `Retry-After`.",
            )];
            if path.starts_with("/v1/") {
                shared.extend([
                    ("401", "No or unknown API key (`unauthorized`)."),
                    ("429", "The tenant's rate limit (`rate_limited`, with `Retry-After` in seconds), or its open event streams (`too_many_streams`)."),
                    ("500", "An internal failure; its detail is in the server's log, not here."),
                ]);
            }
            if has_body {
                shared.extend([
                    ("400", "The body is not JSON (`malformed_json`), gives a key twice, or is not a JSON object (`not_an_object`); `error.field` is `body` or the key's path."),
                    ("408", "The body stopped arriving (`body_timeout`, api.body_timeout_ms)."),
                    ("413", "The body is larger than api.body_limit_bytes (`body_too_large`)."),
                    ("415", "The body is not sent with Content-Type: application/json (`unsupported_media_type`)."),
                    ("422", "A field of the body does not fit its schema: unknown, missing, or of the wrong type or value (`invalid_field`); `error.field` is its path."),
                ]);
            }
            for (status, desc) in shared {
                responses.entry(status).or_insert_with(|| err(desc));
            }
        }
    }
}

/// Closes every object schema that lists its properties and says nothing of others: the
/// server's answers and accepted bodies have exactly the fields of their Rust types.
fn close_objects(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let listed = o.contains_key("properties");
            let is_object = o.get("type").is_some_and(|t| t == "object");
            if listed && is_object && !o.contains_key("additionalProperties") {
                o.insert("additionalProperties".into(), Value::Bool(false));
            }
            o.values_mut().for_each(close_objects);
        }
        Value::Array(a) => a.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Merges each `allOf` of object schemas (what `#[serde(flatten)]` derives) into one object
/// schema, so that it can be closed like the others.
fn merge_all_of(v: &mut Value, schemas: &serde_json::Map<String, Value>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(parts)) = o.get("allOf") {
                let mut merged = serde_json::Map::new();
                let (mut props, mut required) = (serde_json::Map::new(), Vec::new());
                for part in parts {
                    let part = match part["$ref"].as_str() {
                        Some(r) => {
                            let name = r.trim_start_matches("#/components/schemas/");
                            schemas.get(name).cloned().unwrap_or(Value::Null)
                        }
                        None => part.clone(),
                    };
                    if let Some(p) = part["properties"].as_object() {
                        props.extend(p.clone());
                    }
                    if let Some(r) = part["required"].as_array() {
                        required.extend(r.iter().cloned());
                    }
                }
                merged.insert("type".into(), json!("object"));
                merged.insert("properties".into(), Value::Object(props));
                merged.insert("required".into(), Value::Array(required));
                if let Some(d) = o.get("description") {
                    merged.insert("description".into(), d.clone());
                }
                *o = merged;
            }
            o.values_mut().for_each(|x| merge_all_of(x, schemas));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| merge_all_of(x, schemas)),
        _ => {}
    }
}

/// utoipa 5.5 writes a link's fields in snake case; OpenAPI spells them in camel case.
fn camel_case_links(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Object(links)) = o.get_mut("links") {
                for link in links.values_mut().filter_map(Value::as_object_mut) {
                    for (from, to) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(x) = link.remove(from) {
                            link.insert(to.into(), x);
                        }
                    }
                }
            }
            o.values_mut().for_each(camel_case_links);
        }
        Value::Array(a) => a.iter_mut().for_each(camel_case_links),
        _ => {}
    }
}

/// The document, as JSON.
pub fn document() -> Value {
    let api = table().into_openapi();
    let mut doc = serde_json::to_value(&api).unwrap_or(Value::Null);
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    doc["security"] = json!([{ "apiKey": [] }]);
    doc["components"]["securitySchemes"] = json!({ "apiKey": {
        "type": "http", "scheme": "bearer",
        "description": "An API key; the server keeps only its SHA-256." } });
    add_shared_responses(&mut doc);
    camel_case_links(&mut doc);
    let components = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
    merge_all_of(&mut doc, &components);
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        close_objects(schemas);
    }
    if let Some(paths) = doc.get_mut("paths") {
        close_objects(paths);
    }
    doc
}

/// The document's bytes, built once (what `GET /openapi.json` answers).
pub(crate) fn document_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| serde_json::to_vec(&document()).unwrap_or_default())
}
