-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- Test logins from the admin portal (login/dir_tests): a login against the organization's IdP
-- that no client started and that issues no code. Its transaction has no client, so
-- login_transactions is rebuilt with client_id nullable (SQLite cannot drop NOT NULL); the
-- test keeps its start handle (hashed, single use) and its result; events say a test's.
CREATE TABLE login_transactions_new (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
  redirect_uri TEXT NOT NULL,
  state TEXT,
  nonce TEXT,
  scope TEXT NOT NULL,
  code_challenge TEXT,
  code_challenge_method TEXT,
  login_hint TEXT,
  prompt TEXT,
  max_age INTEGER,
  organization_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
  connection_id TEXT REFERENCES connections(id) ON DELETE CASCADE,
  upstream_request_id TEXT UNIQUE,
  upstream_nonce TEXT,
  upstream_code_verifier_sealed BLOB,
  csrf_token_hash TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  completed_at INTEGER,
  force_login INTEGER NOT NULL DEFAULT 0,
  oidc_state TEXT,
  browser_binding_hash TEXT);
INSERT INTO login_transactions_new SELECT seq, id, client_id, redirect_uri, state, nonce, scope,
  code_challenge, code_challenge_method, login_hint, prompt, max_age, organization_id,
  connection_id, upstream_request_id, upstream_nonce, upstream_code_verifier_sealed,
  csrf_token_hash, created_at, expires_at, completed_at, force_login, oidc_state,
  browser_binding_hash FROM login_transactions;
DROP TABLE login_transactions;
ALTER TABLE login_transactions_new RENAME TO login_transactions;
CREATE INDEX login_transactions_expiry ON login_transactions(expires_at);
CREATE UNIQUE INDEX login_transactions_oidc_state ON login_transactions(oidc_state);
CREATE TABLE login_tests (
  id TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  txn_id TEXT NOT NULL UNIQUE,
  start_hash TEXT UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  completed_at INTEGER,
  outcome TEXT CHECK (outcome IN ('success', 'failure')),
  reason TEXT NOT NULL DEFAULT '',
  profile_json TEXT,
  raw_json TEXT);
CREATE INDEX login_tests_expiry ON login_tests(expires_at);
ALTER TABLE login_events ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
