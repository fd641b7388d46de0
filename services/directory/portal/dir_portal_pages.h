/* dir_portal_pages: the portal's pages: the start page a link opens, its exchange, the error
   pages, and the shells of the app (/portal/) and of a test login's result (/portal/tests/<id>,
   where a test window ends), which the scripts in web/static/portal/ build from the portal
   API; the shells hold no data, so they need no session. A link is
   <public url>/portal/start#<token>: the token is a fragment, which browsers never send to a
   server nor put in a Referer. The start page's script (/static/portal-start.js) takes it out
   of the address bar and, when the admin clicks the button, POSTs it in a form to
   /portal/start (a click, so that mail scanners that open links, even with scripts, do not
   use up a single-use link). The POST answers 303 to /portal/ with the session cookie, or a
   page saying why the link opens nothing. */
#ifndef DIR_PORTAL_PAGES_H
#define DIR_PORTAL_PAGES_H
#include "dir.h"
#include "sso_http.h"
#include "web/dir_web.h"

/* The start page and its script's only source: the static file. */
#define DIR_PORTAL_START_CSP                                                                  \
    "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; "          \
    "frame-ancestors 'none'; base-uri 'none'"

/* The app's shells (dir_web_shell). */
#define DIR_PORTAL_APP_CSP DIR_WEB_APP_CSP

/* Every /portal/ path that is not the API: GET /portal/start (the page) and POST
   /portal/start (the exchange), GET /portal/ and /portal/tests/<test id> (the shells), else
   404, a page that shows how a link looks. */
zframe_t *dir_portal_pages_handle(dir_t *dir, const Sso__HttpRequest *request);

void dir_portal_pages_test(bool verbose);
#endif
