/* dir_rpc: what the directory's RPC operations share: their signature, their refusals, the
   DirReply frames of an error, and the input checks and copies between protobuf and the
   database. The router that picks an operation is dir_rpc_router. */
#ifndef DIR_RPC_H
#define DIR_RPC_H
#include "api/dir_json.h"
#include "dir.h"
#include "directory.pb-c.h"

/* One operation: 0 with reply's result set (a heap message, or none), or -1 with err, whose
   code becomes DirReply.error (and any result set is freed). The request's op is the one the
   operation handles. */
typedef int(dir_rpc_fn)(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                        dir_error_t *err);
/* Frees the result an operation set in reply (every result is a heap message) and unsets it. */
void dir_rpc_free_result(Sso__DirReply *reply);
/* err for a DirReply: its code and description (the HTTP status is not used on the bus). */
#define dir_rpc_error(err, code, ...) dir_error_set(err, 400, code, __VA_ARGS__)

/* A packed DirReply that carries only an error. */
zframe_t *dir_rpc_error_frame(const char *code, const char *description);
/* The same for an operation's refusal: err's code, description and retry_after
   ("server_error", "internal error" where err has none). */
zframe_t *dir_rpc_refusal_frame(const dir_error_t *err);

/* Input checks shared by the operations: text of 1..max bytes (min_len 0 allows "") with no
   control characters. */
bool dir_rpc_text(const char *text, size_t min_len, size_t max_len);
/* NULL for NULL or "" (proto3 strings are "" when absent; the database keeps NULL). */
const char *dir_rpc_or_null(const char *text);
/* strdup of text ("" for NULL); NULL only when out of memory, which packs as "". */
char *dir_rpc_dup(const char *text);
/* A malloc'd array of copies of the strings of a JSON array (n_out set); NULL when empty. */
char **dir_rpc_strings(const json_t *array, size_t *n_out);

void dir_rpc_test(bool verbose);
#endif
