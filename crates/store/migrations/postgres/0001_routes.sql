-- Routes, legs, events and idempotency keys. Times are milliseconds since the Unix epoch on the
-- caller's clock; JSON is stored as text, exactly as serialized (byte-for-byte what was written).

CREATE TABLE routes (
    id               TEXT    NOT NULL PRIMARY KEY, -- ULID
    tenant           TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    route            TEXT    NOT NULL,             -- the planned Route, JSON
    outcome          TEXT,                         -- terminal outcome, JSON
    version          BIGINT  NOT NULL,
    last_seq         BIGINT  NOT NULL,
    wake_at          BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);

CREATE INDEX routes_by_tenant ON routes (tenant, id);
CREATE INDEX routes_by_tenant_status ON routes (tenant, status, id);
CREATE INDEX routes_due ON routes (wake_at, id) WHERE status IN ('pending', 'running');

CREATE TABLE legs (
    route_id        TEXT    NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    idx             BIGINT  NOT NULL,
    kind            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    prepared        TEXT,                          -- prepared payload, JSON
    submission      TEXT,
    attempts        BIGINT  NOT NULL,
    next_attempt_at BIGINT,
    last_error      TEXT,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (route_id, idx)
);

CREATE TABLE events (
    route_id TEXT    NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    seq      BIGINT  NOT NULL,
    kind     TEXT    NOT NULL,
    data     TEXT    NOT NULL,                     -- JSON
    at       BIGINT  NOT NULL,
    PRIMARY KEY (route_id, seq)
);

CREATE TABLE idempotency_keys (
    tenant      TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    route_id    TEXT    NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant, idem_key)
);
