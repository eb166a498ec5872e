-- Webhook endpoints and the durable outbox of their deliveries. A delivery row is written by the
-- transaction that appends its event (one per subscribed endpoint of the route's tenant), so an
-- event and its webhooks commit together or not at all. The tenant-wide event cursor of
-- `GET /v1/events` is the events table's rowid: writers are serialized (`BEGIN IMMEDIATE`), so
-- rowids grow in commit order.

CREATE TABLE webhooks (
    id                  TEXT    NOT NULL PRIMARY KEY, -- wh_<ULID>
    tenant              TEXT    NOT NULL,
    url                 TEXT    NOT NULL,
    events              TEXT    NOT NULL,             -- the subscribed kinds, JSON array
    description         TEXT    NOT NULL,
    secret              TEXT    NOT NULL,
    previous_secret     TEXT,
    previous_expires_at INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE INDEX webhooks_by_tenant ON webhooks (tenant, created_at, id);

-- What each endpoint receives, keyed for the lookup every appended event makes.
CREATE TABLE webhook_subscriptions (
    tenant     TEXT NOT NULL,
    kind       TEXT NOT NULL,                          -- an event kind, or '*'
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant, kind, webhook_id)
);

CREATE INDEX webhook_subscriptions_by_webhook ON webhook_subscriptions (webhook_id);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused
    webhook_id       TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    tenant           TEXT    NOT NULL,
    route_id         TEXT    NOT NULL,
    seq              INTEGER NOT NULL,
    state            TEXT    NOT NULL,                 -- pending, delivered, failed
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    queued_at        INTEGER NOT NULL,
    delivered_at     INTEGER,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    last_attempt_at  INTEGER,
    last_status      INTEGER,
    last_latency_ms  INTEGER,
    last_error       TEXT,
    last_response    TEXT,                             -- a short prefix of the body
    FOREIGN KEY (route_id, seq) REFERENCES events (route_id, seq) ON DELETE CASCADE
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_head ON webhook_deliveries (webhook_id, route_id, seq)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (route_id, seq);

CREATE TABLE webhook_attempts (
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER,
    latency_ms  INTEGER NOT NULL,
    error       TEXT,
    response    TEXT,
    PRIMARY KEY (delivery_id, n)
);
