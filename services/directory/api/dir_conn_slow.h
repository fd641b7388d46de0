/* dir_conn_slow: the slow steps of a connection's create, change or enable (the SAML metadata
   fetch, the OIDC discovery fetch, a key pair), run off the directory's loop between passes
   of the handler. */
#ifndef DIR_CONN_SLOW_H
#define DIR_CONN_SLOW_H
#include "api/dir_api.h"
#include "sso_fetch.h"
#include "sso_oidc_discovery.h"

/* The slow steps of a create, a change or an enable: the metadata fetch (up to
   SSO_FETCH_TIMEOUT_MS), the OIDC discovery fetch and check (up to SSO_OIDC_FETCH_TIMEOUT_MS)
   and the SP key pair (RSA-2048) or an OIDC client key pair. They run off the directory's loop
   (sso_service_offload) between passes of the handler (dir_conn_slow_in_passes): a pass
   stops, before it writes anything, where it needs a step not done yet; the next pass starts
   over with that step's result, so it checks and writes the state as it is then, in
   whichever batch the loop is in. */
typedef struct {
    enum {
        DIR_CONN_SLOW_NONE,
        DIR_CONN_SLOW_FETCH,
        DIR_CONN_SLOW_DISCOVERY,
        DIR_CONN_SLOW_KEY_PAIR
    } want; /* what the last pass stopped for */
    bool allow_private;
    char *url; /* the metadata URL fetched */
    bool fetched;
    int fetch_rc;
    sso_fetch_response_t response;
    char fetch_why[300];
    char *issuer; /* the OIDC issuer whose discovery was fetched */
    bool discovered;
    int discovery_rc;
    sso_oidc_discovery_t discovery;
    char discovery_why[300];
    char *id; /* a new connection's id, the same in every pass */
    bool keyed;
    int key_rc;
    char *key_pem, *cert_pem;
} dir_conn_slow_t;

/* A handler's pass: its reply, or NULL when it stopped for slow->want. */
typedef zframe_t *(dir_conn_pass_fn)(dir_api_req_t *req, const char *id, dir_conn_slow_t *slow);

/* Runs pass until it replies, each slow step it stops for run off the loop in between (at
   most one stop per step), and req->recheck (when set) after each; its reply, recheck's, or
   a 500 when a pass stops again for a step done. */
zframe_t *dir_conn_slow_in_passes(dir_conn_pass_fn *pass, dir_api_req_t *req, const char *id);

/* Whether slow holds the result of fetch step (DIR_CONN_SLOW_FETCH or DIR_CONN_SLOW_DISCOVERY)
   for key (the URL or the issuer); if not, drops any result for another key and asks for it
   (slow->want, or err when out of memory). */
bool dir_conn_slow_has(dir_conn_slow_t *slow, int step, const char *key, dir_error_t *err);

void dir_conn_slow_test(bool verbose);
#endif
