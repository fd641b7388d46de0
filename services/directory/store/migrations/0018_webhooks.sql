-- Shipped: never edit this file; a change to the schema is a new file with the next number.
-- Webhooks to the app (issue 22): the deployment's endpoints, the events each subscribes to,
-- and the durable outbox the sender (webhooks/dir_webhook_sender) delivers from. A message
-- and its deliveries are written in the same write as the event they tell of.
CREATE TABLE webhook_endpoints (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  description TEXT,
  -- The signing secret ("whsec_..."), sealed with the master key (AAD "webhook:<id>:secret"):
  -- the sender needs it in the clear to sign.
  secret_sealed BLOB NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
-- The event types an endpoint receives; the index answers "who wants this type" per event.
CREATE TABLE webhook_subscriptions (
  endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  event_type TEXT NOT NULL,
  PRIMARY KEY (endpoint_id, event_type)) WITHOUT ROWID;
CREATE INDEX webhook_subscriptions_type ON webhook_subscriptions(event_type);
-- One per event: payload is the Standard Webhooks body as sent ({"type", "timestamp", "data"});
-- stream the ordering key (the organization's id, "" for none): order holds per stream.
CREATE TABLE webhook_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  stream TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL);
-- One per message and endpoint (and per manual redelivery). Times in milliseconds. A pending
-- delivery is due when next_at_ms has passed, no live claim holds it (lease_until_ms) and it is
-- the oldest pending one of its endpoint and stream (head of line). deadline_ms: the message's
-- creation plus 3 days; a delivery still failing then is failed and its stream moves on.
CREATE TABLE webhook_deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  message_id TEXT NOT NULL REFERENCES webhook_messages(id) ON DELETE CASCADE,
  stream TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at_ms INTEGER NOT NULL,
  lease_until_ms INTEGER NOT NULL DEFAULT 0,
  deadline_ms INTEGER NOT NULL,
  last_http_status INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(endpoint_id, stream, seq)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, seq);
CREATE INDEX webhook_deliveries_message ON webhook_deliveries(message_id);
-- The delivery log: every attempt, with the HTTP status or the error and how long it took.
CREATE TABLE webhook_attempts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  at INTEGER NOT NULL,
  http_status INTEGER,
  error TEXT,
  duration_ms INTEGER NOT NULL);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, seq);
