/* token_dir: what the token service says when the directory (or another service it calls
   on the bus, through lib/sso_clients) cannot answer. */
#ifndef TOKEN_DIR_H
#define TOKEN_DIR_H
#include <czmq.h>

/* The answer when a bus call failed with status (504 stays 504, anything else is 503):
   temporarily_unavailable as JSON with Cache-Control: no-store. */
zframe_t *token_dir_unavailable(int status);

void token_dir_test(bool verbose);
#endif
