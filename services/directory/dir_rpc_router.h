/* dir_rpc_router: the RPCs of proto/directory.proto. The Meta rpc name ("TokenWrites.CodeRedeem")
   decides the operation and the type its payload unpacks as; which role may call which
   operation is decided here, before it runs. */
#ifndef DIR_RPC_ROUTER_H
#define DIR_RPC_ROUTER_H
#include "dir.h"
#include <czmq.h>
#include "directory.pb-c.h"

/* Handles one request payload for operation rpc from caller (Meta.caller: the role the broker
   authenticated; NULL or "" for none); returns the packed reply of the operation's type
   (never NULL unless out of memory; an unknown operation gets an sso.RpcRefusal). Each
   operation serves only the roles whose code calls it, and secrets go only to the service
   that uses them: the signing keys to token, the simulator's key to saml, a connection's
   secrets to the service of its type. Anyone else gets ACCESS_DENIED. Write operations run
   the housekeeping first (dir_housekeeping). */
zframe_t *dir_rpc_router_handle(dir_t *dir, const char *caller, const char *rpc,
                                zframe_t *payload);
/* The first role operation rpc serves ("token", "saml", ...; NULL for none or an unknown
   operation), as which the test kit calls unless told otherwise. */
const char *dir_rpc_router_caller_of(const char *rpc);
/* The method rpc names, or NULL. */
const ProtobufCMethodDescriptor *dir_rpc_router_method(const char *rpc);

/* The roles that may call the directory at all (NULL-terminated), for the service loop. */
extern const char *const dir_rpc_router_callers[];

void dir_rpc_router_test(bool verbose);
#endif
