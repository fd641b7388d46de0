-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- Portal links work once: used_at is when a link was exchanged for a portal session (NULL
-- before). A portal session is what a link's exchange makes: the SHA-256 (hex) of the secret
-- in the browser's cookie, the organization it may read and change (the link's, never the
-- request's), its idle clock (last_seen) and its absolute end (expires_at, never past the
-- link's). Revoking a link deletes its sessions; deleting an organization deletes both.
ALTER TABLE portal_links ADD COLUMN used_at INTEGER;
CREATE TABLE portal_sessions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  session_hash TEXT NOT NULL UNIQUE,
  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  link_id TEXT NOT NULL REFERENCES portal_links(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX portal_sessions_link ON portal_sessions(link_id);
CREATE INDEX portal_sessions_expiry ON portal_sessions(expires_at);
