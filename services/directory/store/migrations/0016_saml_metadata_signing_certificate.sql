-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- The certificate (canonical PEM) that must have signed a SAML connection's IdP metadata, at
-- import and at every refresh (saml.idp_metadata_signing_certificate); NULL: none named, and
-- a signature in the metadata is not checked.
ALTER TABLE connections ADD COLUMN saml_idp_metadata_signing_certificate TEXT;
