-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- SP key rollover of a SAML connection (POST /api/v1/connections/{id}/sp_key/rotate): the
-- key pair that was current before the rotation (its key sealed like saml_sp_key_sealed, under
-- "connection:<id>:sp_key_previous"), published beside the new one for encryption and still
-- decrypting until POST .../sp_key/retire_previous sets both back to NULL. NULL when there is
-- none: never rotated, or retired.
ALTER TABLE connections ADD COLUMN saml_sp_previous_certificate TEXT;
ALTER TABLE connections ADD COLUMN saml_sp_previous_key_sealed BLOB;
