-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- OIDC private_key_jwt: the broker's client assertion key of the connection (PKCS#8 PEM,
-- sealed under "connection:<id>:oidc_client_key") and its self-signed certificate (public:
-- the JWKS the broker serves is made from it). Made when the connection's method first
-- becomes private_key_jwt; NULL before.
ALTER TABLE connections ADD COLUMN oidc_client_key_sealed BLOB;
ALTER TABLE connections ADD COLUMN oidc_client_certificate TEXT;
