-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- scripts/gen_migrations.py joins the lines without their newlines and leaves out the comment
-- lines ("--"), so SQLite runs (and stores) the statements byte for byte as they ran before.
-- Every table of the directory. Times are Unix seconds (UTC). Ids are TEXT with a
-- type prefix; seq gives a stable order for keyset pagination.
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL);
CREATE TABLE organizations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  external_id TEXT UNIQUE,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE domains (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  domain TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL);
CREATE INDEX domains_org ON domains(organization_id);
CREATE TABLE connections (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('saml', 'oidc')),
  status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'inactive')),
  name TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  -- SAML: the IdP's settings, and this SP's own key pair (the key sealed).
  saml_idp_entity_id TEXT,
  saml_idp_sso_url TEXT,
  -- JSON array of PEM strings
  saml_idp_certificates TEXT,
  saml_idp_metadata_url TEXT,
  saml_sp_certificate TEXT,
  -- AAD 'connection:<id>:sp_key'
  saml_sp_key_sealed BLOB,
  attribute_mapping TEXT NOT NULL DEFAULT '{}',
  -- OIDC: the upstream IdP and our client registration there (secret sealed).
  oidc_issuer TEXT,
  oidc_client_id TEXT,
  -- AAD 'connection:<id>:oidc_client_secret'
  oidc_client_secret_sealed BLOB,
  oidc_scopes TEXT);
CREATE INDEX connections_org ON connections(organization_id);
CREATE TABLE clients (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  -- the OAuth client_id
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  -- sso_secret_hash
  secret_hash TEXT NOT NULL,
  is_admin INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE client_redirect_uris (
  client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  uri TEXT NOT NULL,
  PRIMARY KEY (client_id, uri));
CREATE TABLE portal_links (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  -- sha256 hex of the token in the URL
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX portal_links_org ON portal_links(organization_id);
-- One login in flight: what the client asked for at /oauth/authorize and what we sent
-- upstream. Single-use; expires quickly.
CREATE TABLE login_transactions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
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
  -- SAML AuthnRequest ID or OIDC state
  upstream_request_id TEXT UNIQUE,
  upstream_nonce TEXT,
  upstream_code_verifier_sealed BLOB,
  csrf_token_hash TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  completed_at INTEGER);
CREATE INDEX login_transactions_expiry ON login_transactions(expires_at);
-- Codes handed to the client; only their hash is kept. Single-use (used_at).
CREATE TABLE authorization_codes (
  code_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  redirect_uri TEXT NOT NULL,
  scope TEXT NOT NULL,
  nonce TEXT,
  code_challenge TEXT,
  code_challenge_method TEXT,
  organization_id TEXT,
  connection_id TEXT,
  -- the normalized identity for the ID token
  claims_json TEXT NOT NULL,
  auth_time INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER);
CREATE INDEX authorization_codes_expiry ON authorization_codes(expires_at);
-- Replay caches: SAML assertion IDs (kind 'saml_assertion'), per connection.
CREATE TABLE replay_cache (
  kind TEXT NOT NULL,
  connection_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (kind, connection_id, item_id));
CREATE INDEX replay_cache_expiry ON replay_cache(expires_at);
-- The login log. No foreign keys: history outlives deleted organizations.
CREATE TABLE login_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  organization_id TEXT,
  connection_id TEXT,
  client_id TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  reason TEXT NOT NULL DEFAULT '',
  subject TEXT,
  email TEXT,
  request_id TEXT);
CREATE INDEX login_events_org ON login_events(organization_id, seq);
CREATE INDEX login_events_conn ON login_events(connection_id, seq);
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  -- AAD 'signing_key:<kid>'
  private_key_sealed BLOB NOT NULL,
  public_jwk_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  active_from INTEGER NOT NULL,
  retire_after INTEGER NOT NULL DEFAULT 0);
CREATE TABLE access_tokens (
  -- sha256 hex of the opaque token
  token_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  scope TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
