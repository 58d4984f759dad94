-- API keys are managed by name (`/api/v5/api_key/{name}`), as in EMQX.
CREATE UNIQUE INDEX api_keys_name_unique ON api_keys (name) WHERE name <> '';
