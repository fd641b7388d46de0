/* dir_dash_audit: the audit log: every change made through the management API (/api/v1, by a
   client) or the developer dashboard (/dashboard/api/v1, by an admin), made or refused, and
   the dashboard's sign-ins, sign-outs, setups and lockouts: who (the admin's email, the
   client's id, or "system"), what (method and path, secret-looking segments masked), the
   resource it names, the HTTP status, when and from where (the client address the gateway
   passes on). GET /api/v1/audit lists it, newest first. */
#ifndef DIR_DASH_AUDIT_H
#define DIR_DASH_AUDIT_H
#include "api/dir_api.h"

#define DIR_AUDIT_ACTION_MAX 300

/* Writes one row. action is written as given (the caller masks any secret in it); target
   may be NULL. 0, or -1 (logged). */
int dir_dash_audit_write(dir_t *dir, const char *actor_type, const char *actor,
                         const char *action, const char *target, int status,
                         const char *remote_addr);
/* Writes the row of a request to the management API answered by reply, when it is a change
   (any method but GET and HEAD): the target is the reply's "id" on success, else the last id
   in the path. */
void dir_dash_audit_change(dir_t *dir, const Sso__HttpRequest *request, const char *actor_type,
                           const char *actor, zframe_t *reply);
/* GET /api/v1/audit?actor=&action=&since=&until= (since and until in Unix seconds; action
   matches a prefix, "POST /api/v1/organizations"). */
zframe_t *dir_dash_audit_http(dir_api_req_t *req);

void dir_dash_audit_test(bool verbose);
#endif
