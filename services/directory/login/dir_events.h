/* dir_events: the login event log, one row per login attempt with its outcome and the exact
   reason a failure happened. Kept when organizations or connections are deleted. */
#ifndef DIR_EVENTS_H
#define DIR_EVENTS_H
#include "api/dir_api.h"
#include "dir_rpc.h"

typedef struct {
    const char *organization_id;  /* each may be NULL */
    const char *connection_id;
    const char *client_id;
    bool success;
    const char *reason;
    const char *subject;
    const char *email;
    const char *request_id;
    const char *txn_id;           /* the login transaction */
    bool test;                    /* a test login's (login/dir_tests): no client, no code */
    bool maintenance;             /* not a login (a metadata refresh's, a certificate's
                                     warning): no login.* webhook */
} dir_event_t;

#define DIR_EVENT_TEXT_MAX 1024

/* Records an event; 0 or -1. *id_out (may be NULL) gets the new "evt_..." id. A login's event
   (neither a test's nor maintenance) also puts a login.succeeded or login.failed webhook in
   the outbox, in the same write (webhooks/dir_webhooks). */
int dir_events_add(dir_t *dir, const dir_event_t *event, char **id_out);

/* The event_record RPC: an Event with outcome success or failure; texts of at most
   DIR_EVENT_TEXT_MAX bytes (a longer reason is kept cut). No result. */
DIR_RPC_FN(dir_events_record, Sso__Event, Sso__EventReply);

/* Retention: SSO_EVENT_RETENTION_DAYS (DIR_EVENT_RETENTION_DAYS in dir.h); housekeeping
   prunes by it. */
/* Prunes at most DIR_EVENTS_PRUNE_BATCH events per call, so a backlog (a first start with a
   shorter retention, say) holds the single writer a few milliseconds at a time. */
#define DIR_EVENTS_PRUNE_BATCH 500

/* Deletes events created before cutoff (Unix seconds) among the limit oldest, in the order
   they were recorded (seq): bounded work whatever the table's size. The number deleted, or -1
   when the database fails. Fewer than limit: nothing older is left (unless the clock went
   back while events were recorded). */
int dir_events_prune(dir_t *dir, int64_t cutoff, int limit);

/* GET /api/v1/events?organization_id=&connection_id=, newest first, paginated. */
zframe_t *dir_events_http(dir_api_req_t *req);

void dir_events_test(bool verbose);
#endif
