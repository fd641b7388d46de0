#include "oidc_callback.h"
#include "sso_http.h"
#include "sso_test.h"
#include "sso_log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void oidc_callback_free(oidc_callback_t *self)
{
    free(self->state);
    free(self->code);
    free(self->error);
    free(self->error_description);
    free(self->iss);
    *self = (oidc_callback_t){0};
}

/* A copy of text with control characters and anything not printable ASCII replaced by '?',
   cut to max bytes: the provider's words, safe for a log line and an event. */
static char *s_clean(const char *text, size_t max)
{
    size_t len = strlen(text);
    if (len > max)
        len = max;
    char *out = malloc(len + 1);
    if (out)
        sso_log_printable(text, out, len + 1);
    return out;
}

static bool s_charset(const char *text, size_t max, const char *allowed)
{
    size_t len = strlen(text);
    return len > 0 && len <= max && strspn(text, allowed) == len;
}

#define S_UNRESERVED "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

int oidc_callback_parse(const Sso__HttpRequest *request, oidc_callback_t *out, char *why,
                        size_t why_size)
{
    *out = (oidc_callback_t){0};
    bool post = request->method && !strcmp(request->method, "POST");
    const char *query_text = request->query ? request->query : "";
    zhashx_t *params = post ? sso_http_params(request)
                            : sso_form_parse(query_text, strlen(query_text));
    const char *state = params ? zhashx_lookup(params, "state") : NULL;
    /* Where the answer's fields came from: the query, a POST's form body, or both. */
    static const char *const answer[] = {"state", "code", "error", "error_description", "iss"};
    zhashx_t *query = post && params ? sso_form_parse(query_text, strlen(query_text)) : NULL;
    bool in_query = false, in_body = false;
    for (size_t i = 0; params && i < sizeof answer / sizeof *answer; i++) {
        bool here = !post || (query && zhashx_lookup(query, answer[i]));
        in_query |= here && zhashx_lookup(params, answer[i]);
        in_body |= !here && zhashx_lookup(params, answer[i]);
    }
    zhashx_destroy(&query);
    /* Our states are the directory's random handles: anything else names no login. */
    if (!state || !s_charset(state, OIDC_CALLBACK_STATE_MAX, S_UNRESERVED)) {
        zhashx_destroy(&params);
        snprintf(why, why_size, "%s", !params ? "the parameters do not parse (or repeat)"
                                              : "no valid state");
        return 1;
    }
    const char *code = zhashx_lookup(params, "code");
    const char *error = zhashx_lookup(params, "error");
    const char *description = zhashx_lookup(params, "error_description");
    const char *iss = zhashx_lookup(params, "iss");
    out->state = strdup(state);
    out->posted = post && !in_query;
    out->reposted = zhashx_lookup(params, OIDC_CALLBACK_REPOST_FIELD) != NULL;
    int rc = -1;
    if (in_query && in_body)
        snprintf(why, why_size, "callback: the answer is split between the query and the "
                 "POSTed form");
    else if (error && code)
        snprintf(why, why_size, "callback: both a code and an error");
    else if (error && !s_charset(error, 64, "abcdefghijklmnopqrstuvwxyz_"))
        snprintf(why, why_size, "callback: the error is not an OAuth error code");
    else if (!error && !code)
        snprintf(why, why_size, "callback: neither a code nor an error");
    else if (code && !s_charset(code, OIDC_CALLBACK_CODE_MAX,
                                S_UNRESERVED "!$&'()*+,;=:@/?%"))
        snprintf(why, why_size, "callback: the code is not %d characters of URL-safe text",
                 OIDC_CALLBACK_CODE_MAX);
    else if (iss && !*iss)
        snprintf(why, why_size, "callback: iss is empty");
    else {
        out->code = code ? strdup(code) : NULL;
        out->error = error ? strdup(error) : NULL;
        out->error_description =
            error ? s_clean(description ? description : "", OIDC_CALLBACK_DESCRIPTION_MAX) : NULL;
        out->iss = iss ? s_clean(iss, 1024) : NULL;
        rc = out->state && (code ? out->code != NULL : out->error && out->error_description)
                     && (!iss || out->iss)
                 ? 0
                 : -1;
        if (rc != 0)
            snprintf(why, why_size, "out of memory");
    }
    zhashx_destroy(&params);
    if (rc != 0 && !out->state) {
        snprintf(why, why_size, "out of memory");
        return 1;
    }
    return rc;
}

/* ---- self-test ------------------------------------------------------------------------- */

static int s_parse(const char *method, const char *query, const char *body, oidc_callback_t *out,
                   char *why, size_t why_size)
{
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header type = SSO__HEADER__INIT;
    Sso__Header *headers[] = {&type};
    type.name = "content-type";
    type.value = "application/x-www-form-urlencoded";
    request.method = (char *) method;
    request.path = "/sso/oidc/callback";
    request.query = (char *) query;
    if (body) {
        request.headers = headers;
        request.n_headers = 1;
        request.body.data = (uint8_t *) body;
        request.body.len = strlen(body);
    }
    return oidc_callback_parse(&request, out, why, why_size);
}

void oidc_callback_test(bool verbose)
{
    (void) verbose;
    oidc_callback_t cb;
    char why[200];
    SSO_CHECK(s_parse("GET", "state=s-1_~.&code=abc%2Fdef&iss=https%3A%2F%2Fidp.test", NULL, &cb,
                      why, sizeof why) == 0
              && !strcmp(cb.state, "s-1_~.") && !strcmp(cb.code, "abc/def") && !cb.error
              && !strcmp(cb.iss, "https://idp.test") && !cb.posted && !cb.reposted);
    oidc_callback_free(&cb);
    SSO_CHECK(!cb.state);
    /* form_post: the answer in a POSTed form; the re-post's mark is seen. */
    SSO_CHECK(s_parse("POST", "", "state=s1&code=c1", &cb, why, sizeof why) == 0
              && !strcmp(cb.code, "c1") && cb.posted && !cb.reposted);
    oidc_callback_free(&cb);
    SSO_CHECK(s_parse("POST", "", "state=s1&code=c1&" OIDC_CALLBACK_REPOST_FIELD "=1", &cb, why,
                      sizeof why) == 0
              && cb.posted && cb.reposted);
    oidc_callback_free(&cb);
    SSO_CHECK(s_parse("POST", "x=1", "state=s1&error=access_denied", &cb, why, sizeof why) == 0
              && cb.posted && !strcmp(cb.error, "access_denied"));
    oidc_callback_free(&cb);
    /* A POST whose answer is all in the query is a query answer; a GET's body is not read. */
    SSO_CHECK(s_parse("POST", "state=s1&code=c1", "", &cb, why, sizeof why) == 0
              && !cb.posted && !strcmp(cb.code, "c1"));
    oidc_callback_free(&cb);
    SSO_CHECK(s_parse("GET", "", "state=s1&code=c1", &cb, why, sizeof why) == 1 && !cb.state);
    oidc_callback_free(&cb);
    SSO_CHECK(s_parse("GET", "state=s1", "code=c1", &cb, why, sizeof why) == -1
              && strstr(why, "neither a code nor an error"));
    oidc_callback_free(&cb);
    /* Split between the query and the body, in either direction: malformed. */
    SSO_CHECK(s_parse("POST", "state=s1", "code=c1", &cb, why, sizeof why) == -1
              && !strcmp(cb.state, "s1") && strstr(why, "split between the query"));
    oidc_callback_free(&cb);
    SSO_CHECK(s_parse("POST", "code=c1", "state=s1", &cb, why, sizeof why) == -1
              && strstr(why, "split between the query"));
    oidc_callback_free(&cb);
    /* The same field in both: the parameters repeat, so no login is named. */
    SSO_CHECK(s_parse("POST", "state=s1", "state=s1&code=c1", &cb, why, sizeof why) == 1);
    oidc_callback_free(&cb);
    /* The provider's error reaches us with its words, cleaned and cut. */
    SSO_CHECK(s_parse("GET", "state=s1&error=access_denied&error_description=No%0A%3Cb%3Eway"
                      "%E2%80%99", NULL, &cb, why, sizeof why) == 0
              && !strcmp(cb.error, "access_denied") && !cb.code
              && !strcmp(cb.error_description, "No?<b>way???"));
    oidc_callback_free(&cb);
    SSO_CHECK(s_parse("GET", "state=s1&error=access_denied", NULL, &cb, why, sizeof why) == 0
              && !strcmp(cb.error_description, ""));
    oidc_callback_free(&cb);
    /* No login named: no state, a state no transaction has, repeats, junk. */
    const char *anonymous[] = {"code=c1", "", "state=&code=c1", "state=a%20b&code=c1",
                               "state=s1&state=s2&code=c1", "state=%zz&code=c1",
                               "state=s1\"><&code=c1", "state=s1&code=a%00b"};
    for (size_t i = 0; i < sizeof anonymous / sizeof *anonymous; i++) {
        SSO_CHECK(s_parse("GET", anonymous[i], NULL, &cb, why, sizeof why) == 1 && !cb.state);
        oidc_callback_free(&cb);
    }
    char long_state[OIDC_CALLBACK_STATE_MAX + 20];
    snprintf(long_state, sizeof long_state, "state=");
    memset(long_state + 6, 'a', OIDC_CALLBACK_STATE_MAX + 1);
    long_state[6 + OIDC_CALLBACK_STATE_MAX + 1] = '\0';
    SSO_CHECK(s_parse("GET", long_state, NULL, &cb, why, sizeof why) == 1);
    oidc_callback_free(&cb);
    /* A login named, the rest malformed: the login fails with the reason. */
    const char *bad[][2] = {
        {"state=s1", "neither a code nor an error"},
        {"state=s1&code=c1&error=access_denied", "both a code and an error"},
        {"state=s1&error=Access%20Denied", "not an OAuth error code"},
        {"state=s1&code=", "the code is not"},
        {"state=s1&code=a+b", "the code is not"},
        {"state=s1&code=c1&iss=", "iss is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = s_parse("GET", bad[i][0], NULL, &cb, why, sizeof why);
        SSO_CHECK(rc == -1 && cb.state && !strcmp(cb.state, "s1") && strstr(why, bad[i][1]));
        if (rc != -1 || !strstr(why, bad[i][1]))
            fprintf(stderr, "callback %s: %d %s\n", bad[i][0], rc, why);
        oidc_callback_free(&cb);
    }
}
