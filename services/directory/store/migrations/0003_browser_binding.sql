-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- An OIDC login is bound to the browser that started it: the SHA-256 (hex) of a random value
-- the token service sets as that login's cookie, which the callback must bring back.
ALTER TABLE login_transactions ADD COLUMN browser_binding_hash TEXT;
