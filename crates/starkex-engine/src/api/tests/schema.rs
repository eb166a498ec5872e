//! Conformance to the spec: a small Swagger 2.0 schema validator over
//! `../shared/specs/imx-openapi.json` (read at test time from beside the repository, never copied
//! into it), and the check [`super::call`] runs on every answer.
//!
//! It validates what the spec's response schemas use: `$ref` to `#/definitions/…`, `allOf`,
//! `type` (object, array, string, integer, number, boolean), `required`, `properties`, `items`,
//! `enum`, `minItems`, `maximum`, and Swagger's `x-nullable` (a `null` is only accepted there).
//! Properties the schema does not name are allowed (Swagger's default).

use std::sync::OnceLock;

use serde_json::Value;

/// The spec, loaded once per test binary.
pub(super) fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/imx-openapi.json");
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("the spec is read at test time from {path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    })
}

/// Paths the sandbox serves beyond the spec (the data-availability service `escape` needs). Their
/// errors are still checked against `APIError`.
const SANDBOX_ONLY: &[&str] = &["/v1/availability/roots", "/v1/availability/vaults/{}"];

/// The spec's path template matching a concrete path: literal segments must be equal, `{…}`
/// segments match any non-empty segment; among several matches the most literal wins.
pub(super) fn spec_path(path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    let paths = spec()["paths"].as_object()?;
    paths
        .keys()
        .filter_map(|template| {
            let t: Vec<&str> = template.split('/').collect();
            if t.len() != segs.len() {
                return None;
            }
            let mut literal = 0;
            for (a, b) in t.iter().zip(&segs) {
                if a.starts_with('{') && a.ends_with('}') {
                    if b.is_empty() {
                        return None;
                    }
                } else if a == b {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, t)| t)
}

fn sandbox_only(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    SANDBOX_ONLY.iter().any(|t| {
        let t: Vec<&str> = t.split('/').collect();
        t.len() == segs.len() && t.iter().zip(&segs).all(|(a, b)| *a == "{}" || a == b)
    })
}

/// Checks one answer against the spec: the schema of `responses[status]` of the operation, or
/// `APIError` for an error status the operation does not list. A path or method the spec does
/// not have may only answer an error (404 for an unknown path, 405 for an unknown method), unless
/// it is one of the sandbox's own paths. Returns why it does not conform.
pub(super) fn check_response(
    method: &str,
    uri: &str,
    status: u16,
    body: &Value,
) -> Result<(), String> {
    let path = uri.split('?').next().unwrap_or(uri);
    let api_error = serde_json::json!({"$ref": "#/definitions/APIError"});
    let op = spec_path(path)
        .and_then(|t| spec()["paths"][t].get(method.to_ascii_lowercase()).map(|op| (t, op)));
    let schema = match op {
        Some((_, op)) => match op["responses"].get(status.to_string()) {
            Some(r) => match r.get("schema") {
                Some(s) => s.clone(),
                None => return Ok(()),
            },
            None if status >= 400 => api_error,
            None => {
                return Err(format!("{method} {path}: the spec lists no {status} answer"));
            }
        },
        None if status >= 400 => api_error,
        None if sandbox_only(path) => return Ok(()),
        None => return Err(format!("{method} {path}: not in the spec, yet it answered {status}")),
    };
    let at = format!("{method} {path} → {status}");
    validate(&schema, body, &at)
}

fn resolve(schema: &Value) -> Result<&Value, String> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name =
                r.strip_prefix("#/definitions/").ok_or_else(|| format!("unsupported $ref {r}"))?;
            spec()["definitions"].get(name).ok_or_else(|| format!("unknown definition {name}"))
        }
        None => Ok(schema),
    }
}

/// Validates `v` against `schema`; `at` names where, for the message.
pub(super) fn validate(schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(schema)?;
    if v.is_null() {
        let nullable = schema.get("x-nullable") == Some(&Value::Bool(true));
        let untyped = schema.get("type").is_none() && schema.get("allOf").is_none();
        return if nullable || untyped {
            Ok(())
        } else {
            Err(format!("{at}: null where the spec does not allow it"))
        };
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(s, v, at)?;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            return Err(format!("{at}: {v} is not one of {options:?}"));
        }
    }
    let ty = schema.get("type").and_then(Value::as_str).or_else(|| {
        (schema.get("properties").is_some() || schema.get("required").is_some()).then_some("object")
    });
    match ty {
        None => Ok(()),
        Some("object") => {
            let obj = v.as_object().ok_or_else(|| format!("{at}: expected an object, got {v}"))?;
            for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = r.as_str().unwrap_or_default();
                if !obj.contains_key(name) {
                    return Err(format!("{at}: the required field {name:?} is missing in {v}"));
                }
            }
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    if let Some(x) = obj.get(name) {
                        validate(sub, x, &format!("{at}.{name}"))?;
                    }
                }
            }
            Ok(())
        }
        Some("array") => {
            let items = v.as_array().ok_or_else(|| format!("{at}: expected an array, got {v}"))?;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if (items.len() as u64) < min {
                    return Err(format!("{at}: fewer than {min} items"));
                }
            }
            if let Some(item) = schema.get("items") {
                for (i, x) in items.iter().enumerate() {
                    validate(item, x, &format!("{at}[{i}]"))?;
                }
            }
            Ok(())
        }
        Some("string") if v.is_string() => Ok(()),
        Some("integer") if v.is_i64() || v.is_u64() => Ok(()),
        Some("number") if v.is_number() => {
            match (schema.get("maximum").and_then(Value::as_f64), v.as_f64()) {
                (Some(max), Some(x)) if x > max => Err(format!("{at}: {x} is above {max}")),
                _ => Ok(()),
            }
        }
        Some("boolean") if v.is_boolean() => Ok(()),
        Some(t) => Err(format!("{at}: expected {t}, got {v}")),
    }
}

/// The validator itself: it must refuse what the spec refuses, or the conformance check proves
/// nothing.
#[test]
fn the_validator_refuses_missing_fields_wrong_types_and_nulls() {
    let ok = serde_json::json!({"code": "x", "message": "y"});
    assert!(check_response("GET", "/v1/deposits/1", 404, &ok).is_ok());
    let missing = serde_json::json!({"code": "x"});
    let e = check_response("GET", "/v1/deposits/1", 404, &missing).unwrap_err();
    assert!(e.contains("\"message\""), "{e}");
    let user = serde_json::json!({"accounts": ["0x1"]});
    assert!(check_response("GET", "/v1/users/0xab", 200, &user).is_ok());
    let wrong = serde_json::json!({"accounts": "0x1"});
    assert!(check_response("GET", "/v1/users/0xab", 200, &wrong).is_err());
    let balance = serde_json::json!({"balance": "1", "preparing_withdrawal": "0",
        "symbol": "ETH", "token_address": "", "withdrawable": 0});
    let e = check_response("GET", "/v2/balances/0xab/eth", 200, &balance).unwrap_err();
    assert!(e.contains("withdrawable"), "{e}");
    // `x-nullable` fields take null, others do not.
    let tx = serde_json::json!({"transaction_id": 1, "status": "success", "user": "0x1",
        "receiver": "0x2", "timestamp": null, "token": {"type": "ETH", "data": {"quantity": "1",
        "quantity_with_fees": "1"}}});
    assert!(check_response("GET", "/v1/transfers/1", 200, &tx).is_ok());
    let mut bad = tx.clone();
    bad["token"]["data"]["quantity"] = Value::Null;
    assert!(check_response("GET", "/v1/transfers/1", 200, &bad).is_err());
    // A success on a path the spec does not have is refused; the sandbox's own paths pass.
    assert!(check_response("GET", "/v1/nothing", 200, &ok).is_err());
    assert!(check_response("GET", "/v1/availability/roots", 200, &ok).is_ok());
    assert_eq!(spec_path("/v1/assets/0xab/12"), Some("/v1/assets/{token_address}/{token_id}"));
    assert_eq!(spec_path("/v1/collections-summary"), Some("/v1/collections-summary"));
}
