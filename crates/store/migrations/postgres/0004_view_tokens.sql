-- A route's view token (the tracking page's `?t=`): only its SHA-256 (hex) is kept. One per
-- route; issuing a new one replaces it, revoking deletes the row. Read-only access to the route.

CREATE TABLE route_view_tokens (
    route_id     TEXT    NOT NULL PRIMARY KEY REFERENCES routes (id) ON DELETE CASCADE,
    token_sha256 TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL
);
