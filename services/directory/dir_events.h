/* dir_events: the login event log, one row per login attempt with its outcome and the exact
   reason a failure happened. Kept when organizations or connections are deleted. */
#ifndef DIR_EVENTS_H
#define DIR_EVENTS_H
#include "dir_api.h"

typedef struct {
    const char *organization_id;  /* each may be NULL */
    const char *connection_id;
    const char *client_id;
    bool success;
    const char *reason;
    const char *subject;
    const char *email;
    const char *request_id;
} dir_event_t;

/* Records an event; 0 or -1. *id_out (may be NULL) gets the new "evt_..." id. */
int dir_events_add(dir_t *dir, const dir_event_t *event, char **id_out);

/* GET /api/v1/events?organization_id=&connection_id=, newest first, paginated. */
zframe_t *dir_events_http(dir_api_req_t *req);

void dir_events_test(bool verbose);
#endif
