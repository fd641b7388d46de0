/* dir_steps: the composite reads of proto/directory.proto, several steps of one login leg in
   one round trip: authorize_lookup (client_get + connection_resolve for /oauth/authorize) and
   login_context (txn_get + connection_get for the ACS). Each step runs through the handler of
   its single operation, so the rules and the error texts are those of that operation. */
#ifndef DIR_STEPS_H
#define DIR_STEPS_H
#include "dir_rpc.h"

int dir_steps_authorize_lookup(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                               dir_error_t *err);
int dir_steps_login_context(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                            dir_error_t *err);

void dir_steps_test(bool verbose);
#endif
