/* dir_webhook_sender: delivers the outbox's webhooks (webhooks/dir_webhooks). Driven by the
   directory loop's tick as dir_conn_refresh is: a short write claims the due deliveries (a
   lease on each, so another directory instance skips them, and a claim left by a killed
   process is taken again when its lease ends), a thread of its own POSTs them with sso_fetch
   (https only, the private-address check at socket open, a 10 s timeout, the answer's read
   capped), signed as Standard Webhooks lays out (webhook-id: the message's id, the same on
   every attempt; webhook-timestamp: the attempt's; webhook-signature), and a later tick
   records each attempt and its outcome in a write of its own. A 2xx is delivered; anything
   else is retried with exponential backoff until 3 days after the message, then failed.
   Order holds per endpoint and stream: only the oldest pending delivery of a stream is due,
   so a failing one holds those behind it until it is delivered or failed. */
#ifndef DIR_WEBHOOK_SENDER_H
#define DIR_WEBHOOK_SENDER_H
#include "dir.h"

/* How many deliveries one round sends (one after another, on its thread). */
#define DIR_WEBHOOK_ROUND 4
#define DIR_WEBHOOK_TIMEOUT_MS 10000
/* A claim's lease: longer than a whole round can take. */
#define DIR_WEBHOOK_LEASE_MS (DIR_WEBHOOK_ROUND * DIR_WEBHOOK_TIMEOUT_MS + 20000)
/* How much of a receiver's answer is read (a larger one is an error). */
#define DIR_WEBHOOK_RESPONSE_MAX (64 * 1024)
/* How often an idle tick looks for due deliveries. */
#define DIR_WEBHOOK_LOOK_MS 200

/* The loop's timer work, never blocking on the network: records a finished round's attempts,
   then (force: whether or not a look is due) claims due deliveries and starts their round. */
void dir_webhook_sender_tick(dir_t *dir, bool force);

/* Waits for the delivery in progress (bounded by its timeout; the round's others are not
   sent and their claims are given back), records what was sent, and frees
   dir->webhook_sender. For the directory's stop, and tests. */
void dir_webhook_sender_stop(dir_t *dir);

/* The delay before retry number attempts (1: after the first failed attempt): 5 s, 30 s,
   2 min, 10 min, 1 h, then every 6 h, each scaled by dir->webhook_first_retry_ms / 5 s, with
   random (0..UINT32_MAX) spreading it by up to ±10%. */
int64_t dir_webhook_sender_backoff_ms(const dir_t *dir, int attempts, uint32_t random);

void dir_webhook_sender_test(bool verbose);
#endif
