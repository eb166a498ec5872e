-- Webhook endpoints and the durable outbox of their deliveries. A delivery row is written by the
-- transaction that appends its event (one per subscribed endpoint of the route's tenant), so an
-- event and its webhooks commit together or not at all.
--
-- The tenant-wide event cursor of `GET /v1/events`: transactions commit out of the order in which
-- they would draw from a sequence, so events are numbered after they commit instead. A reader
-- takes an advisory lock and numbers the committed events that have no `gid` yet (MAX(gid) + 1…,
-- in route order) before reading; an event that commits later is numbered later, above every
-- cursor already handed out.

CREATE TABLE webhooks (
    id                  TEXT    NOT NULL PRIMARY KEY, -- wh_<ULID>
    tenant              TEXT    NOT NULL,
    url                 TEXT    NOT NULL,
    events              TEXT    NOT NULL,             -- the subscribed kinds, JSON array
    description         TEXT    NOT NULL,
    secret              TEXT    NOT NULL,
    previous_secret     TEXT,
    previous_expires_at BIGINT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
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
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    tenant           TEXT    NOT NULL,
    route_id         TEXT    NOT NULL,
    seq              BIGINT  NOT NULL,
    state            TEXT    NOT NULL,                 -- pending, delivered, failed
    attempts         BIGINT  NOT NULL,
    next_attempt_at  BIGINT  NOT NULL,
    queued_at        BIGINT  NOT NULL,
    delivered_at     BIGINT,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    last_attempt_at  BIGINT,
    last_status      BIGINT,
    last_latency_ms  BIGINT,
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
    delivery_id BIGINT  NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n           BIGINT  NOT NULL,
    at          BIGINT  NOT NULL,
    status      BIGINT,
    latency_ms  BIGINT  NOT NULL,
    error       TEXT,
    response    TEXT,
    PRIMARY KEY (delivery_id, n)
);

ALTER TABLE events ADD COLUMN gid BIGINT;
CREATE UNIQUE INDEX events_by_gid ON events (gid);
CREATE INDEX events_unnumbered ON events (route_id, seq) WHERE gid IS NULL;
