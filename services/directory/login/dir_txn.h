/* dir_txn: login transactions, from /oauth/authorize to the code. A transaction lives at most
   10 minutes and is consumed once, by login_complete (which issues the code) or login_fail;
   both record a login event. Every consume-once step runs under BEGIN IMMEDIATE. */
#ifndef DIR_TXN_H
#define DIR_TXN_H
#include "dir_rpc.h"

#define DIR_TXN_TTL_MAX 600

/* txn_create: stores a Transaction (the caller sets id, created_at, expires_at); refuses an
   id that exists. The reply is the stored Transaction. */
dir_rpc_fn dir_txn_create;
/* txn_get: the Transaction, or not_found / expired / consumed. */
dir_rpc_fn dir_txn_get;
/* txn_update: sets the non-empty upstream fields of a live transaction. */
dir_rpc_fn dir_txn_update;
/* login_complete: consumes the transaction, issues a code, records a success event;
   LoginRedirect{redirect_uri, state, code}. */
dir_rpc_fn dir_txn_login_complete;
/* login_fail: consumes the transaction, records a failure event with the reason;
   LoginRedirect{redirect_uri, state, error, error_description}. For an unknown, expired or
   used transaction the event is still recorded and the reply is that error. */
dir_rpc_fn dir_txn_login_fail;

void dir_txn_test(bool verbose);
#endif
