/* token_testkit: the token service's self-tests against the real directory (dir_fake: the
   directory service on a thread behind a real broker). The service under test is a token
   service joined to that bus with the token role's keys; its handlers run here, on the test's
   thread, and call the directory over the bus exactly as in production.

   The saml and oidc services' UpstreamStart.Start (their contract, not the directory's)
   are answered by a small worker on the same bus that records what it was asked: a redirect
   https://idp.test/<saml|oidc>?RelayState=<txn id>, or start_error (a lower-case
   sso.RpcError name; one the enum does not have is SERVER_ERROR).

   What the directory holds is the dir_fake's seed (see dir_fake.h), one signing key made a
   minute before, and five codes, issued
   through the directory as a completed login would leave them, for the client and
   https://app.test/callback, connection conn_saml, subject user-42@idp, Jane Doe:
   {code_full} nonce n-123, family_name Doe, groups engineering and admins; {code_pkce} the
   same with the RFC 7636 B code_challenge; {code_bare} no nonce, no family name, no groups;
   {code_long} a subject over 255 bytes; {code_ascii} a non-ASCII subject.

   Tests write the generated ids as placeholders, expanded in every request (query, body,
   header values) and in expected texts (token_testkit_expand): {client} {secret} {locked}
   {admin} {admin_secret} {mgmt} {org_saml} {conn_saml} {org_two} {org_oidc} {conn_oidc}
   {org_off} {conn_off} and the codes above. */
#ifndef TOKEN_TESTKIT_H
#define TOKEN_TESTKIT_H
#include "../directory/dir_fake.h"
#include "sso_service.h"
#include "saml.pb-c.h"
#include "token_http.h"
#include <pthread.h>

#define TOKEN_TESTKIT_EXPANDED_MAX 4096 /* expansions per kit */
/* The service's bus deadline, and the shorter one a test sets for a call it makes miss its
   deadline (holding the directory twice as long), so that the wait stays short. */
#define TOKEN_TESTKIT_DEADLINE_MS 2000
#define TOKEN_TESTKIT_SHORT_DEADLINE_MS 300

typedef struct {
    dir_fake_t *dir;
    sso_config_t config;
    token_state_t state;
    sso_service_t service;
    /* The upstream starts. */
    const char *start_error;          /* answer this error */
    Sso__UpstreamStartRequest *start; /* the last start asked */
    char start_target[16];            /* "saml" or "oidc" */
    char start_request_id[72];        /* the last start's transaction's request handle */
    int starts;                       /* how many were asked */
    /* Private. */
    char *codes[5];
    char *expanded[TOKEN_TESTKIT_EXPANDED_MAX];
    size_t n_expanded;
    pthread_t upstream;
    bool upstream_serving;
    int upstream_stop[2];
    pthread_mutex_t lock;
} token_testkit_t;

/* The directory, its codes, the token service on its bus and the upstream worker. 0, or -1
   counted as a failed check. */
int token_testkit_open(token_testkit_t *self);
void token_testkit_close(token_testkit_t *self);
/* Runs test on a kit opened for it, then closes the kit (nothing runs if it cannot open). */
void token_testkit_run(void (*test)(token_testkit_t *kit));

/* Takes the saml/oidc worker off the bus (their calls get 503) or puts it back. 0 or -1. */
int token_testkit_upstreams(token_testkit_t *self, bool serving);

/* text with its placeholders replaced; owned by the kit (freed at close). NULL stays NULL. */
const char *token_testkit_expand(token_testkit_t *self, const char *text);

/* Runs one HTTP request through token_http (placeholders expanded). headers: name, value
   pairs, NULL-terminated. Returns the unpacked response (free with
   sso__http_response__free_unpacked). */
Sso__HttpResponse *token_testkit_http(token_testkit_t *self, const char *method,
                                      const char *path, const char *query, const char *body,
                                      ...);
const char *token_testkit_header(const Sso__HttpResponse *response, const char *name);
/* True when the body contains text (placeholders expanded). */
bool token_testkit_body_has(token_testkit_t *self, const Sso__HttpResponse *response,
                            const char *text);
/* The decoded query of the Location header, or NULL. */
zhashx_t *token_testkit_location(const Sso__HttpResponse *response);
/* The JSON body, or NULL. */
json_t *token_testkit_json(const Sso__HttpResponse *response);
/* The JWKS the service publishes (GET /keys). Caller frees. */
char *token_testkit_jwks(token_testkit_t *self);
/* The transaction the directory stored for the last upstream start, or NULL when there is
   none. Free with sso__transaction__free_unpacked. */
Sso__Transaction *token_testkit_txn(token_testkit_t *self);

void token_testkit_test(bool verbose);
#endif
