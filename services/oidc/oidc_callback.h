/* oidc_callback: reading what the customer's OpenID Provider sends the browser back with to
   /sso/oidc/callback (the query, or a form body with response_mode=form_post): the state,
   then either the code or the provider's error (RFC 6749 4.1.2 and 4.1.2.1), and the
   issuer it names (RFC 9207) when it does. Pure: no bus. */
#ifndef OIDC_CALLBACK_H
#define OIDC_CALLBACK_H
#include "bus.pb-c.h"
#include <stdbool.h>
#include <stddef.h>

#define OIDC_CALLBACK_STATE_MAX 512
#define OIDC_CALLBACK_CODE_MAX 4096
#define OIDC_CALLBACK_DESCRIPTION_MAX 300

typedef struct {
    char *state;             /* always set when parsing succeeded */
    char *code;              /* set when no error */
    char *error;             /* the provider's error code, e.g. access_denied */
    char *error_description; /* the provider's words, control characters replaced, cut */
    char *iss;               /* RFC 9207, when given; the caller compares it */
    bool posted;             /* the answer came in a POSTed form body (response_mode=form_post),
                                not in the query */
    bool reposted;           /* it carries OIDC_CALLBACK_REPOST_FIELD: the broker's own re-post
                                page sent it (oidc_repost), which is never done twice */
} oidc_callback_t;

/* The field the broker's re-post page adds to the answer it posts again. */
#define OIDC_CALLBACK_REPOST_FIELD "sso_reposted"

/* Reads request (GET with a query, or POST with a form body; a GET's body is never read, and
   an answer split between a POST's query and its body is malformed). 0 with out filled, 1
   when it names no login at all (no state, or one no transaction can have: anyone's junk, to
   be answered without a trace), or -1 with why and out->state when the state is there but the
   rest is malformed (the login is then failed with why). Whatever it returns, free out with
   oidc_callback_free. */
int oidc_callback_parse(const Sso__HttpRequest *request, oidc_callback_t *out, char *why,
                        size_t why_size);
void oidc_callback_free(oidc_callback_t *self);

void oidc_callback_test(bool verbose);
#endif
