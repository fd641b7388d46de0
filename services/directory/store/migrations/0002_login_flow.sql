-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- scripts/gen_migrations.py joins the lines without their newlines and leaves out the comment
-- lines ("--"), so SQLite runs (and stores) the statements byte for byte as they ran before.
-- The login flow (proto/directory.proto). Organizations may accept any email domain;
-- transactions keep what the OIDC upstream needs; codes keep their connection type and
-- whether they were presented twice; access tokens keep their identity claims and the
-- code they came from (a reused code revokes them); events name their transaction.
ALTER TABLE organizations ADD COLUMN allow_any_domain INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_transactions ADD COLUMN force_login INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_transactions ADD COLUMN oidc_state TEXT;
CREATE UNIQUE INDEX login_transactions_oidc_state ON login_transactions(oidc_state);
ALTER TABLE authorization_codes ADD COLUMN connection_type TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN reused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_tokens ADD COLUMN claims_json TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN code_hash TEXT;
CREATE INDEX access_tokens_code ON access_tokens(code_hash);
ALTER TABLE login_events ADD COLUMN txn_id TEXT;
