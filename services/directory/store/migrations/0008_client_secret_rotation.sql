-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- Client secret rotation (POST /api/v1/clients/{id}/rotate_secret): the secret that was
-- current before the last rotation (sso_secret_hash, like secret_hash) keeps authenticating
-- the client until previous_secret_expires_at (unix seconds, exclusive). NULL when there is
-- none: never rotated, rotated with overlap 0, or the bootstrap admin client.
ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at INTEGER;
