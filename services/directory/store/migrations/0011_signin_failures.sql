-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- The developer dashboard's failed sign-ins, per email, whether or not an account has it: an
-- unknown email is counted and locked exactly as an account, so that lockouts do not tell
-- which emails have accounts (dashboard/dir_dash_lockout). Keyed by the SHA-256 (hex) of the
-- lower-cased email: not the addresses strangers type. failed_count failures since the last
-- success, locked_until when it may be tried again (0: not locked), last_failure_at for
-- forgetting an idle row. The accounts' own columns for this go: one place for both.
CREATE TABLE dashboard_signin_failures (
  email_hash TEXT PRIMARY KEY,
  failed_count INTEGER NOT NULL,
  locked_until INTEGER NOT NULL DEFAULT 0,
  last_failure_at INTEGER NOT NULL);
CREATE INDEX dashboard_signin_failures_age ON dashboard_signin_failures(last_failure_at);
ALTER TABLE dashboard_admins DROP COLUMN failed_count;
ALTER TABLE dashboard_admins DROP COLUMN locked_until;
