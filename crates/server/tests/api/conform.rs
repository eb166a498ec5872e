//! Every answer the API test suite receives conforms to the served OpenAPI document: its status
//! is listed for the operation, and a JSON body matches the listed schema. [`check`] runs on every
//! answer that goes through `Harness::send` (so on every test of this suite that uses the
//! harness), and panics naming the operation and the mismatch.
//!
//! The validator covers the part of JSON Schema 2020-12 the document uses: `$ref` to
//! `#/components/schemas/…`, `type` (one or several), `enum`, `const`, `pattern`, `minimum`,
//! `maximum`, `minLength`, `maxLength`, `required`, `properties`, `additionalProperties`,
//! `items`, `minItems`, `maxItems`, `allOf`, `oneOf`. A keyword it does not know fails the check, so the document cannot use one
//! silently.

use std::sync::OnceLock;

use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::Value;

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(starkroute_server::api::openapi_document)
}

/// The documented path template `uri`'s path matches, if any.
fn template_of<'a>(doc: &'a Value, path: &str) -> Option<(&'a str, &'a Value)> {
    let segs: Vec<&str> = path.split('/').collect();
    doc["paths"].as_object()?.iter().find_map(|(template, ops)| {
        let t: Vec<&str> = template.split('/').collect();
        let matches = t.len() == segs.len()
            && t.iter().zip(&segs).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
        matches.then_some((template.as_str(), ops))
    })
}

/// Checks one answer against the document; panics on a mismatch.
pub(crate) fn check(
    method: &Method,
    uri: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Value,
) {
    if let Err(e) = conforms(method, uri, status, headers, body) {
        panic!("{method} {uri} → {status}: does not conform to /openapi.json: {e}\nbody: {body}");
    }
}

pub(crate) fn conforms(
    method: &Method,
    uri: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Value,
) -> Result<(), String> {
    let doc = document();
    let path = uri.split('?').next().unwrap_or_default();
    // Paths the document does not describe are the fallback's (404 `no_such_endpoint`).
    let Some((template, ops)) = template_of(doc, path) else {
        return if status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err("an undocumented path answered other than 404".into())
        };
    };
    let Some(op) = ops.get(method.as_str().to_ascii_lowercase()) else {
        return if status == StatusCode::METHOD_NOT_ALLOWED {
            Ok(())
        } else {
            Err(format!("{template} does not document {method}, and the answer is not a 405"))
        };
    };
    let Some(response) = op["responses"].get(status.as_str()) else {
        return Err(format!("status {} is not listed for {method} {template}", status.as_str()));
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return if body.is_null() || body.as_str() == Some("") {
            Ok(())
        } else {
            Err(format!("a body where {method} {template} {status} documents none"))
        };
    };
    let Some(media) = content.get(&content_type) else {
        return Err(format!(
            "content type {content_type:?} is not documented ({:?} are)",
            content.keys().collect::<Vec<_>>()
        ));
    };
    match (content_type.as_str(), media.get("schema")) {
        ("application/json", Some(schema)) => validate(doc, schema, body, "$"),
        _ => Ok(()),
    }
}

/// Checks that a request body the server accepted is valid against the operation's documented
/// request schema (the document allows what the server accepts); panics otherwise.
pub(crate) fn check_request(method: &Method, uri: &str, body: &Value) {
    let doc = document();
    let path = uri.split('?').next().unwrap_or_default();
    let Some((template, ops)) = template_of(doc, path) else { return };
    let op = &ops[method.as_str().to_ascii_lowercase()];
    let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") else {
        panic!("{method} {template} accepted a body it does not document: {body}");
    };
    if let Err(e) = validate(doc, schema, body, "$") {
        panic!(
            "{method} {template} accepted a body its documented schema refuses: {e}\nbody: {body}"
        );
    }
}

fn type_matches(t: &str, v: &Value) -> Result<bool, String> {
    Ok(match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        other => return Err(format!("unknown type {other:?} in the document")),
    })
}

/// Validates `v` against `schema` (see the module documentation for the keywords).
pub(crate) fn validate(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let Some(s) = schema.as_object() else {
        return match schema {
            Value::Bool(true) => Ok(()),
            _ => Err(format!("{at}: the schema is not an object")),
        };
    };
    for (k, rule) in s {
        match k.as_str() {
            "description" | "default" | "title" | "examples" | "format" => {}
            "$ref" => {
                let name = rule
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    .ok_or_else(|| format!("{at}: unsupported $ref {rule}"))?;
                let target = &doc["components"]["schemas"][name];
                if target.is_null() {
                    return Err(format!("{at}: $ref to a missing schema {name}"));
                }
                validate(doc, target, v, at)?;
            }
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => return Err(format!("{at}: bad type {rule}")),
                };
                let mut ok = false;
                for t in &types {
                    ok |= type_matches(t, v)?;
                }
                if !ok {
                    return Err(format!("{at}: {v} is not of type {types:?}"));
                }
            }
            "enum" => {
                if !rule.as_array().is_some_and(|e| e.contains(v)) {
                    return Err(format!("{at}: {v} is not one of {rule}"));
                }
            }
            "const" => {
                if rule != v {
                    return Err(format!("{at}: {v} is not {rule}"));
                }
            }
            "pattern" => {
                if let Some(text) = v.as_str() {
                    let re = regex::Regex::new(rule.as_str().unwrap_or_default())
                        .map_err(|e| format!("{at}: bad pattern: {e}"))?;
                    if !re.is_match(text) {
                        return Err(format!("{at}: {text:?} does not match {rule}"));
                    }
                }
            }
            "minimum" | "maximum" => {
                if let (Some(x), Some(bound)) = (v.as_f64(), rule.as_f64()) {
                    if (k == "minimum" && x < bound) || (k == "maximum" && x > bound) {
                        return Err(format!("{at}: {x} is beyond {k} {bound}"));
                    }
                }
            }
            "minLength" | "maxLength" => {
                if let (Some(text), Some(n)) = (v.as_str(), rule.as_u64()) {
                    let len = text.chars().count() as u64;
                    if (k == "minLength" && len < n) || (k == "maxLength" && len > n) {
                        return Err(format!("{at}: length {len} is beyond {k} {n}"));
                    }
                }
            }
            "required" => {
                if let Some(obj) = v.as_object() {
                    for r in rule.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if !obj.contains_key(r) {
                            return Err(format!("{at}: required property {r:?} is missing"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(obj) = v.as_object() {
                    for (name, sub) in rule.as_object().into_iter().flatten() {
                        if let Some(value) = obj.get(name) {
                            validate(doc, sub, value, &format!("{at}.{name}"))?;
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(obj) = v.as_object() {
                    let known = s.get("properties").and_then(Value::as_object);
                    for (name, value) in obj {
                        if known.is_some_and(|p| p.contains_key(name)) {
                            continue;
                        }
                        match rule {
                            Value::Bool(false) => {
                                return Err(format!("{at}: property {name:?} is not documented"))
                            }
                            Value::Bool(true) => {}
                            sub => validate(doc, sub, value, &format!("{at}.{name}"))?,
                        }
                    }
                }
            }
            "items" => {
                if let Some(items) = v.as_array() {
                    for (i, item) in items.iter().enumerate() {
                        validate(doc, rule, item, &format!("{at}[{i}]"))?;
                    }
                }
            }
            "minItems" | "maxItems" => {
                if let (Some(items), Some(n)) = (v.as_array(), rule.as_u64()) {
                    let len = items.len() as u64;
                    if (k == "minItems" && len < n) || (k == "maxItems" && len > n) {
                        return Err(format!("{at}: {len} items is beyond {k} {n}"));
                    }
                }
            }
            "allOf" => {
                for sub in rule.as_array().into_iter().flatten() {
                    validate(doc, sub, v, at)?;
                }
            }
            "oneOf" => {
                let n = rule
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|sub| validate(doc, sub, v, at).is_ok())
                    .count();
                if n != 1 {
                    return Err(format!("{at}: {v} matches {n} of oneOf {rule}, not one"));
                }
            }
            other => return Err(format!("{at}: the checker does not know the keyword {other:?}")),
        }
    }
    Ok(())
}

#[test]
fn the_checker_refuses_what_the_document_does_not_allow() {
    let doc = document();
    let h = HeaderMap::from_iter([(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    )]);
    let route_ok =
        serde_json::json!({ "error": { "code": "route_not_found", "message": "no route" } });
    let get = Method::GET;
    let id = "/v1/routes/01JZZZZZZZZZZZZZZZZZZZZZZZ";
    assert!(conforms(&get, id, StatusCode::NOT_FOUND, &h, &route_ok).is_ok());
    // A status the operation does not list.
    assert!(conforms(&get, id, StatusCode::GONE, &h, &route_ok).is_err());
    // A body that is not the error shape.
    assert!(
        conforms(&get, id, StatusCode::NOT_FOUND, &h, &serde_json::json!({ "oops": 1 })).is_err()
    );
    // A route whose status is not a RouteStatus.
    let bad = serde_json::json!({ "id": "01JZZZZZZZZZZZZZZZZZZZZZZZ", "status": "teleported", "legs": [] });
    assert!(conforms(&get, id, StatusCode::OK, &h, &bad).is_err());
    // An undocumented content type.
    let text = HeaderMap::from_iter([(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html"),
    )]);
    assert!(conforms(&get, id, StatusCode::NOT_FOUND, &text, &route_ok).is_err());
    // The request schemas are what the server enforces: an amount in hex does not match.
    let amount = &doc["components"]["schemas"]["QuoteRequest"]["properties"]["amount"];
    assert!(validate(doc, amount, &serde_json::json!("0x5f5e100"), "$").is_err());
    assert!(validate(doc, amount, &serde_json::json!("100000000"), "$").is_ok());
}
