/* token_fake: an in-process stand-in for the directory, saml and oidc services, for the token
   service's self-tests. Every request and reply is packed and unpacked as on the bus, so a
   message that would not survive the trip fails here too. Its data:

   clients        cli_app / app-secret, redirect URIs https://app.test/callback and
                  https://app.test/cb?x=1; admin / admin-secret is the management client;
                  cli_locked is refused as locked out (too_many_requests, retry_after 7)
   connections    conn_saml (org_1, domains example.com, active, saml), conn_oidc (org_oidc,
                  oidc), conn_off (inactive), conn_long (a subject too long for sub)
   selectors      organization org_1 -> conn_saml, org_two -> ambiguous_connection,
                  domain example.com -> conn_saml, example.net -> no_organization,
                  oidc.example -> conn_oidc; anything else not_found
   codes          code-full (nonce n-123, groups), code-bare (no nonce, no groups),
                  code-long (sub over 255), code-ascii (non-ASCII subject); bound to cli_app
                  and https://app.test/callback; a redeemed code is invalid_grant
   tokens         token_issue hands out at_<n> and remembers its claims for
                  access_token_check; code_redeem with access_token_ttl hands one out for the
                  code's grant (access_token_check returns the grant); mgmt-token passes
                  bearer_check
   keys           one active RSA key; key_put appends */
#ifndef TOKEN_FAKE_H
#define TOKEN_FAKE_H
#include "sso_service.h"
#include "token_dir.h"
#include "token_http.h"

#define TOKEN_FAKE_MAX 16

typedef struct {
    sso_config_t config;
    token_state_t state;
    sso_service_t service;
    /* Knobs: the rpc (or "saml_start"/"oidc_start") to fail with fail_status. */
    const char *fail_rpc;
    int fail_status;
    const char *start_error;            /* saml_start answers this error */
    /* What was asked. */
    int calls;                          /* every call, bus or not */
    char last_rpc[32];
    Sso__Transaction *txn;              /* the last txn_create */
    Sso__SamlStartRequest *start;       /* the last *_start */
    char start_target[16];
    Sso__CodeRedeemRequest *redeem;     /* the last code_redeem */
    Sso__TokenIssueRequest *issue;      /* the last token_issue */
    Sso__SigningKey *put;               /* the last key_put */
    /* State. */
    char *redeemed[TOKEN_FAKE_MAX];
    size_t n_redeemed;
    char *tokens[TOKEN_FAKE_MAX];       /* at_<n> -> claims_json, scope */
    char *token_claims[TOKEN_FAKE_MAX];
    char *token_code[TOKEN_FAKE_MAX];   /* issued by code_redeem: the grant's code, else NULL */
    char *token_scope[TOKEN_FAKE_MAX];
    size_t n_tokens;
    Sso__SigningKey *keys[TOKEN_FAKE_MAX];
    size_t n_keys;
} token_fake_t;

/* Sets up the fake (one at a time: the bus table is global) and points token_dir at it.
   0 or -1. */
int token_fake_open(token_fake_t *self);
void token_fake_close(token_fake_t *self);

/* Runs one HTTP request through token_http. headers: name, value pairs, NULL-terminated.
   Returns the unpacked response (free with sso__http_response__free_unpacked). */
Sso__HttpResponse *token_fake_http(token_fake_t *self, const char *method, const char *path,
                                   const char *query, const char *body, ...);
const char *token_fake_header(const Sso__HttpResponse *response, const char *name);
/* True when the body contains text. */
bool token_fake_body_has(const Sso__HttpResponse *response, const char *text);
/* The decoded query of the Location header, or NULL. */
zhashx_t *token_fake_location(const Sso__HttpResponse *response);
/* The JSON body, or NULL. */
json_t *token_fake_json(const Sso__HttpResponse *response);
/* The JWKS the service publishes (GET /keys). Caller frees. */
char *token_fake_jwks(token_fake_t *self);

void token_fake_test(bool verbose);
#endif
