/* oidc_claims: what an upstream ID token's claims must say once its signature verified (OIDC
   Core 3.1.3.7): iss equal to the connection's issuer byte for byte, aud containing our
   client_id, azp ours when there are several audiences (or when present), exp in the future
   and iat/nbf not in it (with a small skew), the transaction's nonce, and auth_time within
   max_age when the login asked for one. Every refusal's reason says what was expected and
   what came, for the event log. Then the profile in the shape of a SAML login's (subject,
   email, email_verified as the IdP says it, names, groups), with the connection's
   attribute_mapping or the defaults that read Keycloak-, Okta- and Entra-style claims.
   Pure: the caller gives the time. */
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

/* The profile of claims (heap, free with sso__profile__free_unpacked) for a login through
   conn. A field conn's attribute_mapping names is taken from that top-level claim only (a
   missing one leaves the field empty); the others keep the defaults: subject = sub; email =
   email, else (Entra) upn or preferred_username when it looks like an address; name,
   given_name, family_name; groups from "groups" (a list of strings; numbers as text), else
   "roles" (a mapped groups claim may also be one string). email_verified is true when the
   IdP says so (a JSON true or the string "true") of the email used, which its
   email_verified speaks of when that is its "email" claim's value; anything else it says of
   it (false, "false", ...) refuses the login unless conn->allow_unverified_email. NULL with
   why when sub is missing, makes no token service sub with conn->id ("sub: at most N
   characters for this connection, got M"; printable ASCII), the email is unverified, or a
   value is too long or not text. */
Sso__Profile *oidc_claims_profile(const json_t *claims, const Sso__Connection *conn, char *why,
                                  size_t why_size);

/* Appends to why (the domain guard's reason) which claim conn maps the email to, and whether
   claims lack it; nothing when the email is not mapped. */
void oidc_claims_explain_email(const json_t *claims, const Sso__Connection *conn, char *why,
                               size_t why_size);

/* The userinfo endpoint's claims merged into claims (the ID token's, which win): 0, or -1 with
   why when userinfo is not an object or its sub is not the ID token's ("userinfo sub: expected
   X, got Y"; OIDC Core 5.3.2: the answer must then not be used). The claims that only an ID
   token may carry (iss, aud, azp, exp, iat, nbf, nonce, auth_time, at_hash, c_hash) are never
   taken from userinfo. */
int oidc_claims_merge(json_t *claims, const json_t *userinfo, char *why, size_t why_size);

/* The claim conn takes the email from: its attribute_mapping's, else "email". Userinfo is
   read when the ID token lacks it. */
const char *oidc_claims_email_claim(const Sso__Connection *conn);

void oidc_claims_test(bool verbose);
#endif
