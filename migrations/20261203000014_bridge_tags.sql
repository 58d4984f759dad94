-- EMQX's `tags` of actions and sources get a column of their own. They were kept inside
-- `resource_opts` under the key `tags`; moved out here so that column holds only the options.
ALTER TABLE actions ADD COLUMN tags JSONB NOT NULL DEFAULT '[]';
ALTER TABLE sources ADD COLUMN tags JSONB NOT NULL DEFAULT '[]';
UPDATE actions SET tags = resource_opts->'tags', resource_opts = resource_opts - 'tags'
    WHERE jsonb_typeof(resource_opts->'tags') = 'array';
UPDATE sources SET tags = resource_opts->'tags', resource_opts = resource_opts - 'tags'
    WHERE jsonb_typeof(resource_opts->'tags') = 'array';
