//! The OpenAPI 3.1 document of the API, written by hand (a test checks that it describes every
//! path the router serves, with its methods).

use serde_json::{json, Value};

fn err(desc: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok(desc: &str, schema: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn body(schema: &str) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn path_param(name: &str, desc: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": desc, "schema": { "type": "string" } })
}

fn route_id() -> Value {
    path_param("id", "The route id (a ULID).")
}

/// The document.
pub fn document() -> Value {
    let unauthorized = err("No or unknown API key.");
    let invalid = err("A field is invalid; `error.field` names it.");
    let not_found = err("No such route for this tenant (another tenant's route included).");
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "starkroute",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Quotes and durable execution of asset routes between StarkEx, Starknet and Ethereum L1. \
                Every /v1 endpoint needs `Authorization: Bearer <API key>`; a key maps to a tenant, which sees only its own routes. \
                Amounts are integers of base units, as strings. Errors have one shape: `{\"error\": {\"code\", \"message\", \"field\"}}`."
        },
        "security": [ { "apiKey": [] } ],
        "paths": {
            "/v1/quotes": {
                "post": {
                    "summary": "Quote ranked routes for moving an asset, with the paths not taken and why.",
                    "operationId": "createQuote",
                    "requestBody": body("QuoteRequest"),
                    "responses": {
                        "201": ok("The quote: routes best first, each with legs, fees and ETAs; rejected paths with reasons; an id and an expiry.", "Quote"),
                        "400": err("The body is not JSON."),
                        "401": unauthorized, "413": err("The body is too large."),
                        "415": err("The body is not application/json."), "422": invalid
                    }
                }
            },
            "/v1/routes": {
                "post": {
                    "summary": "Start one of a quote's routes.",
                    "description": "With an `Idempotency-Key`, the same key and body return the same route, never a second one; the same key with another body is a 409.",
                    "operationId": "createRoute",
                    "parameters": [ { "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 255 } } ],
                    "requestBody": body("StartRoute"),
                    "responses": {
                        "201": ok("The route, pending.", "Route"),
                        "200": ok("The route this Idempotency-Key started before.", "Route"),
                        "401": unauthorized, "404": err("No such quote for this tenant."),
                        "409": err("The Idempotency-Key was used with another body."),
                        "410": err("The quote has expired."), "413": err("The body is too large."),
                        "422": invalid
                    }
                },
                "get": {
                    "summary": "The tenant's routes, newest first, a page at a time.",
                    "operationId": "listRoutes",
                    "parameters": [
                        { "name": "status", "in": "query", "schema": { "$ref": "#/components/schemas/RouteStatus" } },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "default": 50 } },
                        { "name": "cursor", "in": "query", "description": "`next` of the previous page.", "schema": { "type": "string" } }
                    ],
                    "responses": { "200": ok("A page.", "RoutePage"), "401": unauthorized, "422": invalid }
                }
            },
            "/v1/routes/{id}": {
                "get": {
                    "summary": "A route: its legs' progress, what a paused leg needs signed, its outcome.",
                    "operationId": "getRoute",
                    "parameters": [ route_id() ],
                    "responses": { "200": ok("The route.", "Route"), "401": unauthorized, "404": not_found, "422": invalid }
                }
            },
            "/v1/routes/{id}/events": {
                "get": {
                    "summary": "The route's events as Server-Sent Events, from any point, then live until the route is terminal.",
                    "description": "Each SSE `id` is the event's sequence number and `event` its type; `data` is an Event. Resume with the `Last-Event-ID` header (or `?after=`).",
                    "operationId": "routeEvents",
                    "parameters": [
                        route_id(),
                        { "name": "Last-Event-ID", "in": "header", "schema": { "type": "integer", "minimum": 0 } },
                        { "name": "after", "in": "query", "schema": { "type": "integer", "minimum": 0 } }
                    ],
                    "responses": {
                        "200": { "description": "An event stream.", "content": { "text/event-stream": { "schema": { "$ref": "#/components/schemas/Event" } } } },
                        "401": unauthorized, "404": not_found, "422": invalid
                    }
                }
            },
            "/v1/routes/{id}/legs/{n}/signature": {
                "post": {
                    "summary": "Sign a leg paused on a signature (its `signature_request` says what to sign), and resume the route.",
                    "operationId": "signLeg",
                    "parameters": [ route_id(), path_param("n", "The leg's index, from 0.") ],
                    "requestBody": body("Signature"),
                    "responses": {
                        "200": ok("The route, resumed.", "Route"), "401": unauthorized,
                        "404": not_found, "409": err("The leg is not awaiting a signature."),
                        "422": err("The signature is malformed or does not match; the leg still awaits one.")
                    }
                }
            },
            "/v1/routes/{id}/cancel": {
                "post": {
                    "summary": "Cancel a route before its first irreversible leg may have been sent.",
                    "operationId": "cancelRoute",
                    "parameters": [ route_id() ],
                    "requestBody": { "required": false, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false } } } },
                    "responses": {
                        "200": ok("The route, cancelled, with its outcome.", "Route"), "401": unauthorized,
                        "404": not_found, "409": err("Refused: an irreversible leg may have been sent (the message names it), or the route is already final.")
                    }
                }
            },
            "/v1/assets": {
                "get": {
                    "summary": "The tokens the router knows, with their representation on each layer.",
                    "operationId": "listAssets",
                    "responses": { "200": ok("The assets.", "Assets"), "401": unauthorized }
                }
            },
            "/v1/accounts/{layer}/{id}/readiness": {
                "get": {
                    "summary": "Whether an account can take part: a Stark key registered on StarkEx, a Starknet account deployed.",
                    "operationId": "accountReadiness",
                    "parameters": [
                        { "name": "layer", "in": "path", "required": true, "schema": { "$ref": "#/components/schemas/Layer" } },
                        path_param("id", "The account: an L1 address, a Stark key or a Starknet address.")
                    ],
                    "responses": { "200": ok("The answer (cached for a few seconds).", "Readiness"), "401": unauthorized, "422": invalid, "503": err("The layer does not answer.") }
                }
            },
            "/healthz": { "get": { "summary": "The process is up.", "operationId": "healthz", "security": [], "responses": { "200": { "description": "Up." } } } },
            "/readyz": { "get": { "summary": "The process can serve (its store answers).", "operationId": "readyz", "security": [], "responses": { "200": { "description": "Ready." }, "503": err("The store does not answer.") } } },
            "/metrics": { "get": { "summary": "Counters in the Prometheus text format.", "operationId": "metrics", "security": [], "responses": { "200": { "description": "Metrics.", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
            "/openapi.json": { "get": { "summary": "This document.", "operationId": "openapi", "security": [], "responses": { "200": { "description": "OpenAPI 3.1.", "content": { "application/json": {} } } } } }
        },
        "components": {
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer", "description": "An API key; the server keeps only its SHA-256." } },
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                        "code": { "type": "string" }, "message": { "type": "string" },
                        "field": { "type": "string", "description": "The field at fault: a JSON path (`sender.l1`), a path or query parameter, or a header." }
                    } } }
                },
                "Layer": { "type": "string", "enum": ["l1", "starkex", "starknet"] },
                "RouteStatus": { "type": "string", "enum": ["pending", "running", "awaiting_signature", "completed", "failed", "cancelled"] },
                "LegStatus": { "type": "string", "enum": ["planned", "prepared", "awaiting_signature", "submitted", "accepted_on_l2", "final_on_l1", "failed", "cancelled"] },
                "Accounts": { "type": "object", "additionalProperties": false, "properties": {
                    "l1": { "type": "string", "description": "Ethereum address (EIP-55 or lower case)." },
                    "starkex": { "type": "string", "description": "Stark key." },
                    "starknet": { "type": "string", "description": "Starknet account address." }
                } },
                "QuoteRequest": {
                    "type": "object", "additionalProperties": false, "required": ["asset", "from", "to", "sender", "recipient"],
                    "properties": {
                        "asset": { "type": "object", "additionalProperties": false, "required": ["token"], "properties": {
                            "token": { "type": "string", "description": "Symbol, L1 address or Starknet address." },
                            "token_id": { "type": "string", "description": "For an ERC-721." } } },
                        "amount": { "type": "string", "pattern": "^[0-9]+$", "description": "Base units, for a fungible asset." },
                        "from": { "$ref": "#/components/schemas/Layer" }, "to": { "$ref": "#/components/schemas/Layer" },
                        "sender": { "$ref": "#/components/schemas/Accounts" }, "recipient": { "$ref": "#/components/schemas/Accounts" },
                        "objective": { "type": "string", "enum": ["fastest", "cheapest"], "default": "fastest" },
                        "allow_other_destinations": { "type": "boolean", "default": false }
                    }
                },
                "PlannedRoute": { "type": "object", "description": "A planned route: `legs` (kind, from, to, signer, fees, eta, description), `total_fee_wei`, `eta`, `destination`, `needs_recipient_action`, `assumptions`." },
                "Rejection": { "type": "object", "required": ["path", "code", "reason"], "properties": {
                    "path": { "type": "string" }, "leg": { "type": "string" }, "code": { "type": "string" }, "reason": { "type": "string" } } },
                "Quote": {
                    "type": "object", "required": ["id", "expires_at", "routes", "rejected"],
                    "properties": {
                        "id": { "type": "string" },
                        "created_at": { "type": "integer", "description": "Milliseconds since the epoch." },
                        "expires_at": { "type": "integer", "description": "Milliseconds since the epoch; after it the quote cannot start a route." },
                        "asset": { "type": "object" }, "amount": { "type": "string" },
                        "objective": { "type": "string" },
                        "routes": { "type": "array", "items": { "$ref": "#/components/schemas/PlannedRoute" } },
                        "rejected": { "type": "array", "items": { "$ref": "#/components/schemas/Rejection" } }
                    }
                },
                "StartRoute": { "type": "object", "additionalProperties": false, "required": ["quote_id", "route_index"], "properties": {
                    "quote_id": { "type": "string" }, "route_index": { "type": "integer", "minimum": 0, "description": "Which of the quote's routes, 0 = the best ranked." } } },
                "SignatureRequest": { "type": "object", "properties": {
                    "scheme": { "type": "string", "enum": ["stark", "starknet_account", "ethereum"] },
                    "signer": { "type": "object" }, "hash": { "type": "string", "description": "The hash to sign." } } },
                "Leg": { "type": "object", "properties": {
                    "index": { "type": "integer" }, "kind": { "type": "string" }, "status": { "$ref": "#/components/schemas/LegStatus" },
                    "description": { "type": "string" }, "from": { "type": "object" }, "to": { "type": "object" },
                    "signer": { "type": "string" }, "fees": { "type": "array" }, "eta": { "type": "object" },
                    "submission": { "type": ["string", "null"] }, "attempts": { "type": "integer" },
                    "last_error": { "type": ["string", "null"] },
                    "signature_request": { "oneOf": [ { "$ref": "#/components/schemas/SignatureRequest" }, { "type": "null" } ] } } },
                "Route": { "type": "object", "required": ["id", "status", "legs"], "properties": {
                    "id": { "type": "string" }, "status": { "$ref": "#/components/schemas/RouteStatus" },
                    "summary": { "type": "string" }, "destination": { "type": "object" },
                    "total_fee_wei": { "type": "string" }, "eta": { "type": "object" },
                    "legs": { "type": "array", "items": { "$ref": "#/components/schemas/Leg" } },
                    "outcome": { "description": "For a terminal route: where the asset is and how to recover it." },
                    "last_event_seq": { "type": "integer" }, "created_at": { "type": "integer" }, "updated_at": { "type": "integer" } } },
                "RoutePage": { "type": "object", "properties": {
                    "routes": { "type": "array", "items": { "$ref": "#/components/schemas/Route" } },
                    "next": { "type": ["string", "null"] } } },
                "Event": { "type": "object", "properties": {
                    "route": { "type": "string" }, "seq": { "type": "integer" }, "type": { "type": "string" },
                    "data": { "type": "object" }, "at": { "type": "integer" } } },
                "Signature": { "type": "object", "additionalProperties": false, "required": ["signature"], "properties": {
                    "signature": { "type": "string", "description": "0x-prefixed hex: r‖s for Stark, r‖s‖v (65 bytes) for Ethereum personal_sign." } } },
                "Assets": { "type": "object", "properties": { "assets": { "type": "array", "items": { "type": "object" } } } },
                "Readiness": { "type": "object", "required": ["account", "ready"], "properties": {
                    "account": { "type": "object" }, "ready": { "type": "boolean" }, "missing": { "type": "string" } } }
            }
        }
    });
    super::openapi_webhooks::extend(&mut doc);
    doc
}
