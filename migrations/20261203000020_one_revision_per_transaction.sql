-- One configuration revision per transaction, not per statement: an import (or any transaction
-- that saves several resources) becomes visible to workers at once at commit, so the revision
-- they follow advances once for it. Other transactions only ever see committed state, so a
-- revision per transaction is as precise as one per statement. The marker is transaction-local
-- (`set_config(..., true)`) and rolls back with the transaction or savepoint that set it.
CREATE OR REPLACE FUNCTION bump_config_revision() RETURNS trigger AS $$
DECLARE
    next BIGINT;
BEGIN
    IF current_setting('tributary.revision_bumped', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('tributary.revision_bumped', 'on', true);
    UPDATE config_revision SET revision = revision + 1 RETURNING revision INTO next;
    PERFORM pg_notify('tributary_config', next::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
