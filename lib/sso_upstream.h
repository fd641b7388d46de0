/* sso_upstream: what the upstream login services (saml, oidc) share at the end of a login:
   the browser's redirect back to the client from the directory's LoginRedirectReply, and the
   email domain guard (the user's email must be in one of the organization's domains unless
   it allows any). */
#ifndef SSO_UPSTREAM_H
#define SSO_UPSTREAM_H
#include "directory.pb-c.h"
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

/* A 302 to r's redirect_uri with code or error, error_description and state. */
zframe_t *sso_upstream_redirect(const Sso__LoginRedirectReply *r);

/* 0 when email's domain is one of connection's organization's (case-insensitively), or the
   organization allows any; else -1 with description (for the client: "email domain X is not
   one of the organization's domains") and why (for the event log, with the email). An
   address with a second '@' or a malformed domain has no domain, so it matches none. */
int sso_upstream_domain_check(const Sso__Connection *connection, const char *email,
                              char *description, size_t description_size, char *why,
                              size_t why_size);

void sso_upstream_test(bool verbose);
#endif
