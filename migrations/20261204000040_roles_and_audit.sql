-- API key roles, as EMQX 5.4+ has them: `administrator` (everything), `viewer` (GET only) and
-- `publisher` (publishing only, which Tributary does not offer). Existing keys were allowed
-- everything, so they become administrators.
ALTER TABLE api_keys
    ADD COLUMN role TEXT NOT NULL DEFAULT 'administrator'
    CHECK (role IN ('administrator', 'viewer', 'publisher'));

-- Every change made through the REST API (and every refused attempt by a signed-in key): who,
-- when, from where, what, the resource before and after (secrets masked) and the result.
-- Field names follow EMQX's audit log (`GET /api/v5/audit`).
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    -- The API key's name.
    source TEXT NOT NULL,
    source_ip TEXT NOT NULL DEFAULT '',
    -- Lower case, as EMQX writes it: post, put, delete.
    http_method TEXT NOT NULL,
    -- The path asked (`/api/v5/rules/r1`) and its route (`/rules/{id}`, EMQX's operation_id).
    path TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    -- The resource: its kind (the route's first segment: connectors, actions, sources, rules,
    -- api_key, data) and id (`kafka_producer:k1`, a rule id, an API key name; '' for none).
    operation_type TEXT NOT NULL,
    resource_id TEXT NOT NULL DEFAULT '',
    http_status_code INTEGER NOT NULL,
    -- 'success' for a 2xx answer, 'failure' otherwise, with the error message in `failure`.
    operation_result TEXT NOT NULL CHECK (operation_result IN ('success', 'failure')),
    failure TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL,
    request_body JSONB,
    before JSONB,
    after JSONB
);

CREATE INDEX audit_log_created_at ON audit_log (created_at);
CREATE INDEX audit_log_resource ON audit_log (operation_type, resource_id, id);
CREATE INDEX audit_log_source ON audit_log (source, id);
