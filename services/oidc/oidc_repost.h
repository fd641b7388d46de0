/* oidc_repost: the callback's form_post re-post page and its response-mode check.
   The re-post page: the provider's form POST is cross-site, so the browser does
   not send the SameSite=Lax binding cookie with it. This page posts the same answer again, to
   the same callback, from the broker's own origin: that second POST is same-site, carries the
   cookie, and is then checked like any answer. The first POST changes nothing about the
   login, and the re-post is marked (OIDC_CALLBACK_REPOST_FIELD): one that still lacks the
   cookie is refused as before, so it never loops.
   What an attacker can do with it: make a victim's browser POST a forged answer here from
   another site. The re-post then gives that answer the cookies a cross-site top-level GET to
   the callback already gets under Lax (query mode's own exposure), and no more: it is served
   only for a state that names an open form_post login of this connection; an attacker's
   answer for a login of his own is bound to his browser's binding cookie, not the victim's,
   so it is refused (the victim's logins are left as they were), and the victim's own state
   is not his to know. The page echoes only what the request brought (each
   value HTML-escaped), sets and shows no cookie, cannot be framed (frame-ancestors 'none',
   X-Frame-Options), cached (no-store) or leak the code by Referer (no-referrer), and runs only
   its one script (by hash). No form-action: the callback answers the re-post with a redirect
   to the client, and browsers apply form-action to the redirects after a submission. */
#ifndef OIDC_REPOST_H
#define OIDC_REPOST_H
#include "directory.pb-c.h"
#include "oidc_callback.h"
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

/* The page that posts cb's answer again to connection_id's callback at public_url, marked
   OIDC_CALLBACK_REPOST_FIELD (an HTML response frame; a 500 page out of memory). */
zframe_t *oidc_repost_page(const char *public_url, const char *connection_id,
                           const oidc_callback_t *cb);
/* Whether the answer came the way the connection told the provider to send it: 0, or -1 with
   why. A code in the other mode is refused: the response mode is part of the contract with
   the provider, so such an answer is not the provider's (an injected one). An error is taken
   either way: it grants nothing, and providers send some errors by redirect before they look
   at response_mode. */
int oidc_repost_mode_check(const oidc_callback_t *cb, const Sso__Connection *conn, char *why,
                           size_t why_size);

void oidc_repost_test(bool verbose);
#endif
