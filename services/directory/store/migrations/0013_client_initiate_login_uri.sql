-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- Where a client starts a login of its own (OIDC third-party initiated login): the broker sends
-- an IdP-initiated SAML login there, as an SP-initiated one to begin (NULL: none).
ALTER TABLE clients ADD COLUMN initiate_login_uri TEXT;
