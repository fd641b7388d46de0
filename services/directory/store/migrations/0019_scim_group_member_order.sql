-- A group's members come back in the order they were added (position, counted per group by
-- the write that adds them); rows made before keep 0 and come first, by user id.
ALTER TABLE scim_group_members ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
CREATE INDEX scim_group_members_order ON scim_group_members(group_id, position);
