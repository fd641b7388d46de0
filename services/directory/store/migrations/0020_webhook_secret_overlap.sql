-- A rotated webhook secret keeps signing beside the new one until previous_secret_until (Unix
-- seconds): the Standard Webhooks header carries both signatures, so the app switches secrets
-- without losing a delivery. Sealed as the current one (AAD "webhook:<id>:secret").
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_sealed BLOB;
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_until INTEGER;
