/* token_dir: what the token service says when the directory (or another service it calls
   on the bus, through lib/sso_clients) cannot answer. */
#ifndef TOKEN_DIR_H
#define TOKEN_DIR_H
#include "sso_service.h"
#include "directory.pb-c.h"

/* The answer when a bus call failed with status (504 stays 504, anything else is 503):
   temporarily_unavailable as JSON with Cache-Control: no-store. */
zframe_t *token_dir_unavailable(int status);

/* Records in the event log why the upstream login of txn_id over conn could not be started
   (step names where: "authorize", "test login"); best effort. */
void token_dir_start_failed(sso_service_t *service, const Sso__Connection *conn,
                            const char *client_id, const char *txn_id, const char *step,
                            const char *description);

void token_dir_test(bool verbose);
#endif
