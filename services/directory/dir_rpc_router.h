/* dir_rpc_router: the RPCs of proto/directory.proto. The oneof in DirRequest decides the
   operation; the Meta rpc name is only logged when it disagrees. Which role may call which
   operation is decided here, before it runs. */
#ifndef DIR_RPC_ROUTER_H
#define DIR_RPC_ROUTER_H
#include "dir.h"
#include <czmq.h>
#include "directory.pb-c.h"

/* Handles one DirRequest frame from caller (Meta.caller: the role the broker authenticated;
   NULL or "" for none); returns the packed DirReply frame (never NULL unless out of memory).
   Each operation serves only the roles whose code calls it, and secrets go only to the
   service that uses them: the signing keys to token, the simulator's key to saml, a
   connection's secrets to the service of its type. Anyone else gets access_denied. Write
   operations run the housekeeping first (dir_housekeeping). */
zframe_t *dir_rpc_router_handle(dir_t *dir, const char *caller, const char *rpc,
                                zframe_t *payload);
/* The first role request's operation serves ("token", "saml", ...; NULL for none), as which
   the test kit calls unless told otherwise. */
const char *dir_rpc_router_caller_of(const Sso__DirRequest *request);

/* The roles that may call the directory at all (NULL-terminated), for the service loop. */
extern const char *const dir_rpc_router_callers[];

void dir_rpc_router_test(bool verbose);
#endif
