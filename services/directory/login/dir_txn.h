/* dir_txn: login transactions, from /oauth/authorize to the code. A transaction lives at most
   10 minutes and is consumed once, by LoginComplete (which issues the code) or LoginFail;
   both record a login event. Every consume-once step runs under BEGIN IMMEDIATE. */
#ifndef DIR_TXN_H
#define DIR_TXN_H
#include "dir_rpc.h"

#define DIR_TXN_TTL_MAX 600

/* Stores a Transaction (the caller sets every field, id, created_at and expires_at too);
   refuses an id that exists, and a client, redirect_uri or connection that does not fit.
   The stored Transaction, or NULL with err. */
Sso__Transaction *dir_txn_create(dir_t *dir, const Sso__Transaction *txn, dir_error_t *err);
/* The same for a test login's transaction (login/dir_tests): no client_id, no redirect_uri. */
Sso__Transaction *dir_txn_create_test(dir_t *dir, const Sso__Transaction *txn,
                                      dir_error_t *err);
/* The Transaction, or NULL with err not_found / expired / consumed / invalid_request. */
Sso__Transaction *dir_txn_get(dir_t *dir, const char *id, dir_error_t *err);
/* Replaces t's PKCE code verifier (when it has one) by its S256 challenge, the verifier
   wiped: what a transaction carries out of the directory before the code exchange. 0, or
   -1 when out of memory. */
int dir_txn_challenge_only(Sso__Transaction *t);
/* The same, found by its OIDC state (the oidc service's callback knows only that). */
Sso__Transaction *dir_txn_get_by_oidc_state(dir_t *dir, const char *state, dir_error_t *err);
/* UpstreamWrites.LoginComplete: consumes the transaction, issues a code, records a success
   event and the connection's last login (login/dir_last_login); {redirect_uri, state, code}. */
DIR_RPC_FN(dir_txn_login_complete, Sso__LoginCompleteRequest, Sso__LoginRedirectReply);
/* UpstreamWrites.LoginFail: consumes the transaction, records a failure event with the
   reason; {redirect_uri, state, redirect_error, redirect_error_description}. For an unknown,
   expired or used transaction the event is still recorded and the reply is that error. */
DIR_RPC_FN(dir_txn_login_fail, Sso__LoginFailRequest, Sso__LoginRedirectReply);

void dir_txn_test(bool verbose);
#endif
