/* oidc_claims: what an upstream ID token's claims must say once its signature verified (OIDC
   Core 3.1.3.7): iss equal to the connection's issuer byte for byte, aud containing our
   client_id, azp ours when there are several audiences (or when present), exp in the future
   and iat/nbf not in it (with a small skew), the transaction's nonce, and auth_time within
   max_age when the login asked for one. Every refusal's reason says what was expected and
   what came, for the event log. Then the profile in the shape of a SAML login's (subject,
   email, email_verified as the IdP says it, names, groups), with the defaults that read
   Keycloak-, Okta- and Entra-style claims. Pure: the caller gives the time. */
#ifndef OIDC_CLAIMS_H
#define OIDC_CLAIMS_H
#include "directory.pb-c.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define OIDC_CLAIMS_SKEW 120        /* seconds of clock difference tolerated */
#define OIDC_CLAIMS_TEXT_MAX 1024   /* longest subject, email, name kept */
#define OIDC_CLAIMS_GROUPS_MAX 256

typedef struct {
    const char *issuer;     /* the connection's, as configured */
    const char *client_id;  /* ours at the IdP */
    const char *nonce;      /* the transaction's */
    int64_t max_age;        /* -1: none asked */
    int64_t now;            /* Unix seconds */
} oidc_claims_expect_t;

/* 0 when claims pass, else -1 with why ("id_token iss: expected X, got Y", ...). */
int oidc_claims_check(const json_t *claims, const oidc_claims_expect_t *expect, char *why,
                      size_t why_size);

/* The profile of claims (heap, free with sso__profile__free_unpacked): subject = sub; email =
   email, else (Entra) upn or preferred_username when it looks like an address, with
   email_verified false unless the IdP says true (a JSON true or the string "true"); name,
   given_name, family_name; groups from "groups" (strings; numbers as text), else "roles".
   NULL with why when sub is missing or a value is too long or not text. */
Sso__Profile *oidc_claims_profile(const json_t *claims, char *why, size_t why_size);

/* The userinfo endpoint's claims merged into claims (the ID token's, which win): 0, or -1 with
   why when userinfo is not an object or its sub is not the ID token's ("userinfo sub: expected
   X, got Y"; OIDC Core 5.3.2: the answer must then not be used). The claims that only an ID
   token may carry (iss, aud, azp, exp, iat, nbf, nonce, auth_time, at_hash, c_hash) are never
   taken from userinfo. */
int oidc_claims_merge(json_t *claims, const json_t *userinfo, char *why, size_t why_size);

void oidc_claims_test(bool verbose);
#endif
