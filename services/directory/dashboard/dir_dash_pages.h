/* dir_dash_pages: the developer dashboard's pages: the shells its scripts (web/static/
   dashboard/) build: /dashboard/ (the app, hash routes), /dashboard/signin and
   /dashboard/setup (whose script takes the setup link's token from the fragment, which
   browsers never send), and POST /dashboard/setup, which sets the password. The shells hold
   no data, so they need no session. */
#ifndef DIR_DASH_PAGES_H
#define DIR_DASH_PAGES_H
#include "dir.h"
#include "sso_http.h"

#define DIR_DASH_STYLESHEET "/static/dashboard/dashboard.css"

/* Every /dashboard/ path outside /dashboard/api/. */
zframe_t *dir_dash_pages_handle(dir_t *dir, const Sso__HttpRequest *request);

void dir_dash_pages_test(bool verbose);
#endif
