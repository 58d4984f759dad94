-- The configuration revision a metric reset was made at. A worker whose applied revision is older
-- has not moved its baseline yet, so its heartbeat still carries pre-reset totals for the
-- resource; the control plane ignores those until the worker catches up.
ALTER TABLE metric_resets ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
