/* dir_webhooks: webhooks to the app (issue 22): the deployment's endpoints in the management
   API (/api/v1/webhooks), and the durable outbox the sender (webhooks/dir_webhook_sender)
   delivers from. An endpoint is an https URL (plain http only to a loopback host with
   SSO_ALLOW_PRIVATE_UPSTREAMS=1, as metadata URLs) with the event types it receives and a
   signing secret ("whsec_...", lib/sso_webhook), shown once when made or rotated and stored
   sealed with the master key, since the sender signs with it.

   Producers call dir_webhooks_emit inside the write that records their event, so a message
   exists exactly when its event does and nothing is sent on the request's path: login events
   (login/dir_events), connection status (api/dir_connections), SCIM users' changes
   (scim/dir_scim_sync for scim/dir_scim_users and dir_scim_groups: directory.user.*,
   directory.group.*). */
#ifndef DIR_WEBHOOKS_H
#define DIR_WEBHOOKS_H
#include "api/dir_api.h"

#define DIR_WEBHOOK_URL_MAX 2048
#define DIR_WEBHOOK_DESCRIPTION_MAX 500
/* How long a message's deliveries are retried before they fail: 3 days. */
#define DIR_WEBHOOK_RETRY_FOR_MS (3LL * 86400 * 1000)
/* How long a rotated secret signs beside the new one: a day unless the rotation says (0 to 7
   days). */
#define DIR_WEBHOOK_OVERLAP_DEFAULT 86400
#define DIR_WEBHOOK_OVERLAP_MAX (7 * 86400)
/* The most messages one dir_webhooks_emit_many writes: above a group's members in one SCIM
   write (DIR_SCIM_GROUP_MEMBERS_MAX). */
#define DIR_WEBHOOK_EMIT_MAX 65536

/* Every event type an endpoint may subscribe to; NULL-terminated. */
extern const char *const dir_webhook_event_types[];

/* Milliseconds since the epoch (the outbox's clock). */
int64_t dir_webhooks_now_ms(void);

/* Inside the caller's write transaction: when an enabled endpoint subscribes to type, a
   message {"type", "timestamp" (RFC 3339, now), "data": data} with a fresh "msg_..." id for
   stream (the ordering key: the organization's id; NULL or "" for events of none), and one
   pending delivery, due now, per such endpoint. Nothing when none does. data is borrowed.
   0, or -1 when the database failed (the caller rolls its write back). */
int dir_webhooks_emit(dir_t *dir, const char *type, const char *stream, json_t *data);
/* The same for each item of datas (an array, borrowed; each item one message's data), in its
   order, in three statements whatever their number (the endpoints read, the messages
   inserted, their deliveries inserted): a SCIM write of 10,000 members emits 10,000 messages
   within its deadline on PostgreSQL, where each statement is a round trip. The rows are what
   emitting the items one by one leaves, in the same order. 0 (also for an empty array), or
   -1 when the database failed or datas is not an array of at most DIR_WEBHOOK_EMIT_MAX. */
int dir_webhooks_emit_many(dir_t *dir, const char *type, const char *stream, json_t *datas);
/* Whether an enabled endpoint subscribes to type: 1, 0, or -1 when the database failed. For a
   producer whose data costs work to build (a SCIM user's stored resource, parsed): it asks
   first, and builds nothing when no one listens. */
int dir_webhooks_wanted(dir_t *dir, const char *type);

/* Retention (with the login events', SSO_EVENT_RETENTION_DAYS, by login/dir_housekeeping):
   deletes, among the limit oldest messages created before cutoff (Unix seconds) with no
   pending delivery, each with its deliveries and their attempts. How many, or -1. */
int dir_webhooks_prune(dir_t *dir, int64_t cutoff, int limit);

/* /api/v1/webhooks (GET a page, POST), /api/v1/webhooks/{id} (GET, PATCH, DELETE),
   {id}/secret/rotate (POST), {id}/deliveries (GET a page, newest first; ?status=) and
   {id}/deliveries/{delivery_id}/retry (POST). */
zframe_t *dir_webhooks_http(dir_api_req_t *req);

void dir_webhooks_test(bool verbose);
#endif
