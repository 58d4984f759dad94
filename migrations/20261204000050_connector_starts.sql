-- EMQX's `start` operation restarts a connector that is stopped or disconnected. `starts` counts
-- those restarts; flows carry it, so their versions change and workers build the connector's
-- clients anew. `started` is false while a connector whose resource_opts.start_after_created is
-- false waits for its first `start` (EMQX leaves such a connector stopped after it is created,
-- updated or enabled); no flow runs on it meanwhile.
ALTER TABLE connectors ADD COLUMN starts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE connectors ADD COLUMN started BOOLEAN NOT NULL DEFAULT TRUE;
