//! The webhook endpoints' part of the OpenAPI document (kept apart from `openapi.rs`, which
//! [`extend`] adds to).

use serde_json::{json, Value};

fn err(desc: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok(desc: &str, schema: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn webhook_id() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": "The webhook's id (`wh_` and a ULID).", "schema": { "type": "string" } })
}

fn delivery_no() -> Value {
    json!({ "name": "n", "in": "path", "required": true, "description": "The delivery's number.", "schema": { "type": "integer", "minimum": 1 } })
}

fn no_body() -> Value {
    json!({ "required": false, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false } } } })
}

/// Adds the webhook paths and schemas to the document.
pub(crate) fn extend(doc: &mut Value) {
    let unauthorized = err("No or unknown API key.");
    let invalid = err("A field is invalid; `error.field` names it.");
    let not_found =
        err("No such webhook (or delivery) for this tenant; another tenant's included.");
    let kinds: Vec<&str> =
        std::iter::once("*").chain(crate::webhooks::EVENT_KINDS.iter().copied()).collect();
    let paths = json!({
        "/v1/webhooks": {
            "post": {
                "summary": "Register a webhook endpoint for the tenant's route events; answers its signing secret, once.",
                "description": "Each delivery is a POST of an Event (JSON) with `Starkroute-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" under the secret>` (one `v1` per valid secret while a rotated-out one is in its grace period), `Starkroute-Event-Id` (the same on every retry and replay: de-duplicate on it), `Starkroute-Event-Type` and `Starkroute-Delivery`. \
                    Any 2xx acknowledges it. Timeouts, connection errors, 408, 429 and 5xx are retried with exponential backoff and jitter for 24 hours (configurable); other answers stop that delivery. A route's events arrive in order. \
                    On a configured network a URL resolving to a loopback, private or link-local address is refused (422); the sandbox allows it.",
                "operationId": "createWebhook",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewWebhook" } } } },
                "responses": {
                    "201": ok("The endpoint, with `secret` (shown only now).", "WebhookWithSecret"),
                    "400": err("The body is not JSON."), "401": unauthorized.clone(),
                    "409": err("The tenant has as many webhooks as allowed."),
                    "413": err("The body is too large."), "415": err("The body is not application/json."),
                    "422": invalid.clone()
                }
            },
            "get": {
                "summary": "The tenant's webhook endpoints (without secrets).",
                "operationId": "listWebhooks",
                "responses": { "200": ok("The endpoints.", "WebhookList"), "401": unauthorized.clone() }
            }
        },
        "/v1/webhooks/{id}": {
            "get": {
                "summary": "A webhook endpoint (without its secret).",
                "operationId": "getWebhook",
                "parameters": [ webhook_id() ],
                "responses": { "200": ok("The endpoint.", "Webhook"), "401": unauthorized.clone(), "404": not_found.clone() }
            },
            "delete": {
                "summary": "Delete a webhook endpoint and its pending deliveries.",
                "operationId": "deleteWebhook",
                "parameters": [ webhook_id() ],
                "responses": { "204": { "description": "Deleted." }, "401": unauthorized.clone(), "404": not_found.clone() }
            }
        },
        "/v1/webhooks/{id}/rotate-secret": {
            "post": {
                "summary": "Replace the signing secret; the previous one keeps signing until `previous_secret_expires_at`.",
                "operationId": "rotateWebhookSecret",
                "parameters": [ webhook_id() ],
                "requestBody": no_body(),
                "responses": { "200": ok("The endpoint, with the new `secret`.", "WebhookWithSecret"), "401": unauthorized.clone(), "404": not_found.clone() }
            }
        },
        "/v1/webhooks/{id}/deliveries": {
            "get": {
                "summary": "The endpoint's deliveries, newest first, with their last attempt.",
                "operationId": "listWebhookDeliveries",
                "parameters": [
                    webhook_id(),
                    { "name": "before", "in": "query", "description": "`next` of the previous page.", "schema": { "type": "integer" } },
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 100 } }
                ],
                "responses": { "200": ok("A page.", "DeliveryPage"), "401": unauthorized.clone(), "404": not_found.clone(), "422": invalid.clone() }
            }
        },
        "/v1/webhooks/{id}/deliveries/{n}": {
            "get": {
                "summary": "A delivery with every attempt (status, latency, error, the first bytes of the answer).",
                "operationId": "getWebhookDelivery",
                "parameters": [ webhook_id(), delivery_no() ],
                "responses": { "200": ok("The delivery; `attempt_log` lists its attempts.", "Delivery"), "401": unauthorized.clone(), "404": not_found.clone(), "422": invalid.clone() }
            }
        },
        "/v1/webhooks/{id}/deliveries/{n}/retry": {
            "post": {
                "summary": "Send a delivery again (delivered, given up or waiting): queued now, retried for the horizon from now.",
                "operationId": "retryWebhookDelivery",
                "parameters": [ webhook_id(), delivery_no() ],
                "requestBody": no_body(),
                "responses": { "202": ok("The delivery, pending.", "Delivery"), "401": unauthorized.clone(), "404": not_found.clone(), "422": invalid.clone() }
            }
        },
        "/v1/events": {
            "get": {
                "summary": "Every event of the tenant's routes after a cursor: catch up on what a webhook receiver missed.",
                "description": "Start with no `after` (or 0) and pass `next_cursor` back. Each route's events come in order; an event committed later always comes after the cursor already handed out, so nothing is missed.",
                "operationId": "listEvents",
                "parameters": [
                    { "name": "after", "in": "query", "schema": { "type": "string", "pattern": "^[0-9]+$" } },
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 100 } }
                ],
                "responses": { "200": ok("A page of events.", "EventLogPage"), "401": unauthorized, "422": invalid }
            }
        }
    });
    let schemas = json!({
        "NewWebhook": { "type": "object", "additionalProperties": false, "required": ["url", "events"], "properties": {
            "url": { "type": "string", "format": "uri", "description": "http(s), no credentials, at most 2048 characters." },
            "events": { "type": "array", "minItems": 1, "maxItems": 64, "items": { "type": "string", "enum": kinds } },
            "description": { "type": "string", "maxLength": 256 } } },
        "Webhook": { "type": "object", "required": ["id", "url", "events"], "properties": {
            "id": { "type": "string" }, "url": { "type": "string" },
            "events": { "type": "array", "items": { "type": "string" } }, "description": { "type": "string" },
            "previous_secret_expires_at": { "type": ["integer", "null"], "description": "Until when (ms since the epoch) the secret before the last rotation still signs." },
            "created_at": { "type": "integer" }, "updated_at": { "type": "integer" } } },
        "WebhookWithSecret": { "allOf": [ { "$ref": "#/components/schemas/Webhook" }, { "type": "object", "required": ["secret"], "properties": {
            "secret": { "type": "string", "description": "The signing secret (`whsec_…`). Shown only in this answer." } } } ] },
        "WebhookList": { "type": "object", "properties": { "webhooks": { "type": "array", "items": { "$ref": "#/components/schemas/Webhook" } } } },
        "WebhookEvent": { "type": "object", "required": ["id", "type", "route", "seq", "at", "data"], "properties": {
            "id": { "type": "string", "description": "`evt_<route>_<seq>`: the de-duplication key (header `Starkroute-Event-Id`)." },
            "type": { "type": "string" }, "route": { "type": "string" }, "seq": { "type": "integer" },
            "at": { "type": "integer" }, "data": { "type": "object" } } },
        "Attempt": { "type": "object", "properties": {
            "at": { "type": "integer" }, "status": { "type": ["integer", "null"] }, "latency_ms": { "type": "integer" },
            "error": { "type": ["string", "null"] }, "response": { "type": ["string", "null"], "description": "The first 256 bytes of the answer." } } },
        "Delivery": { "type": "object", "required": ["id", "event", "state", "attempts"], "properties": {
            "id": { "type": "integer" }, "webhook": { "type": "string" },
            "event": { "$ref": "#/components/schemas/WebhookEvent" },
            "state": { "type": "string", "enum": ["pending", "delivered", "failed"] },
            "attempts": { "type": "integer" }, "next_attempt_at": { "type": ["integer", "null"] },
            "queued_at": { "type": "integer" }, "delivered_at": { "type": ["integer", "null"] },
            "last_attempt": { "oneOf": [ { "$ref": "#/components/schemas/Attempt" }, { "type": "null" } ] },
            "attempt_log": { "type": "array", "items": { "$ref": "#/components/schemas/Attempt" } } } },
        "DeliveryPage": { "type": "object", "properties": {
            "deliveries": { "type": "array", "items": { "$ref": "#/components/schemas/Delivery" } },
            "next": { "type": ["integer", "null"] } } },
        "EventLogPage": { "type": "object", "properties": {
            "events": { "type": "array", "items": { "allOf": [ { "$ref": "#/components/schemas/WebhookEvent" }, { "type": "object", "properties": { "cursor": { "type": "string" } } } ] } },
            "next_cursor": { "type": "string" } } }
    });
    if let (Some(p), Value::Object(add)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), paths)
    {
        p.extend(add);
    }
    let target = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut);
    if let (Some(s), Value::Object(add)) = (target, schemas) {
        s.extend(add);
    }
}
