-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- A connection's options (a JSON object, checked by the API per connection type, e.g.
-- {"response_mode":"form_post"}); its attribute_mapping column (0001) is now read and written.
ALTER TABLE connections ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
-- OIDC: the endpoints the provider's discovery gave at the last check (create, change,
-- enable), as JSON, so that reading a connection shows them without a fetch.
ALTER TABLE connections ADD COLUMN oidc_discovered TEXT;
