-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- The developer dashboard (dashboard/): its accounts, their one-time setup links and their
-- browser sessions, and the audit log of every change made through the management API or
-- the dashboard. Secrets are stored as hashes only: a password as sso_secret_hash makes it
-- (as a client secret), a setup link's token and a session's cookie secret as SHA-256 (hex).
-- An account has failed_count failed sign-ins since its last success and, once locked, the
-- time locked_until when it may try again.
CREATE TABLE dashboard_admins (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at INTEGER NOT NULL,
  last_sign_in_at INTEGER,
  failed_count INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0);
CREATE TABLE dashboard_setup_links (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash TEXT NOT NULL UNIQUE,
  admin_id TEXT NOT NULL REFERENCES dashboard_admins(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER);
CREATE INDEX dashboard_setup_links_admin ON dashboard_setup_links(admin_id);
CREATE TABLE dashboard_sessions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  session_hash TEXT NOT NULL UNIQUE,
  admin_id TEXT NOT NULL REFERENCES dashboard_admins(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX dashboard_sessions_admin ON dashboard_sessions(admin_id);
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  actor_type TEXT NOT NULL CHECK (actor_type IN ('admin', 'client', 'system')),
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  status INTEGER NOT NULL,
  remote_addr TEXT NOT NULL DEFAULT '');
CREATE INDEX audit_log_actor ON audit_log(actor, seq);
CREATE INDEX login_events_time ON login_events(created_at);
