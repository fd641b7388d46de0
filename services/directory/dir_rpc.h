/* dir_rpc: what the directory's RPC operations share: their signature, the reply frame of an
   error, and the input checks and copies between protobuf and the
   database. The router that picks an operation is dir_rpc_router. */
#ifndef DIR_RPC_H
#define DIR_RPC_H
#include "api/dir_json.h"
#include "dir.h"
#include "directory.pb-c.h"

/* One operation of proto/directory.proto, typed as its .proto declares it: 0 with out (an
   initialized reply of the operation's type) filled, every field a heap copy freed with out;
   or -1 with err, whose code and description become out's error (out is then discarded).
   dir_rpc_router calls it with the request already checked to come from a caller the
   operation serves. */
#define DIR_RPC_FN(name, Request, Reply)                                                     \
    int name(dir_t *dir, const Request *in, Reply *out, dir_error_t *err)
/* err for a reply: its code (a name of sso.RpcError in lower case) and description (the HTTP
   status is not used on the bus). */
#define dir_rpc_error(err, code, ...) dir_error_set(err, 400, code, __VA_ARGS__)

/* A packed reply of type desc carrying err's code, description and retry_after
   ("server_error", "internal error" where err has none). */
zframe_t *dir_rpc_error_frame(const ProtobufCMessageDescriptor *desc, const dir_error_t *err);

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
