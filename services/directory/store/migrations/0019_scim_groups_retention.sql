-- A group's members come back in the order they were added (position, counted per group by
-- the write that adds them); rows made before keep 0 and come first, by user id.
ALTER TABLE scim_group_members ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
CREATE INDEX scim_group_members_order ON scim_group_members(group_id, position);
-- The retention (SSO_SCIM_RETENTION_DAYS, SSO_EVENT_RETENTION_DAYS) finds what it purges by
-- time, not by a scan of every row.
CREATE INDEX scim_users_deleted ON scim_users(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX scim_groups_deleted ON scim_groups(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX scim_events_at ON scim_events(at);
