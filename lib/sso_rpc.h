/* sso_rpc: the services' RPCs as the .proto files declare them (`service X { rpc Y(...) }`):
   the bus name of an operation ("X.Y"), a caller's call to one, a server's dispatch to its
   typed handlers, and the sso.RpcError every reply begins with. An operation is named once,
   in its .proto; protoc-c's generated stubs and service structs bind the C functions to it. */
#ifndef SSO_RPC_H
#define SSO_RPC_H
#include "bus.pb-c.h"
#include "sso_service.h"

#define SSO_RPC_NAME_MAX 64

/* "<Service>.<Method>" of method index m of sd into out; -1 when it does not fit. */
/* Whether name could be an RPC's bus name, as a metrics label: 1..48 bytes of
   [A-Za-z0-9_.] (whatever a caller sends, the label stays plain text). */
bool sso_rpc_label_ok(const char *name);
int sso_rpc_name(const ProtobufCServiceDescriptor *sd, unsigned m, char *out, size_t size);

/* A caller's handle on one proto service served on the bus under target ("directory",
   "saml", ...). Give &client.base to a generated stub (sso__x__y(&client.base, ...)): the stub
   calls the operation and its closure gets the unpacked reply, the caller's to free, or NULL
   when the bus failed; status then says why (503 no instance, 504 deadline, 502 a reply that
   does not unpack), 0 otherwise. Requests of a proto service whose name ends in "Reads" are
   idempotent (the broker may re-send them to another instance); all others are not. */
typedef struct {
    ProtobufCService base;
    sso_service_t *service;
    const char *target;
    int status;
} sso_rpc_client_t;

void sso_rpc_client_init(sso_rpc_client_t *client, const ProtobufCServiceDescriptor *sd,
                         sso_service_t *service, const char *target);
bool sso_rpc_idempotent(const ProtobufCServiceDescriptor *sd);

/* A server's side: finds rpc among the n proto services it implements (generated service
   structs, SSO__X__INIT(prefix)); 0 with *index (into services) and *method, or -1. */
int sso_rpc_find(ProtobufCService *const *services, size_t n, const char *rpc, size_t *index,
                 unsigned *method);

/* An empty reply of desc (an operation's output type) with its error set: packed, ready to
   send. Its fields error, error_description and, when desc has it and it is > 0,
   retry_after. NULL when out of memory. */
zframe_t *sso_rpc_error_frame(const ProtobufCMessageDescriptor *desc, Sso__RpcError error,
                              const char *description, int64_t retry_after);

/* The lower-case name of an error (its OAuth-style code: "invalid_grant"); "server_error" for
   a value the enum does not have. */
const char *sso_rpc_error_name(Sso__RpcError error);
/* The error of a lower-case name; SSO__RPC_ERROR__SERVER_ERROR for an unknown one. */
Sso__RpcError sso_rpc_error_of(const char *name);

void sso_rpc_test(bool verbose);
#endif
