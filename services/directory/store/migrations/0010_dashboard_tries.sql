-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- "Try it" of the developer dashboard (dashboard/dir_dash_try): a login through the IdP
-- simulator that a signed-in admin starts for the built-in client cli_dashboard_try. The try
-- is bound to the dashboard session that made it; its state is stored as SHA-256 (hex), its
-- PKCE verifier sealed under the master key (AAD "dashboard_try:<id>"); the callback redeems
-- the login's code with it once (used_at), before expires_at.
CREATE TABLE dashboard_tries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL REFERENCES dashboard_sessions(id) ON DELETE CASCADE,
  state_hash TEXT NOT NULL UNIQUE,
  verifier_sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER);
CREATE INDEX dashboard_tries_session ON dashboard_tries(session_id);
CREATE INDEX dashboard_tries_expires ON dashboard_tries(expires_at);
