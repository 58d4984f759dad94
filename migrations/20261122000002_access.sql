-- Who may talk to the control plane: API keys for people and consoles, workers for the data plane.

CREATE TABLE api_keys (
    api_key TEXT PRIMARY KEY,
    -- SHA-256 of the secret, hex. Secrets are long random strings, so a fast hash is enough;
    -- the plain secret is shown once, at creation.
    secret_sha256 TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    enable BOOLEAN NOT NULL DEFAULT TRUE,
    expired_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- Bumped at every registration; calls carrying an older epoch are refused.
    epoch BIGINT NOT NULL,
    admin_address TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    registered_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_heartbeat TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_expires_at TIMESTAMPTZ NOT NULL,
    applied_revision BIGINT NOT NULL DEFAULT 0,
    -- The latest heartbeat's reports, as JSON arrays of the proto messages.
    flows JSONB NOT NULL DEFAULT '[]',
    connectors JSONB NOT NULL DEFAULT '[]',
    metrics JSONB NOT NULL DEFAULT '[]'
);
