/* dir_rpc: the RPCs of proto/directory.proto. The oneof in DirRequest decides the operation;
   the Meta rpc name is only logged when it disagrees. */
#ifndef DIR_RPC_H
#define DIR_RPC_H
#include "api/dir_json.h"
#include "dir_service.h"
#include "directory.pb-c.h"

/* Handles one DirRequest frame from caller (Meta.caller: the role the broker authenticated;
   NULL or "" for none); returns the packed DirReply frame (never NULL unless out of memory).
   Each operation serves only the roles whose code calls it, and secrets go only to the
   service that uses them: the signing keys to token, the simulator's key to saml, a
   connection's secrets to the service of its type. Anyone else gets access_denied. */
zframe_t *dir_rpc_handle(dir_t *dir, const char *caller, const char *rpc, zframe_t *payload);
/* The first role request's operation serves ("token", "saml", ...; NULL for none), as which
   the test kit calls unless told otherwise. */
const char *dir_rpc_caller_of(const Sso__DirRequest *request);
/* A packed DirReply that carries only an error. */
zframe_t *dir_rpc_error_frame(const char *code, const char *description);

/* One operation: 0 with reply's result set (a heap message, or none), or -1 with err, whose
   code becomes DirReply.error (and any result set is freed). The request's op is the one the
   operation handles. */
typedef int(dir_rpc_fn)(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                        dir_error_t *err);
/* Frees the result an operation set in reply (every result is a heap message) and unsets it. */
void dir_rpc_free_result(Sso__DirReply *reply);
/* err for a DirReply: its code and description (the HTTP status is not used on the bus). */
#define dir_rpc_error(err, code, ...) dir_error_set(err, 400, code, __VA_ARGS__)

/* Input checks shared by the operations: text of 1..max bytes (min_len 0 allows "") with no
   control characters. */
bool dir_rpc_text(const char *text, size_t min_len, size_t max_len);
/* NULL for NULL or "" (proto3 strings are "" when absent; the database keeps NULL). */
const char *dir_rpc_or_null(const char *text);
/* strdup of text ("" for NULL); NULL only when out of memory, which packs as "". */
char *dir_rpc_dup(const char *text);
/* A malloc'd array of copies of the strings of a JSON array (n_out set); NULL when empty. */
char **dir_rpc_strings(const json_t *array, size_t *n_out);

/* Purges expired login state (transactions an hour past expiry, codes and access tokens a day
   past, replay ids at expiry) and login events past the retention. Runs with write
   operations, at most once a minute unless forced; events one batch at a time (while a
   backlog lasts, one batch with every write). */
void dir_rpc_housekeeping(dir_t *dir, bool force);

void dir_rpc_test(bool verbose);
#endif
