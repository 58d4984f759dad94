-- Desired state: what users configure through the REST API. PostgreSQL is the single source of
-- truth; every change bumps one global revision and notifies listeners, so every control-plane
-- replica pushes the new assignment to its workers.

CREATE TABLE config_revision (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    revision BIGINT NOT NULL
);
INSERT INTO config_revision (revision) VALUES (1);

CREATE TABLE connectors (
    type TEXT NOT NULL CHECK (type IN ('kafka_producer', 'kafka_consumer', 'mqtt')),
    name TEXT NOT NULL,
    enable BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    -- The type-specific body (tributary_protocol::resources::*ConnectorConfig), secrets included.
    config JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (type, name)
);

CREATE TABLE actions (
    type TEXT NOT NULL CHECK (type IN ('kafka_producer')),
    name TEXT NOT NULL,
    -- Name of a connector of the same type.
    connector TEXT NOT NULL,
    enable BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    parameters JSONB NOT NULL,
    resource_opts JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (type, name)
);

CREATE TABLE sources (
    type TEXT NOT NULL CHECK (type IN ('kafka_consumer')),
    name TEXT NOT NULL,
    connector TEXT NOT NULL,
    enable BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    parameters JSONB NOT NULL,
    resource_opts JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (type, name)
);

CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    sql TEXT NOT NULL,
    -- ["kafka_producer:my_sink", {"function": "republish", "args": {...}}]
    actions JSONB NOT NULL DEFAULT '[]',
    enable BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    metadata JSONB NOT NULL DEFAULT '{}',
    -- The mqtt connector the rule subscribes on; NULL means the one named `default`.
    mqtt_connector TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- How many times each resource's metrics were reset; workers move their baselines when it grows.
CREATE TABLE metric_resets (
    resource_id TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);

CREATE FUNCTION bump_config_revision() RETURNS trigger AS $$
DECLARE
    next BIGINT;
BEGIN
    UPDATE config_revision SET revision = revision + 1 RETURNING revision INTO next;
    PERFORM pg_notify('tributary_config', next::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER connectors_changed AFTER INSERT OR UPDATE OR DELETE ON connectors
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_revision();
CREATE TRIGGER actions_changed AFTER INSERT OR UPDATE OR DELETE ON actions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_revision();
CREATE TRIGGER sources_changed AFTER INSERT OR UPDATE OR DELETE ON sources
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_revision();
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE ON rules
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_revision();
CREATE TRIGGER metric_resets_changed AFTER INSERT OR UPDATE OR DELETE ON metric_resets
    FOR EACH STATEMENT EXECUTE FUNCTION bump_config_revision();
