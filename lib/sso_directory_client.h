/* sso_directory_client: calling the directory service's RPCs (proto/directory.proto) from
   another service. */
#ifndef SSO_DIRECTORY_CLIENT_H
#define SSO_DIRECTORY_CLIENT_H
#include "directory.pb-c.h"
#include "sso_service.h"

/* Sends request as rpc. Returns 0 with *reply_p set (free with sso__dir_reply__free_unpacked),
   or the bus status (503, 504) or 502 when the reply does not unpack. A reply may still carry
   an application error in reply->error. */
int sso_directory_call(sso_service_t *service, const char *rpc, bool idempotent,
                       const Sso__DirRequest *request, Sso__DirReply **reply_p);
#endif
