-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- The scheduled refresh of a SAML connection's IdP metadata URL (api/dir_conn_refresh), one row
-- per connection that has one: next_at when it is due (claimed by moving it on before the
-- fetch, so that directory instances never fetch it twice), refreshed_at the last good
-- document's time (its import at a create or change included), error why the last refresh
-- kept the certificates it had (NULL after a good one).
CREATE TABLE saml_metadata_refresh (
  connection_id TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
  next_at INTEGER NOT NULL,
  refreshed_at INTEGER,
  error TEXT);
CREATE INDEX saml_metadata_refresh_due ON saml_metadata_refresh(next_at);
-- The expiry warnings written to the event log, one per certificate (its SHA-256 fingerprint) and
-- threshold (30, 7 or 1 days), so that a restart does not write them again.
CREATE TABLE saml_certificate_warnings (
  connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  sha256 TEXT NOT NULL,
  days INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (connection_id, sha256, days));
