/* dir_tests: test logins from the admin portal (its test button): a real login against an
   organization's IdP through one of its connections, active or not, that no client started
   and that never issues a code. The portal makes the test (dir_tests_create) and opens its
   start handle in a new window, where the token service begins it (TokenWrites.TestBegin) and
   runs the upstream start as for any login; LoginComplete / LoginFail then store the
   profile and raw attributes or claims, or the reason, as the test's result
   (dir_tests_finish), and send the browser to the portal's result page, whose data is
   dir_tests_result. */
#ifndef DIR_TESTS_H
#define DIR_TESTS_H
#include "dir_rpc.h"
#include "sso_upstream.h"

/* A test's start handle is good for the login transaction's life (DIR_TXN_TTL_MAX); its
   result is kept this long after it was made. */
#define DIR_TESTS_TTL 3600
/* The tests of one organization that may wait to be opened or finished at once (made within
   DIR_TXN_TTL_MAX): each is a stored login transaction, so a portal session may not grow the
   store without bound. */
#define DIR_TESTS_PENDING_MAX 10
/* The raw attributes or claims kept with a result (LoginCompleteRequest.raw_json), and the
   start of a test's transaction id (the rest is random), by which the upstream services know
   to send them: lib/sso_upstream. Whether a transaction is a test's is the login_tests
   table's to say, never the prefix's. */
#define DIR_TESTS_RAW_MAX SSO_UPSTREAM_RAW_MAX
#define DIR_TESTS_TXN_PREFIX SSO_UPSTREAM_TEST_PREFIX

/* For the portal: a test login of connection_id (any status) for organization_id, the
   organization of the caller's portal session; bound to the browser whose binder
   (lib/sso_upstream's binding cookie, 32 base64url characters) is given, which the portal
   sets as that cookie. 0 with *test_id ("tst_...") and *start_handle (heap; the browser
   opens <public url>/sso/test/<start_handle>), or -1 with err: 400 for a malformed argument
   or a connection that lacks the IdP's settings (naming them), 404 for a connection that is
   not this organization's, 429 when DIR_TESTS_PENDING_MAX of its tests are pending. Writes;
   call it in a write. */
int dir_tests_create(dir_t *dir, const char *organization_id, const char *connection_id,
                     const char *browser_binder, char **test_id, char **start_handle,
                     dir_error_t *err);

/* For the portal: the result of test_id when it is organization_id's: {id, connection_id,
   status ("pending", "success", "failure", "expired"), created_at, completed_at, profile
   {subject, email, email_verified, name, given_name, family_name, groups}, raw (the
   attributes or claims as the IdP sent them), reason (expected against received, as the
   event log has it)}, or NULL with err (404 for another organization's test or none). */
json_t *dir_tests_result(dir_t *dir, const char *organization_id, const char *test_id,
                         dir_error_t *err);

/* TokenWrites.TestBegin: uses up the start handle (single use, also when the binder is
   wrong) and answers the test's transaction and its connection without secrets. */
DIR_RPC_FN(dir_tests_begin, Sso__TestBeginRequest, Sso__LoginContextReply);

/* For dir_txn, inside its write: 1 when txn_id is a test's (its id into test_id), 0 when
   not, -1 when the database fails. */
int dir_tests_of_txn(dir_t *dir, const char *txn_id, char test_id[64]);
/* For dir_txn, inside its write: the result of test_id, a profile (success) or a reason
   (failure); raw_json may be "". 0 or -1. */
int dir_tests_finish(dir_t *dir, const char *test_id, const Sso__Profile *profile,
                     const char *raw_json, const char *reason);
/* Where the browser goes when a test ends: <public url>/portal/tests/<test_id>; heap. */
char *dir_tests_result_url(dir_t *dir, const char *test_id);
/* Housekeeping: deletes the results past their time. */
int dir_tests_prune(dir_t *dir, int64_t now);

void dir_tests_test(bool verbose);
#endif
