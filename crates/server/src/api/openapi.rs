//! The OpenAPI 3.1 document of the API, written by hand and held to the server by tests: every
//! path the router serves is described with its methods (`flows.rs`), and every answer the API
//! test suite receives — status and JSON body — conforms to this document (`conform.rs` checks
//! each one in the harness). The statuses every endpoint shares (401, 429, 500 and 503 on `/v1`;
//! 400, 408, 413 and 415 where a body is read; 503 for the request timeout everywhere) are added
//! by [`add_shared_responses`], so a new endpoint gets them too.

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
    json!({ "name": "id", "in": "path", "required": true,
        "description": "The route id: a ULID in its canonical form (26 upper-case Crockford base-32 characters, the first 0 to 7 so that it fits 128 bits). Anything else is a 422 naming `id`.",
        "schema": { "type": "string", "pattern": "^[0-7][0-9A-HJKMNP-TV-Z]{25}$" } })
}

/// Adds the answers every operation can give besides its own: on `/v1`, 401 (no or unknown
/// key), 429 (the tenant's rate limit), 500 (an internal failure, detail logged) and 503 (a
/// dependency unavailable, or the request timeout); on an operation with a request body, 400
/// (not JSON, not an object, a key given twice), 408 (the body stopped arriving), 413 (too large)
/// and 415 (not `application/json`); on every operation, 503 (the request timeout).
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
                ]);
            }
            for (status, desc) in shared {
                responses.entry(status).or_insert_with(|| err(desc));
            }
        }
    }
}

/// The document.
pub fn document() -> Value {
    let mut doc = paths_and_schemas();
    add_shared_responses(&mut doc);
    doc
}

fn paths_and_schemas() -> Value {
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
                        "400": err("The body is not JSON, or not a JSON object."),
                        "401": unauthorized, "413": err("The body is too large."),
                        "415": err("The body is not application/json."), "422": invalid,
                        "503": err("On a configured network: a layer's live fees are older than network.fees.max_age_secs because its node does not answer (`fees_unavailable`, the message naming the layer: `l1 fees are unavailable: …`); or as for every endpoint.")
                    }
                }
            },
            "/v1/routes": {
                "post": {
                    "summary": "Start one of a quote's routes.",
                    "description": "With an `Idempotency-Key`, the same key and body return the same route, never a second one; the same key with another body is a 409.",
                    "operationId": "createRoute",
                    "parameters": [ { "name": "Idempotency-Key", "in": "header", "required": false, "description": "1 to 255 printable ASCII characters without spaces; anything else is a 422 naming `idempotency-key`.", "schema": { "type": "string", "pattern": "^[!-~]{1,255}$" } } ],
                    "requestBody": body("StartRoute"),
                    "responses": {
                        "201": ok("The route, pending.", "Route"),
                        "200": ok("The route this Idempotency-Key started before: every replay of the key (concurrent ones included) is a 200, only the call that created the route is a 201.", "Route"),
                        "400": err("The body is not JSON, or not a JSON object."),
                        "401": unauthorized, "404": err("No such quote for this tenant."),
                        "409": err("The Idempotency-Key was used with another body."),
                        "410": err("The quote has expired."), "413": err("The body is too large."),
                        "415": err("The body is not sent as application/json."),
                        "422": invalid
                    }
                },
                "get": {
                    "summary": "The tenant's routes, newest first, a page at a time.",
                    "operationId": "listRoutes",
                    "parameters": [
                        { "name": "status", "in": "query", "schema": { "$ref": "#/components/schemas/RouteStatus" } },
                        { "name": "limit", "in": "query", "description": "1 to api.max_page (100 by default); anything else is a 422 naming `limit`.", "schema": { "type": "integer", "minimum": 1, "default": 50 } },
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
                    "parameters": [ route_id(), { "name": "n", "in": "path", "required": true, "description": "The leg's index, from 0 (anything else is a 422 naming `n`).", "schema": { "type": "integer", "minimum": 0, "maximum": 65535 } } ],
                    "requestBody": body("Signature"),
                    "responses": {
                        "200": ok("The route, resumed.", "Route"), "401": unauthorized,
                        "400": err("The body is not JSON, or not a JSON object."),
                        "404": not_found, "409": err("The leg is not awaiting a signature."),
                        "413": err("The body is too large."), "415": err("The body is not sent as application/json."),
                        "422": err("The route id or leg index is malformed, or the signature is malformed or does not match; the leg still awaits one.")
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
                        "400": err("The body is not JSON, or not a JSON object."),
                        "404": not_found, "409": err("Refused: an irreversible leg may have been sent (the message names it), or the route is already final."),
                        "413": err("The body is too large."), "415": err("A body is sent, not as application/json."),
                        "422": invalid
                    }
                }
            },
            "/v1/routes/{id}/view-token": {
                "post": {
                    "summary": "A new view token for the route's tracking page; the previous one stops working.",
                    "description": "The token (`vt_` and 64 hex digits, 256 random bits) is shown in this answer only; the server keeps its SHA-256. It opens `/track/{id}?t=TOKEN` (the page), `/track/{id}/route` (the route as JSON) and `/track/{id}/events` (its events) read-only, for that route only.",
                    "operationId": "issueViewToken",
                    "parameters": [ route_id() ],
                    "requestBody": { "required": false, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false } } } },
                    "responses": {
                        "201": ok("The new token and the page's path.", "ViewToken"), "401": unauthorized,
                        "400": err("The body is not JSON, or not a JSON object."),
                        "404": not_found, "413": err("The body is too large."),
                        "415": err("A body is sent, not as application/json."), "422": invalid
                    }
                },
                "delete": {
                    "summary": "Revoke the route's view token: its tracking page answers 404 from now on.",
                    "operationId": "revokeViewToken",
                    "parameters": [ route_id() ],
                    "responses": { "204": { "description": "Revoked (or there was none)." }, "401": unauthorized, "404": not_found, "422": invalid }
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
            "/healthz": { "get": { "summary": "The process is up.", "operationId": "healthz", "security": [], "responses": { "200": { "description": "Up.", "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "required": ["status"], "properties": { "status": { "const": "ok" } } } } } } } } },
            "/readyz": { "get": { "summary": "The process can serve (its store answers).", "operationId": "readyz", "security": [], "responses": { "200": { "description": "Ready.", "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "required": ["status"], "properties": { "status": { "const": "ready" } } } } } }, "503": err("The store does not answer (`store_unreachable`).") } } },
            "/track": { "get": { "summary": "The tenant's page: a form where the API key is typed (kept in the page, sent as a bearer header to `GET /v1/routes`, never in an address), listing the tenant's routes with a status filter.", "operationId": "trackTenantPage", "security": [], "responses": { "200": { "description": "The page (HTML; `Content-Security-Policy: default-src 'self'`).", "content": { "text/html": { "schema": { "type": "string" } } } } } } },
            "/track/assets/{file}": { "get": { "summary": "The tracking pages' stylesheet and scripts, embedded in the binary.", "operationId": "trackAsset", "security": [],
                "parameters": [ path_param("file", "`track.css`, `track.js` or `tenant.js`.") ],
                "responses": { "200": { "description": "The file.", "content": { "text/css": { "schema": { "type": "string" } }, "text/javascript": { "schema": { "type": "string" } } } }, "404": { "description": "No such file.", "content": { "text/html": { "schema": { "type": "string" } } } } } } },
            "/track/{id}": { "get": { "summary": "The route-tracking page, opened by the route's view token instead of an API key.", "operationId": "trackPage", "security": [],
                "parameters": [ path_param("id", "The route id."), { "name": "t", "in": "query", "required": true, "description": "The route's view token.", "schema": { "type": "string" } } ],
                "responses": { "200": { "description": "The page (HTML).", "content": { "text/html": { "schema": { "type": "string" } } } }, "404": { "description": "The same page for a missing, wrong or revoked token and for an unknown or malformed route id: no data.", "content": { "text/html": { "schema": { "type": "string" } } } } } } },
            "/track/{id}/route": { "get": { "summary": "The route, read with its view token (the page reads it).", "operationId": "trackRoute", "security": [],
                "parameters": [ path_param("id", "The route id."), { "name": "t", "in": "query", "required": true, "description": "The route's view token.", "schema": { "type": "string" } } ],
                "responses": { "200": ok("The route.", "Route"), "404": err("A missing, wrong or revoked token, or an unknown or malformed route id: one answer, no data (`not_found`)."), "422": err("An unknown query parameter (only `t` is).") } } },
            "/track/{id}/events": { "get": { "summary": "The route's events as Server-Sent Events, read with its view token; unnamed events (an `EventSource`'s `message`), from `Last-Event-ID` or `after`, ending when the route is final.", "operationId": "trackEvents", "security": [],
                "parameters": [ path_param("id", "The route id."), { "name": "t", "in": "query", "required": true, "description": "The route's view token.", "schema": { "type": "string" } }, { "name": "after", "in": "query", "schema": { "type": "integer", "minimum": 0 } } ],
                "responses": { "200": { "description": "The stream; each `data:` is an Event.", "content": { "text/event-stream": { "schema": { "type": "string" } } } }, "404": err("A missing, wrong or revoked token, or an unknown or malformed route id: one answer, no data (`not_found`)."), "422": err("`after` or `Last-Event-ID` is not a sequence number, or an unknown query parameter."), "429": err("Too many open streams of this route's page (`too_many_streams`: api.max_streams_per_tenant per route, apart from the tenant's own API streams).") } } },
            "/metrics": { "get": { "summary": "Counters in the Prometheus text format.", "operationId": "metrics", "security": [], "responses": { "200": { "description": "Metrics.", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
            "/openapi.json": { "get": { "summary": "This document.", "operationId": "openapi", "security": [], "responses": { "200": { "description": "OpenAPI 3.1.", "content": { "application/json": {} } } } } }
        },
        "components": {
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer", "description": "An API key; the server keeps only its SHA-256." } },
            "schemas": schemas()
        }
    });
    super::openapi_webhooks::extend(&mut doc);
    doc
}

/// The components' schemas.
fn schemas() -> Value {
    json!({
                "Error": {
                    "type": "object", "required": ["error"], "additionalProperties": false,
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "additionalProperties": false, "properties": {
                        "code": { "type": "string" }, "message": { "type": "string" },
                        "field": { "type": "string", "description": "The field at fault: a JSON path (`sender.l1`), a path or query parameter, or a header." }
                    } } }
                },
                "Layer": { "type": "string", "enum": ["l1", "starkex", "starknet"] },
                "RouteStatus": { "type": "string", "enum": ["pending", "running", "awaiting_signature", "completed", "failed", "cancelled"] },
                "LegStatus": { "type": "string", "enum": ["planned", "prepared", "awaiting_signature", "submitted", "accepted_on_l2", "final_on_l1", "failed", "cancelled"] },
                "Accounts": { "type": "object", "additionalProperties": false, "properties": {
                    "l1": { "type": ["string", "null"], "pattern": "^0x[0-9a-fA-F]{40}$", "description": "Ethereum address (EIP-55 or lower case); null is the same as absent." },
                    "starkex": { "type": ["string", "null"], "description": "Stark key; null is the same as absent." },
                    "starknet": { "type": ["string", "null"], "description": "Starknet account address; null is the same as absent." }
                } },
                "QuoteRequest": {
                    "type": "object", "additionalProperties": false, "required": ["asset", "from", "to", "sender", "recipient"],
                    "properties": {
                        "asset": { "type": "object", "additionalProperties": false, "required": ["token"], "properties": {
                            "token": { "type": "string", "description": "Symbol, L1 address or Starknet address." },
                            "token_id": { "type": ["string", "null"], "description": "For an ERC-721; null is the same as absent." } } },
                        "amount": { "type": ["string", "null"], "pattern": "^(0|[1-9][0-9]*)$", "description": "Base units in decimal digits (no sign, no leading zero, no 0x), for a fungible asset; null is the same as absent." },
                        "from": { "$ref": "#/components/schemas/Layer" }, "to": { "$ref": "#/components/schemas/Layer" },
                        "sender": { "$ref": "#/components/schemas/Accounts" }, "recipient": { "$ref": "#/components/schemas/Accounts" },
                        "objective": { "type": "string", "enum": ["fastest", "cheapest"], "default": "fastest" },
                        "allow_other_destinations": { "type": "boolean", "default": false }
                    }
                },
                "PlannedRoute": { "type": "object", "description": "A planned route: `legs` (kind, from, to, signer, fees (FeeItem), eta, description), `total_fee_wei`, `eta`, `destination`, `needs_recipient_action`, `assumptions`." },
                "FeeItem": { "type": "object", "additionalProperties": false, "required": ["kind", "amount_wei"], "properties": {
                    "kind": { "type": "string", "enum": ["l1_gas", "starknet_gas", "l1_to_l2_message_fee", "operator_fee"] },
                    "gas_units": { "type": "integer", "minimum": 0, "description": "Gas units, for gas fees." },
                    "gas_price_wei": { "type": "string", "pattern": "^(0|[1-9][0-9]*)$", "description": "Price per gas unit in wei, for gas fees." },
                    "amount_wei": { "type": "string", "pattern": "^(0|[1-9][0-9]*)$", "description": "The fee in wei." },
                    "source": { "type": "string", "description": "On a configured network, where the price was read: `eth_feeHistory`, `starknet_getBlockWithTxHashes`, `estimateDepositFeeWei`, or the `costs.…` key of a price no chain publishes. Absent in the sandbox (static cost model)." },
                    "block": { "type": "integer", "minimum": 0, "description": "The block of its layer the price was read at (with `source`, when read from a chain)." } } },
                "Rejection": { "type": "object", "required": ["path", "code", "reason"], "additionalProperties": false, "properties": {
                    "path": { "type": "string" }, "leg": { "type": "string" }, "code": { "type": "string" }, "reason": { "type": "string" } } },
                "Quote": {
                    "type": "object", "additionalProperties": false,
                    "required": ["id", "created_at", "expires_at", "asset", "amount", "objective", "routes", "rejected"],
                    "properties": {
                        "id": { "type": "string", "pattern": "^q_[0-9A-HJKMNP-TV-Z]{26}$" },
                        "created_at": { "type": "integer", "description": "Milliseconds since the epoch." },
                        "expires_at": { "type": "integer", "description": "Milliseconds since the epoch; after it the quote cannot start a route." },
                        "asset": { "type": "object" }, "amount": { "type": "string", "pattern": "^(0|[1-9][0-9]*)$" },
                        "objective": { "type": "string", "enum": ["fastest", "cheapest"] },
                        "routes": { "type": "array", "items": { "$ref": "#/components/schemas/PlannedRoute" } },
                        "rejected": { "type": "array", "items": { "$ref": "#/components/schemas/Rejection" } }
                    }
                },
                "StartRoute": { "type": "object", "additionalProperties": false, "required": ["quote_id", "route_index"], "properties": {
                    "quote_id": { "type": "string" }, "route_index": { "type": "integer", "minimum": 0, "maximum": 65535, "description": "Which of the quote's routes, 0 = the best ranked." } } },
                "SignatureRequest": { "type": "object", "properties": {
                    "scheme": { "type": "string", "enum": ["stark", "starknet_account", "ethereum"] },
                    "signer": { "type": "object" }, "hash": { "type": "string", "description": "The hash to sign." } } },
                "Leg": { "type": "object", "additionalProperties": false,
                    "required": ["index", "kind", "status", "description", "from", "to", "signer", "fees", "eta", "submission", "attempts", "last_error", "next_attempt_at", "signature_request", "updated_at"],
                    "properties": {
                    "index": { "type": "integer", "minimum": 0, "maximum": 65535 }, "kind": { "type": "string" }, "status": { "$ref": "#/components/schemas/LegStatus" },
                    "description": { "type": "string" }, "from": { "type": "object" }, "to": { "type": "object" },
                    "signer": { "type": "string" }, "fees": { "type": "array", "items": { "$ref": "#/components/schemas/FeeItem" } }, "eta": { "type": "object" },
                    "submission": { "type": ["string", "null"] }, "attempts": { "type": "integer", "minimum": 0 },
                    "last_error": { "type": ["string", "null"] },
                    "next_attempt_at": { "type": ["integer", "null"], "description": "Milliseconds since the epoch of the next retry, while one is scheduled." },
                    "signature_request": { "oneOf": [ { "$ref": "#/components/schemas/SignatureRequest" }, { "type": "null" } ] },
                    "updated_at": { "type": "integer" },
                    "layer": { "$ref": "#/components/schemas/Layer" },
                    "live_eta": { "oneOf": [ { "$ref": "#/components/schemas/LiveEta" }, { "type": "null" } ], "description": "When this leg is expected to be final (null for a failed or cancelled leg)." },
                    "explorer_url": { "type": ["string", "null"], "description": "The leg's transaction on its layer's block explorer (`[network.explorers]`), once it has a submission; null without a configured explorer." } } },
                "LiveEta": { "type": "object", "additionalProperties": false, "required": ["expected_at", "remaining_secs", "remaining", "source"],
                    "description": "An expected completion, re-estimated as the route moves from what legs of the same kind took on their layers (`observed`), or from the static latency model until one was seen (`model`); `done` once final.",
                    "properties": {
                    "expected_at": { "type": "integer", "description": "Milliseconds since the epoch (the server's clock)." },
                    "remaining_secs": { "type": "integer", "minimum": 0 },
                    "remaining": { "type": "object", "additionalProperties": false, "required": ["min_secs", "max_secs"], "properties": { "min_secs": { "type": "integer", "minimum": 0 }, "max_secs": { "type": "integer", "minimum": 0 } } },
                    "source": { "type": "string", "enum": ["model", "observed", "done"] } } },
                "ViewToken": { "type": "object", "additionalProperties": false, "required": ["route", "view_token", "track_url"], "properties": {
                    "route": { "type": "string" }, "view_token": { "type": "string", "pattern": "^vt_[0-9a-f]{64}$" },
                    "track_url": { "type": "string", "description": "The tracking page's path with its token, relative to the API's base URL." } } },
                "Route": { "type": "object", "additionalProperties": false,
                    "required": ["id", "status", "summary", "destination", "total_fee_wei", "eta", "needs_recipient_action", "assumptions", "legs", "outcome", "last_event_seq", "created_at", "updated_at"],
                    "properties": {
                    "id": { "type": "string", "pattern": "^[0-7][0-9A-HJKMNP-TV-Z]{25}$" }, "status": { "$ref": "#/components/schemas/RouteStatus" },
                    "summary": { "type": "string" }, "destination": { "type": "object" },
                    "total_fee_wei": { "type": "string", "pattern": "^(0|[1-9][0-9]*)$" }, "eta": { "type": "object" },
                    "needs_recipient_action": { "type": "boolean" }, "assumptions": { "type": "array" },
                    "legs": { "type": "array", "items": { "$ref": "#/components/schemas/Leg" } },
                    "outcome": { "type": ["object", "null"], "description": "For a terminal route: where the asset is and how to recover it." },
                    "last_event_seq": { "type": "integer", "minimum": 0 }, "created_at": { "type": "integer" }, "updated_at": { "type": "integer" },
                    "live_eta": { "oneOf": [ { "$ref": "#/components/schemas/LiveEta" }, { "type": "null" } ], "description": "When the route is expected to complete, re-estimated as it moves (null once failed or cancelled)." },
                    "view_token": { "type": "string", "pattern": "^vt_[0-9a-f]{64}$", "description": "Only in the 201 answer of `POST /v1/routes`: the read-only token of the route's tracking page, shown once (`POST /v1/routes/{id}/view-token` makes a new one)." },
                    "track_url": { "type": "string", "description": "Only with `view_token`: the tracking page's path, `/track/{id}?t=…`, relative to the API's base URL." } } },
                "RoutePage": { "type": "object", "additionalProperties": false, "required": ["routes", "next"], "properties": {
                    "routes": { "type": "array", "items": { "$ref": "#/components/schemas/Route" } },
                    "next": { "type": ["string", "null"] } } },
                "Event": { "type": "object", "additionalProperties": false, "required": ["route", "seq", "type", "data", "at"], "properties": {
                    "route": { "type": "string" }, "seq": { "type": "integer", "minimum": 1 }, "type": { "type": "string" },
                    "data": {}, "at": { "type": "integer" } } },
                "Signature": { "type": "object", "additionalProperties": false, "required": ["signature"], "properties": {
                    "signature": { "type": "string", "description": "0x-prefixed hex: r‖s for Stark, r‖s‖v (65 bytes) for Ethereum personal_sign." } } },
                "Assets": { "type": "object", "additionalProperties": false, "required": ["assets"], "properties": { "assets": { "type": "array", "items": { "type": "object" } } } },
                "Readiness": { "type": "object", "required": ["account", "ready"], "additionalProperties": false, "properties": {
                    "account": { "type": "object" }, "ready": { "type": "boolean" }, "missing": { "type": "string" } } }
    })
}
