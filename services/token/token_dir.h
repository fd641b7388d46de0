/* token_dir: every call the token service makes on the bus goes through here. The self-tests
   run them against the real directory (token_testkit); token_keys' tests of overlapping
   requests replace the bus (token_dir_set) with scripted answers that come in the order they
   need. */
#ifndef TOKEN_DIR_H
#define TOKEN_DIR_H
#include "directory.pb-c.h"
#include "saml.pb-c.h"
#include "sso_service.h"

/* Calls a directory RPC. 0 with *reply_p set (free with sso__dir_reply__free_unpacked), or the
   bus status (503, 504), or 502 when the reply does not unpack. */
typedef int (token_dir_call_fn)(sso_service_t *service, const char *rpc, bool idempotent,
                                const Sso__DirRequest *request, Sso__DirReply **reply_p);
/* Calls the start of an upstream login ("saml"/"saml_start" or "oidc"/"oidc_start"). Same
   return convention; *reply_p is freed with sso__saml_start_reply__free_unpacked. */
typedef int (token_dir_start_fn)(sso_service_t *service, const char *target, const char *rpc,
                                 const Sso__SamlStartRequest *request,
                                 Sso__SamlStartReply **reply_p);

typedef struct {
    token_dir_call_fn *directory;
    token_dir_start_fn *start;
} token_dir_ops_t;

/* Replaces the bus (tests); NULL restores the real one. The table is not copied. */
void token_dir_set(const token_dir_ops_t *ops);

int token_dir_call(sso_service_t *service, const char *rpc, bool idempotent,
                   const Sso__DirRequest *request, Sso__DirReply **reply_p);
int token_dir_start(sso_service_t *service, const char *target, const char *rpc,
                    const Sso__SamlStartRequest *request, Sso__SamlStartReply **reply_p);

/* The answer when a bus call failed with status (504 stays 504, anything else is 503):
   temporarily_unavailable as JSON with Cache-Control: no-store. */
zframe_t *token_dir_unavailable(int status);

void token_dir_test(bool verbose);
#endif
