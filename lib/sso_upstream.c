#include "sso_upstream.h"
#include "sso_cookie.h"
#include "sso_crypto.h"
#include "sso_bus.h"
#include "sso_email.h"
#include "sso_html.h"
#include "sso_rpc.h"
#include "sso_http.h"
#include "sso_test.h"
#include <strings.h>

bool sso_upstream_is_start(const char *rpc)
{
    /* The generated descriptor names it. */
    static ProtobufCService start = {&sso__upstream_start__descriptor, NULL, NULL};
    ProtobufCService *const served[] = {&start};
    size_t index;
    unsigned method;
    return sso_rpc_find(served, 1, rpc, &index, &method) == 0;
}

zframe_t *sso_upstream_start_reply(Sso__RpcError error, const char *description,
                                   const char *url)
{
    Sso__UpstreamStartReply reply = SSO__UPSTREAM_START_REPLY__INIT;
    reply.error = error;
    reply.error_description = (char *) (description ? description : "");
    reply.redirect_url = (char *) (url ? url : "");
    return sso_frame_pack(&reply.base);
}

zframe_t *sso_upstream_start_post_reply(const char *url, const char *const *names,
                                        const char *const *values, size_t n)
{
    Sso__UpstreamStartReply reply = SSO__UPSTREAM_START_REPLY__INIT;
    Sso__Header fields[4], *pointers[4];
    if (n > 4)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        sso__header__init(&fields[i]);
        fields[i].name = (char *) names[i];
        fields[i].value = (char *) values[i];
        pointers[i] = &fields[i];
    }
    reply.post_url = (char *) url;
    reply.post_fields = pointers;
    reply.n_post_fields = n;
    return sso_frame_pack(&reply.base);
}

bool sso_upstream_started(const Sso__UpstreamStartReply *reply)
{
    return !reply->error && (*reply->redirect_url || *reply->post_url);
}

sso_response_t *sso_upstream_post_page(const Sso__UpstreamStartReply *reply)
{
    const char *names[4], *values[4];
    if (!*reply->post_url || reply->n_post_fields > 4)
        return NULL;
    for (size_t i = 0; i < reply->n_post_fields; i++) {
        names[i] = reply->post_fields[i]->name;
        values[i] = reply->post_fields[i]->value;
    }
    return sso_html_autopost(reply->post_url, names, values, reply->n_post_fields);
}

bool sso_upstream_is_test(const char *txn_id)
{
    return txn_id && !strncmp(txn_id, SSO_UPSTREAM_TEST_PREFIX, strlen(SSO_UPSTREAM_TEST_PREFIX));
}

char *sso_upstream_raw_json(const json_t *raw)
{
    char *text = raw ? json_dumps(raw, JSON_COMPACT) : NULL;
    if (text && strlen(text) > SSO_UPSTREAM_RAW_MAX) {
        free(text);
        text = strdup("{\"truncated\":true}");
    }
    return text;
}

zframe_t *sso_upstream_redirect(const Sso__LoginRedirectReply *r)
{
    const char *names[] = {"code", "error", "error_description", "state"};
    const char *values[] = {r->code, r->redirect_error, r->redirect_error_description, r->state};
    char *url = sso_url_with_params(r->redirect_uri, 4, names, values);
    zframe_t *frame = url ? sso_http_redirect(url)
                          : sso_http_error(500, "server_error", "out of memory");
    free(url);
    return frame;
}

int sso_upstream_domain_check(const Sso__Connection *connection, const char *email,
                              char *description, size_t description_size, char *why,
                              size_t why_size)
{
    char domain_buf[256];
    const char *domain = email && sso_email_domain(email, domain_buf, sizeof domain_buf) == 0
                             ? domain_buf
                             : NULL;
    bool ok = connection->allow_any_domain;
    for (size_t i = 0; domain && !ok && i < connection->n_organization_domains; i++)
        ok = strcasecmp(domain, connection->organization_domains[i]) == 0;
    if (ok)
        return 0;
    snprintf(description, description_size,
             "email domain %.200s is not one of the organization's domains",
             domain ? domain : "(none)");
    snprintf(why, why_size, "invalid_user_domain: %s (email %.320s)", description,
             email && *email ? email : "absent");
    return -1;
}

/* The position of the first byte of text outside printable ASCII, or -1. */
static long s_first_unprintable(const char *text)
{
    for (const char *p = text; *p; p++)
        if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
            return (long) (p - text);
    return -1;
}

int sso_upstream_subject_check(const char *connection_id, const char *subject, char *why,
                               size_t why_size)
{
    if (!connection_id || !*connection_id || !subject || !*subject) {
        snprintf(why, why_size, "sub: expected a connection and a subject, got %s",
                 subject && *subject ? "no connection" : "no subject");
        return SSO_UPSTREAM_SUB_NOT_ASCII;
    }
    const char *text = connection_id, *where = "the connection id";
    long at = s_first_unprintable(text);
    if (at < 0) {
        text = subject;
        where = "the subject";
        at = s_first_unprintable(text);
    }
    if (at >= 0) {
        snprintf(why, why_size, "sub: expected printable ASCII, got the byte 0x%02x at "
                 "position %ld of %s", (unsigned) (unsigned char) text[at], at + 1, where);
        return SSO_UPSTREAM_SUB_NOT_ASCII;
    }
    /* "<connection_id>;" comes first: what is left is this connection's limit. */
    size_t prefix = strlen(connection_id) + 1, len = strlen(subject);
    if (prefix >= SSO_UPSTREAM_SUB_MAX || len > SSO_UPSTREAM_SUB_MAX - prefix) {
        snprintf(why, why_size, "sub: at most %zu characters for this connection, got %zu",
                 prefix < SSO_UPSTREAM_SUB_MAX ? SSO_UPSTREAM_SUB_MAX - prefix : (size_t) 0,
                 len);
        return SSO_UPSTREAM_SUB_TOO_LONG;
    }
    return 0;
}

static bool s_https(const char *public_url)
{
    return public_url && !strncasecmp(public_url, "https://", 8);
}

const char *sso_upstream_binding_name(const char *public_url)
{
    return s_https(public_url) ? "__Host-sso_browser" : "sso_browser";
}

char *sso_upstream_binder(const Sso__HttpRequest *request, const char *public_url)
{
    return sso_cookie_token(request, sso_upstream_binding_name(public_url));
}

int sso_upstream_binding_cookie(const char *public_url, const char *binder, long max_age,
                                char *out, size_t size)
{
    if (!sso_cookie_token_ok(binder))
        return -1;
    /* "__Host-" requires Path=/, so over https the cookie goes with every request to the
       broker's host, not only to the callback. That is acceptable: it is one short HttpOnly
       cookie per browser (never one per login, which a provider bouncing the browser back to
       /oauth/authorize could pile up past header limits), it proves only "this browser
       started the logins bound to it" to the one check that reads it, and no service logs or
       forwards cookies. What the prefix buys matters more: no sibling subdomain can set it
       (no Domain) or shadow it with a narrower Path, which a path-scoped cookie (or
       "__Secure-", which allows Domain) cannot promise; so no one can fix a browser's binder
       to a value of his own. */
    return sso_cookie_host_header(out, size, public_url, "/", "sso_browser", binder, max_age);
}

sso_upstream_binding_t sso_upstream_binding_check(const Sso__HttpRequest *request,
                                                  const char *public_url,
                                                  const char *binding_hash)
{
    if (!binding_hash || strlen(binding_hash) != 64)
        return SSO_UPSTREAM_BINDING_WRONG;
    char hex[65];
    char *value = sso_cookie_get(request, sso_upstream_binding_name(public_url));
    sso_upstream_binding_t result = SSO_UPSTREAM_BINDING_ABSENT;
    if (value && *value) {
        sso_sha256_hex(value, strlen(value), hex);
        result = sso_secure_equals(hex, binding_hash) ? SSO_UPSTREAM_BINDING_OK
                                                      : SSO_UPSTREAM_BINDING_WRONG;
    }
    free(value);
    return result;
}

void sso_upstream_test(bool verbose)
{
    (void) verbose;
    json_t *big = json_pack("{s:s%}", "x", "", (size_t) 0);
    char *fill = malloc(SSO_UPSTREAM_RAW_MAX + 1);
    if (fill) {
        memset(fill, 'a', SSO_UPSTREAM_RAW_MAX);
        fill[SSO_UPSTREAM_RAW_MAX] = '\0';
        json_object_set_new(big, "x", json_string(fill));
    }
    char *raw = sso_upstream_raw_json(big), *small = sso_upstream_raw_json(json_object_get(
                                                         big, "none"));
    SSO_CHECK(raw && !strcmp(raw, "{\"truncated\":true}") && !small);
    free(raw);
    free(fill);
    json_decref(big);
    SSO_CHECK(sso_upstream_is_test("test.abc") && !sso_upstream_is_test("test")
              && !sso_upstream_is_test("xtest.abc") && !sso_upstream_is_test("")
              && !sso_upstream_is_test(NULL));
    /* An HTTP-POST start: its fields, through the bus, become the page's form. */
    const char *names[] = {"SAMLRequest", "RelayState"}, *values[] = {"PHg+", "txn&1"};
    zframe_t *post = sso_upstream_start_post_reply("https://idp.test/sso", names, values, 2);
    Sso__UpstreamStartReply *started =
        post ? sso__upstream_start_reply__unpack(NULL, zframe_size(post), zframe_data(post))
             : NULL;
    sso_response_t *page = started ? sso_upstream_post_page(started) : NULL;
    SSO_CHECK(started && sso_upstream_started(started) && !*started->redirect_url && page);
    zframe_t *packed = page ? sso_response_pack(&page) : NULL;
    Sso__HttpResponse *shown = packed ? sso__http_response__unpack(NULL, zframe_size(packed),
                                                                   zframe_data(packed))
                                      : NULL;
    SSO_CHECK(shown && shown->status == 200
              && memmem(shown->body.data, shown->body.len,
                        "action=\"https://idp.test/sso\"", 29)
              && memmem(shown->body.data, shown->body.len,
                        "name=\"RelayState\" value=\"txn&amp;1\"", 35));
    if (shown)
        sso__http_response__free_unpacked(shown, NULL);
    zframe_destroy(&packed);
    sso__upstream_start_reply__free_unpacked(started, NULL);
    zframe_destroy(&post);
    /* Neither a redirect nor a post, or an error: not started. */
    Sso__UpstreamStartReply none = SSO__UPSTREAM_START_REPLY__INIT;
    SSO_CHECK(!sso_upstream_started(&none) && !sso_upstream_post_page(&none));
    none.redirect_url = "https://idp.test/sso";
    none.error = SSO__RPC_ERROR__SERVER_ERROR;
    SSO_CHECK(!sso_upstream_started(&none));

    Sso__LoginRedirectReply r = SSO__LOGIN_REDIRECT_REPLY__INIT;
    r.redirect_uri = "https://app.test/cb?x=1";
    r.state = "s&1";
    r.code = "c1";
    zframe_t *frame = sso_upstream_redirect(&r);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    bool found = false;
    for (size_t i = 0; response && i < response->n_headers; i++)
        found |= !strcasecmp(response->headers[i]->name, "Location")
                 && !strcmp(response->headers[i]->value, "https://app.test/cb?x=1&code=c1&state=s%261");
    SSO_CHECK(response && response->status == 302 && found);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    zframe_destroy(&frame);

    Sso__Connection c = SSO__CONNECTION__INIT;
    char *domains[] = {"example.com", "example.org"};
    c.organization_domains = domains;
    c.n_organization_domains = 2;
    char description[300], reason[600];
    SSO_CHECK(sso_upstream_domain_check(&c, "Jo@Example.COM", description, sizeof description,
                                        reason, sizeof reason) == 0);
    const char *refused[] = {"jo@example.net", "x@attacker.test@example.com", "nobody", "",
                             NULL, "jo@sub.example.com"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        SSO_CHECK(sso_upstream_domain_check(&c, refused[i], description, sizeof description,
                                            reason, sizeof reason) == -1
                  && strstr(description, "is not one of the organization's domains")
                  && !strncmp(reason, "invalid_user_domain: ", 21));
    SSO_CHECK(sso_upstream_domain_check(&c, NULL, description, sizeof description, reason,
                                        sizeof reason) == -1
              && strstr(description, "email domain (none)") && strstr(reason, "(email absent)"));
    c.allow_any_domain = true;
    SSO_CHECK(sso_upstream_domain_check(&c, "jo@example.net", description, sizeof description,
                                        reason, sizeof reason) == 0);

    /* sub = "<connection id>;<subject>": 255 printable ASCII characters at most. */
    char subject[300], why[200] = "";
    memset(subject, 'x', 250);
    subject[250] = '\0';
    SSO_CHECK(sso_upstream_subject_check("conn", subject, why, sizeof why) == 0);
    subject[250] = 'x'; /* 251 */
    subject[251] = '\0';
    SSO_CHECK(sso_upstream_subject_check("conn", subject, why, sizeof why)
                  == SSO_UPSTREAM_SUB_TOO_LONG
              && !strcmp(why, "sub: at most 250 characters for this connection, got 251"));
    memset(subject, 'y', 299);
    subject[299] = '\0';
    SSO_CHECK(sso_upstream_subject_check(subject, "s", why, sizeof why)
                  == SSO_UPSTREAM_SUB_TOO_LONG
              && !strcmp(why, "sub: at most 0 characters for this connection, got 1"));
    SSO_CHECK(sso_upstream_subject_check("conn", "jo ann~", why, sizeof why) == 0);
    const char *unprintable[][2] = {
        {"zo\xc3\xab", "got the byte 0xc3 at position 3 of the subject"},
        {"a\tb", "got the byte 0x09 at position 2 of the subject"},
        {"a\x7f", "got the byte 0x7f at position 2"},
        {"", "sub: expected a connection and a subject, got no subject"},
    };
    for (size_t i = 0; i < sizeof unprintable / sizeof *unprintable; i++)
        SSO_CHECK(sso_upstream_subject_check("conn", unprintable[i][0], why, sizeof why)
                      == SSO_UPSTREAM_SUB_NOT_ASCII
                  && strstr(why, unprintable[i][1]));
    SSO_CHECK(sso_upstream_subject_check("co\nn", "s", why, sizeof why)
                  == SSO_UPSTREAM_SUB_NOT_ASCII
              && strstr(why, "of the connection id"));
    SSO_CHECK(sso_upstream_subject_check(NULL, "s", why, sizeof why)
                  == SSO_UPSTREAM_SUB_NOT_ASCII
              && strstr(why, "got no connection"));
    SSO_CHECK(sso_upstream_subject_check("conn", NULL, why, sizeof why)
              == SSO_UPSTREAM_SUB_NOT_ASCII);

    SSO_CHECK(sso_upstream_is_start("UpstreamStart.Start") && !sso_upstream_is_start("saml_start")
              && !sso_upstream_is_start("UpstreamStart.") && !sso_upstream_is_start(NULL));
    frame = sso_upstream_start_reply(SSO__RPC_ERROR__SERVER_ERROR, "why", NULL);
    Sso__UpstreamStartReply *start =
        frame ? sso__upstream_start_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
              : NULL;
    SSO_CHECK(start && start->error == SSO__RPC_ERROR__SERVER_ERROR
              && !strcmp(start->error_description, "why") && !*start->redirect_url);
    sso__upstream_start_reply__free_unpacked(start, NULL);
    zframe_destroy(&frame);

    /* The binding cookie: one fixed name per browser, checked against the stored hash; over
       https a __Host- cookie for Path=/, over http the callback's path without a prefix. */
    const char *https = "https://sso.test/base", *http = "http://127.0.0.1:8080";
    const char *b1 = "binder-1-abcdefghijklmnopqrstuvw", *b2 = "binder-2-abcdefghijklmnopqrstuvw";
    char hash[65], set[200], want[300];
    SSO_CHECK(!strcmp(sso_upstream_binding_name(https), "__Host-sso_browser")
              && !strcmp(sso_upstream_binding_name("HTTPS://sso.test"), "__Host-sso_browser")
              && !strcmp(sso_upstream_binding_name(http), "sso_browser")
              && !strcmp(sso_upstream_binding_name(NULL), "sso_browser"));
    SSO_CHECK(sso_upstream_binding_cookie(https, b1, 600, set, sizeof set) == 0);
    snprintf(want, sizeof want, "__Host-sso_browser=%s; Path=/; Max-Age=600; HttpOnly; "
             "SameSite=Lax; Secure", b1);
    SSO_CHECK(!strcmp(set, want));
    SSO_CHECK(sso_upstream_binding_cookie(http, b1, 600, set, sizeof set) == 0);
    snprintf(want, sizeof want, "sso_browser=%s; Path=/; Max-Age=600; HttpOnly; SameSite=Lax",
             b1);
    SSO_CHECK(!strcmp(set, want));
    SSO_CHECK(sso_upstream_binding_cookie("http://127.0.0.1:8080/base", b1, 600, set,
                                          sizeof set) == 0
              && strstr(set, "; Path=/base/; "));
    SSO_CHECK(sso_upstream_binding_cookie(https, b1, 600, set, 40) == -1);
    /* Only a well-formed binder is ever set (no clearing, no value of another shape). */
    const char *not_binders[] = {NULL, "", "b1", "binder-1-abcdefghijklmnopqrstuv;",
                                 "binder-1-abcdefghijklmnopqrstuvwx"};
    for (size_t i = 0; i < sizeof not_binders / sizeof *not_binders; i++)
        SSO_CHECK(sso_upstream_binding_cookie(https, not_binders[i], 600, set, sizeof set)
                  == -1);

    sso_sha256_hex(b1, strlen(b1), hash);
    char cookie[200];
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header header = SSO__HEADER__INIT;
    Sso__Header *headers[] = {&header};
    header.name = "cookie";
    header.value = cookie;
    request.headers = headers;
    request.n_headers = 1;
    snprintf(cookie, sizeof cookie, "a=1; __Host-sso_browser=%s", b1);
    SSO_CHECK(sso_upstream_binding_check(&request, https, hash) == SSO_UPSTREAM_BINDING_OK);
    char *binder = sso_upstream_binder(&request, https);
    SSO_CHECK(binder && !strcmp(binder, b1));
    free(binder);
    /* Over https the unprefixed name (which a sibling subdomain could set) does not count,
       neither for the check nor as a binder to reuse. */
    snprintf(cookie, sizeof cookie, "sso_browser=%s", b1);
    SSO_CHECK(sso_upstream_binding_check(&request, https, hash) == SSO_UPSTREAM_BINDING_ABSENT
              && !sso_upstream_binder(&request, https));
    SSO_CHECK(sso_upstream_binding_check(&request, http, hash) == SSO_UPSTREAM_BINDING_OK);
    binder = sso_upstream_binder(&request, http);
    SSO_CHECK(binder && !strcmp(binder, b1));
    free(binder);
    snprintf(cookie, sizeof cookie, "__Host-sso_browser=%s", b2);
    SSO_CHECK(sso_upstream_binding_check(&request, https, hash) == SSO_UPSTREAM_BINDING_WRONG);
    snprintf(cookie, sizeof cookie, "__Host-sso_browser=not-a-binder");
    SSO_CHECK(sso_upstream_binding_check(&request, https, hash) == SSO_UPSTREAM_BINDING_WRONG
              && !sso_upstream_binder(&request, https));
    snprintf(cookie, sizeof cookie, "__Host-sso_browser=");
    SSO_CHECK(sso_upstream_binding_check(&request, https, hash) == SSO_UPSTREAM_BINDING_ABSENT
              && !sso_upstream_binder(&request, https));
    snprintf(cookie, sizeof cookie, "__Host-sso_browser=%s; __Host-sso_browser=%s", b1, b1);
    SSO_CHECK(sso_upstream_binding_check(&request, https, hash) == SSO_UPSTREAM_BINDING_ABSENT
              && !sso_upstream_binder(&request, https));
    snprintf(cookie, sizeof cookie, "__Host-sso_browser=%s", b1);
    SSO_CHECK(sso_upstream_binding_check(&request, https, "") == SSO_UPSTREAM_BINDING_WRONG
              && sso_upstream_binding_check(&request, https, NULL)
                     == SSO_UPSTREAM_BINDING_WRONG);
    request.n_headers = 0;
    SSO_CHECK(sso_upstream_binding_check(&request, https, hash) == SSO_UPSTREAM_BINDING_ABSENT
              && !sso_upstream_binder(&request, https));
}
