-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- SCIM 2.0 directories (issue 22): an organization's provisioning endpoint
-- <SSO_PUBLIC_URL>/scim/v2/<id> (api/dir_scim_dirs), the bearer tokens that authenticate its
-- IdP, and the users, groups and sync events the SCIM service writes. Deleting an
-- organization deletes its directories and with them everything below.
CREATE TABLE scim_directories (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX scim_directories_org ON scim_directories(organization_id, seq);
-- A directory's bearer tokens as SHA-256 (hex) of the token, never the token. expires_at is
-- NULL for the current one; a rotation gives the one it replaces an end (its overlap), so a
-- directory has at most two.
CREATE TABLE scim_tokens (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  directory_id TEXT NOT NULL REFERENCES scim_directories(id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER);
CREATE INDEX scim_tokens_directory ON scim_tokens(directory_id);
-- SCIM Users. user_name_lower, email_lower (the primary email) and display_name_lower are
-- the lower-case forms that case-insensitive filters (RFC 7643 caseExact false) and logins
-- look up; external_id is case-exact. A deleted user keeps its row (deleted_at) until the
-- retention ends, without holding its userName. resource_json is the whole resource as
-- served, version its meta.version.
CREATE TABLE scim_users (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  directory_id TEXT NOT NULL REFERENCES scim_directories(id) ON DELETE CASCADE,
  user_name TEXT NOT NULL,
  user_name_lower TEXT NOT NULL,
  external_id TEXT,
  display_name TEXT,
  display_name_lower TEXT,
  email_lower TEXT,
  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  resource_json TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users(directory_id, user_name_lower)
  WHERE deleted_at IS NULL;
CREATE INDEX scim_users_directory ON scim_users(directory_id, seq);
CREATE INDEX scim_users_external_id ON scim_users(directory_id, external_id);
CREATE INDEX scim_users_email ON scim_users(directory_id, email_lower);
CREATE INDEX scim_users_display_name ON scim_users(directory_id, display_name_lower);
-- Logins look a provisioned user up by email across the organization's directories.
CREATE INDEX scim_users_login_email ON scim_users(email_lower) WHERE deleted_at IS NULL;
-- SCIM Groups, without their members (scim_group_members).
CREATE TABLE scim_groups (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  directory_id TEXT NOT NULL REFERENCES scim_directories(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  display_name_lower TEXT NOT NULL,
  external_id TEXT,
  resource_json TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER);
CREATE INDEX scim_groups_directory ON scim_groups(directory_id, seq);
CREATE INDEX scim_groups_display_name ON scim_groups(directory_id, display_name_lower);
CREATE INDEX scim_groups_external_id ON scim_groups(directory_id, external_id);
-- Membership: the primary key answers a group's members (members.value eq, in order), the
-- index a user's groups.
CREATE TABLE scim_group_members (
  group_id TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES scim_users(id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, user_id)) WITHOUT ROWID;
CREATE INDEX scim_group_members_user ON scim_group_members(user_id);
-- What each SCIM request changed, in order per directory (type such as user.created,
-- detail a JSON object or NULL), listed newest first.
CREATE TABLE scim_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  directory_id TEXT NOT NULL REFERENCES scim_directories(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  resource_type TEXT NOT NULL CHECK (resource_type IN ('User', 'Group')),
  resource_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  detail TEXT);
CREATE INDEX scim_events_directory ON scim_events(directory_id, seq);
