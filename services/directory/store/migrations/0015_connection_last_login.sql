-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- The last successful login of each connection (not a test's, not an IdP-initiated one), for
-- the portal and the management API (login/dir_last_login): its time, subject and the raw SAML
-- attributes or OIDC claims as the IdP sent them (a JSON object of at most 64 KiB; NULL when
-- the service sent none). One row per connection, replaced by the next login, deleted with the
-- connection.
CREATE TABLE connection_last_logins (
  connection_id TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
  completed_at INTEGER NOT NULL,
  subject TEXT NOT NULL,
  raw_json TEXT);
