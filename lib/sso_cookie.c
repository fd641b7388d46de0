#include "sso_cookie.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *sso_cookie_get(const Sso__HttpRequest *request, const char *name)
{
    const char *header = sso_http_header(request, "cookie");
    size_t name_len = strlen(name);
    const char *found = NULL;
    size_t found_len = 0;
    for (const char *p = header; p && *p;) {
        p += strspn(p, " ;");
        size_t len = strcspn(p, ";");
        if (len > name_len && !strncmp(p, name, name_len) && p[name_len] == '=') {
            /* A name sent twice is ambiguous: a sibling subdomain can plant a second cookie
               of our name (cookie tossing), and which one a browser lists first is not ours to
               choose, so neither is trusted. */
            if (found)
                return NULL;
            found = p + name_len + 1;
            found_len = len - name_len - 1;
        }
        p += len;
    }
    return found ? strndup(found, found_len) : NULL;
}

int sso_cookie_header(char *out, size_t size, const char *public_url, const char *path,
                      const char *name, const char *value, long max_age)
{
    /* The public URL may carry a path of its own (a broker behind a prefix). */
    const char *host = strstr(public_url, "://");
    const char *base = host ? strchr(host + 3, '/') : NULL;
    bool secure = !strncasecmp(public_url, "https://", 8);
    int len = snprintf(out, size, "%s=%s; Path=%s%s; Max-Age=%ld; HttpOnly; SameSite=Lax%s",
                       name, value, base ? base : "", path, max_age, secure ? "; Secure" : "");
    return len > 0 && (size_t) len < size ? 0 : -1;
}

int sso_cookie_host_name(const char *public_url, const char *name, char *out, size_t size)
{
    bool secure = public_url && !strncasecmp(public_url, "https://", 8);
    int len = snprintf(out, size, "%s%s", secure ? "__Host-" : "", name);
    return len > 0 && (size_t) len < size ? 0 : -1;
}

int sso_cookie_host_header(char *out, size_t size, const char *public_url, const char *path,
                           const char *name, const char *value, long max_age)
{
    if (!public_url || strncasecmp(public_url, "https://", 8))
        return sso_cookie_header(out, size, public_url ? public_url : "", path, name, value,
                                 max_age);
    int len = snprintf(out, size, "__Host-%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax; "
                                  "Secure", name, value, max_age);
    return len > 0 && (size_t) len < size ? 0 : -1;
}

bool sso_cookie_token_ok(const char *token)
{
    return token && strlen(token) == SSO_COOKIE_TOKEN_LEN
           && strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
                  == SSO_COOKIE_TOKEN_LEN;
}

char *sso_cookie_token(const Sso__HttpRequest *request, const char *name)
{
    char *token = sso_cookie_get(request, name);
    if (sso_cookie_token_ok(token))
        return token;
    free(token);
    return NULL;
}

char *sso_cookie_csrf_token(const Sso__HttpRequest *request, const char *cookie_name)
{
    char *token = sso_cookie_token(request, cookie_name);
    return token ? token : sso_random_token(SSO_COOKIE_TOKEN_BYTES);
}

bool sso_cookie_csrf_matches(const Sso__HttpRequest *request, const char *cookie_name,
                             const char *field)
{
    char *cookie = sso_cookie_get(request, cookie_name);
    bool match = cookie && *cookie && field && *field && sso_secure_equals(cookie, field);
    free(cookie);
    return match;
}

/* ---- self-test ------------------------------------------------------------------------- */

void sso_cookie_test(bool verbose)
{
    (void) verbose;
    Sso__Header header = SSO__HEADER__INIT;
    Sso__Header *headers[] = {&header};
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    request.headers = headers;
    request.n_headers = 1;
    header.name = "cookie";
    header.value = "a=1; sso_csrfx=no;sso_csrf=abc; b=";
    char *value = sso_cookie_get(&request, "sso_csrf");
    SSO_CHECK(value && !strcmp(value, "abc"));
    free(value);
    value = sso_cookie_get(&request, "b");
    SSO_CHECK(value && !*value);
    free(value);
    SSO_CHECK(!sso_cookie_get(&request, "sso"));    /* a prefix is not the name */
    SSO_CHECK(!sso_cookie_get(&request, "c"));
    header.value = "a=1; x=mine; y=2; x=planted"; /* a duplicated name is trusted in neither */
    SSO_CHECK(!sso_cookie_get(&request, "x"));
    value = sso_cookie_get(&request, "y");
    SSO_CHECK(value && !strcmp(value, "2"));
    free(value);

    char out[200];
    SSO_CHECK(sso_cookie_header(out, sizeof out, "https://sso.test/base", "/oauth/authorize",
                                "n", "v", 60) == 0
              && !strcmp(out, "n=v; Path=/base/oauth/authorize; Max-Age=60; HttpOnly; "
                              "SameSite=Lax; Secure"));
    SSO_CHECK(sso_cookie_header(out, sizeof out, "http://127.0.0.1:8080", "/simulator/sso", "n",
                                "v", 60) == 0
              && !strcmp(out, "n=v; Path=/simulator/sso; Max-Age=60; HttpOnly; SameSite=Lax"));
    SSO_CHECK(sso_cookie_header(out, 20, "http://127.0.0.1:8080", "/simulator/sso", "n", "v",
                                60) == -1);

    /* Host-only cookies: the prefix and Path=/ over https, the path given over http. */
    SSO_CHECK(sso_cookie_host_header(out, sizeof out, "https://sso.test/base", "/portal/", "n",
                                     "v", 60) == 0
              && !strcmp(out, "__Host-n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"));
    SSO_CHECK(sso_cookie_host_header(out, sizeof out, "http://127.0.0.1:8080/b", "/portal/", "n",
                                     "v", 0) == 0
              && !strcmp(out, "n=v; Path=/b/portal/; Max-Age=0; HttpOnly; SameSite=Lax"));
    SSO_CHECK(sso_cookie_host_header(out, 30, "https://sso.test", "/", "n", "v", 60) == -1);
    SSO_CHECK(sso_cookie_host_name("https://sso.test", "n", out, sizeof out) == 0
              && !strcmp(out, "__Host-n"));
    SSO_CHECK(sso_cookie_host_name("http://sso.test", "n", out, sizeof out) == 0
              && !strcmp(out, "n"));
    SSO_CHECK(sso_cookie_host_name("https://sso.test", "n", out, 8) == -1);

    /* A well-formed token is kept, anything else replaced by a fresh one. */
    header.value = "t=abcdefghijklmnopqrstuvwxyz012345";
    char *token = sso_cookie_csrf_token(&request, "t");
    SSO_CHECK(token && !strcmp(token, "abcdefghijklmnopqrstuvwxyz012345"));
    free(token);
    const char *bad[] = {"t=short", "t=abcdefghijklmnopqrstuvwxyz01234<", "x=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        header.value = (char *) bad[i];
        token = sso_cookie_csrf_token(&request, "t");
        SSO_CHECK(sso_cookie_token_ok(token) && strcmp(token, "abcdefghijklmnopqrstuvwxyz012345"));
        free(token);
    }

    /* sso_cookie_token: the exact length and alphabet or nothing (absent, empty, sent twice,
       one character too many or too few, a character outside base64url). */
    header.value = "x=1; t=abcdefghijklmnopqrstuvwxyz-_2345";
    token = sso_cookie_token(&request, "t");
    SSO_CHECK(token && !strcmp(token, "abcdefghijklmnopqrstuvwxyz-_2345"));
    free(token);
    const char *not_tokens[] = {
        "x=1", "t=", "t=abcdefghijklmnopqrstuvwxyz01234", "t=abcdefghijklmnopqrstuvwxyz0123456",
        "t=abcdefghijklmnopqrstuvwxyz01234=", "t=abcdefghijklmnopqrstuvwxyz01234+",
        "t=abcdefghijklmnopqrstuvwxyz012345; t=abcdefghijklmnopqrstuvwxyz012345"};
    for (size_t i = 0; i < sizeof not_tokens / sizeof *not_tokens; i++) {
        header.value = (char *) not_tokens[i];
        SSO_CHECK(!sso_cookie_token(&request, "t"));
    }
    SSO_CHECK(!sso_cookie_token_ok(NULL) && !sso_cookie_token_ok(""));

    /* The double submit: both present and equal, nothing else. */
    header.value = "t=abcdefghijklmnopqrstuvwxyz012345";
    SSO_CHECK(sso_cookie_csrf_matches(&request, "t", "abcdefghijklmnopqrstuvwxyz012345"));
    SSO_CHECK(!sso_cookie_csrf_matches(&request, "t", "abcdefghijklmnopqrstuvwxyz012346"));
    SSO_CHECK(!sso_cookie_csrf_matches(&request, "t", ""));
    SSO_CHECK(!sso_cookie_csrf_matches(&request, "t", NULL));
    SSO_CHECK(!sso_cookie_csrf_matches(&request, "u", "abcdefghijklmnopqrstuvwxyz012345"));
    header.value = "t=";
    SSO_CHECK(!sso_cookie_csrf_matches(&request, "t", ""));
    request.n_headers = 0;
    SSO_CHECK(!sso_cookie_csrf_matches(&request, "t", "abcdefghijklmnopqrstuvwxyz012345"));
}
