#include "sso_html.h"
#include "sso_test.h"
#include <stdarg.h>

#define HTML_CSP                                                                               \
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'"

struct sso_html_t {
    char *data;
    size_t size;
    size_t capacity;
    bool failed;
};

sso_html_t *sso_html_new(void)
{
    return calloc(1, sizeof(sso_html_t));
}

void sso_html_destroy(sso_html_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->data);
    free(*self_p);
    *self_p = NULL;
}

static int s_append(sso_html_t *self, const char *text, size_t len)
{
    if (self->failed)
        return -1;
    if (self->size + len + 1 > self->capacity) {
        size_t capacity = self->capacity ? self->capacity : 1024;
        while (capacity < self->size + len + 1)
            capacity *= 2;
        char *data = realloc(self->data, capacity);
        if (!data) {
            self->failed = true;
            return -1;
        }
        self->data = data;
        self->capacity = capacity;
    }
    memcpy(self->data + self->size, text, len);
    self->size += len;
    self->data[self->size] = '\0';
    return 0;
}

static int s_append_escaped(sso_html_t *self, const char *value)
{
    for (const char *p = value; *p; p++) {
        const char *entity = NULL;
        switch (*p) {
        case '&': entity = "&amp;"; break;
        case '<': entity = "&lt;"; break;
        case '>': entity = "&gt;"; break;
        case '"': entity = "&quot;"; break;
        case '\'': entity = "&#39;"; break;
        default: break;
        }
        int rc = entity ? s_append(self, entity, strlen(entity)) : s_append(self, p, 1);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int sso_html_add_(sso_html_t *self, const char *template, ...)
{
    va_list args;
    va_start(args, template);
    const char *p = template;
    int rc = 0;
    while (rc == 0) {
        const char *hole = strstr(p, "{}");
        rc = s_append(self, p, hole ? (size_t) (hole - p) : strlen(p));
        if (!hole || rc != 0)
            break;
        const char *value = va_arg(args, const char *);
        if (!value) {
            rc = -1; /* more holes than values: a bug in the page, not in the input */
            break;
        }
        rc = s_append_escaped(self, value);
        p = hole + 2;
    }
    if (rc == 0 && va_arg(args, const char *) != NULL)
        rc = -1; /* more values than holes */
    va_end(args);
    if (rc != 0)
        self->failed = true;
    return rc;
}

int sso_html_hidden(sso_html_t *self, const char *name, const char *value)
{
    return sso_html_add(self, "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", name, value);
}

int sso_html_begin(sso_html_t *self, const char *title)
{
    return sso_html_begin_styled(self, title, NULL);
}

int sso_html_begin_styled(sso_html_t *self, const char *title, const char *stylesheet)
{
    int rc = sso_html_add(self,
                          "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                          "<meta name=\"viewport\" content=\"width=device-width, "
                          "initial-scale=1\">\n<title>{}</title>\n"
                          "<link rel=\"stylesheet\" href=\"/static/sso.css\">\n",
                          title);
    if (rc == 0 && stylesheet)
        rc = sso_html_add(self, "<link rel=\"stylesheet\" href=\"{}\">\n", stylesheet);
    return rc == 0 ? sso_html_add(self, "</head>\n<body>\n<main>\n") : rc;
}

int sso_html_end(sso_html_t *self)
{
    return sso_html_add(self, "</main>\n</body>\n</html>\n");
}

char *sso_html_escape(const char *text)
{
    sso_html_t html = {0};
    if (s_append(&html, "", 0) != 0 || s_append_escaped(&html, text) != 0) {
        free(html.data);
        return NULL;
    }
    return html.data;
}

sso_response_t *sso_html_response(sso_html_t **self_p, uint32_t status)
{
    return sso_html_response_csp(self_p, status, HTML_CSP);
}

sso_response_t *sso_html_response_csp(sso_html_t **self_p, uint32_t status, const char *csp)
{
    sso_html_t *self = *self_p;
    sso_response_t *response = NULL;
    if (self && !self->failed && self->data && (response = sso_response_new(status))) {
        sso_response_body(response, self->data, self->size, "text/html; charset=utf-8");
        sso_response_header(response, "Content-Security-Policy", csp);
        sso_response_header(response, "X-Frame-Options", "DENY");
        sso_response_header(response, "X-Content-Type-Options", "nosniff");
        sso_response_header(response, "Referrer-Policy", "no-referrer");
        sso_response_header(response, "Cache-Control", "no-store");
    }
    sso_html_destroy(self_p);
    return response;
}

/* No form-action: the form leads to another site, which may redirect the submission on to
   yet another (its login page), and browsers apply form-action to those redirects too. */
#define HTML_AUTOPOST_CSP                                                                      \
    "default-src 'none'; script-src 'self'; style-src 'self'; base-uri 'none'; "             \
    "frame-ancestors 'none'"

sso_response_t *sso_html_autopost(const char *action, const char *const *names,
                                  const char *const *values, size_t n)
{
    if (!action || (strncmp(action, "https://", 8) != 0 && strncmp(action, "http://", 7) != 0))
        return NULL;
    sso_html_t *html = sso_html_new();
    if (!html)
        return NULL;
    sso_html_begin(html, "Continuing to sign in");
    sso_html_add(html, "<h1>Continuing to sign in&hellip;</h1>\n"
                       "<form id=\"autopost\" method=\"post\" action=\"{}\">\n", action);
    for (size_t i = 0; i < n; i++)
        sso_html_hidden(html, names[i], values[i]);
    /* The button only without scripts: a click while the script submits would post twice. */
    sso_html_add(html, "<noscript><button type=\"submit\">Continue</button></noscript>\n"
                       "</form>\n<script src=\"{}\"></script>\n", SSO_HTML_AUTOPOST_SCRIPT);
    sso_html_end(html);
    return sso_html_response_csp(&html, 200, HTML_AUTOPOST_CSP);
}

zframe_t *sso_html_error_page(uint32_t status, const char *title, const char *message)
{
    sso_html_t *html = sso_html_new();
    if (html) {
        sso_html_begin(html, title);
        sso_html_add(html, "<h1>{}</h1>\n<p class=\"error\">{}</p>\n", title, message);
        sso_html_add(html, "<p>Nothing was sent back to the application. Start the sign-in "
                             "again from the application.</p>\n");
        sso_html_end(html);
    }
    sso_response_t *response = html ? sso_html_response(&html, status) : NULL;
    if (!response)
        return sso_http_error(status, "server_error", message);
    return sso_response_pack(&response);
}

void sso_html_test(bool verbose)
{
    (void) verbose;
    char *escaped = sso_html_escape("<a href=\"x\">'&'</a>");
    SSO_CHECK(escaped
              && !strcmp(escaped, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"));
    free(escaped);

    sso_html_t *html = sso_html_new();
    SSO_CHECK(sso_html_add(html, "<p>{} and {}</p>", "<b>", "\"q\"") == 0);
    SSO_CHECK(sso_html_hidden(html, "a\"b", "<script>") == 0);
    SSO_CHECK(html->data && !strcmp(html->data, "<p>&lt;b&gt; and &quot;q&quot;</p>"
                                                "<input type=\"hidden\" name=\"a&quot;b\" "
                                                "value=\"&lt;script&gt;\">\n"));
    /* A template whose holes and values do not match poisons the page. */
    SSO_CHECK(sso_html_add(html, "<p>{} {}</p>", "one") == -1);
    SSO_CHECK(sso_html_add(html, "<p>fine</p>") == -1);
    sso_response_t *response = sso_html_response(&html, 200);
    SSO_CHECK(!response && !html);
    html = sso_html_new();
    SSO_CHECK(sso_html_add(html, "<p>{}</p>", "one", "two") == -1);
    sso_html_destroy(&html);

    /* A second stylesheet goes after sso.css, escaped; none without one. */
    html = sso_html_new();
    SSO_CHECK(sso_html_begin_styled(html, "T", "/static/p\".css") == 0);
    SSO_CHECK(html->data && strstr(html->data, "href=\"/static/sso.css\">\n<link rel=\"stylesheet"
                                               "\" href=\"/static/p&quot;.css\">\n</head>"));
    sso_html_destroy(&html);
    html = sso_html_new();
    SSO_CHECK(sso_html_begin(html, "T") == 0);
    SSO_CHECK(html->data && strstr(html->data, "sso.css\">\n</head>\n<body>\n<main>\n")
              && !strstr(html->data, "p.css"));
    sso_html_destroy(&html);

    /* The auto-posting page: every value escaped, the script from /static, no inline one. */
    const char *names[] = {"SAMLRequest", "RelayState"};
    const char *values[] = {"PHg+\"/>", "<script>alert(1)</script>"};
    response = sso_html_autopost("https://idp.test/sso?a=1&b=\"2", names, values, 2);
    zframe_t *posted = response ? sso_response_pack(&response) : NULL;
    Sso__HttpResponse *post_page =
        posted ? sso__http_response__unpack(NULL, zframe_size(posted), zframe_data(posted)) : NULL;
    char *body = post_page ? strndup((const char *) post_page->body.data, post_page->body.len)
                           : NULL;
    SSO_CHECK(body && strstr(body, "<form id=\"autopost\" method=\"post\" action=\"https://"
                                   "idp.test/sso?a=1&amp;b=&quot;2\">")
              && strstr(body, "name=\"SAMLRequest\" value=\"PHg+&quot;/&gt;\"")
              && strstr(body, "value=\"&lt;script&gt;alert(1)&lt;/script&gt;\"")
              && strstr(body, "<noscript><button type=\"submit\">Continue</button></noscript>")
              && strstr(body, "<script src=\"/static/autopost.js\"></script>")
              && !strstr(body, "<script>"));
    bool post_csp = false;
    for (size_t i = 0; post_page && i < post_page->n_headers; i++)
        post_csp |= !strcmp(post_page->headers[i]->name, "Content-Security-Policy")
                    && !strcmp(post_page->headers[i]->value, HTML_AUTOPOST_CSP);
    SSO_CHECK(post_csp && strstr(HTML_AUTOPOST_CSP, "script-src 'self';")
              && !strstr(HTML_AUTOPOST_CSP, "unsafe-inline"));
    free(body);
    if (post_page)
        sso__http_response__free_unpacked(post_page, NULL);
    zframe_destroy(&posted);
    SSO_CHECK(!sso_html_autopost("javascript:alert(1)", names, values, 2)
              && !sso_html_autopost(NULL, names, values, 2));

    zframe_t *frame = sso_html_error_page(400, "Unknown application",
                                            "client_id <x> is not registered");
    Sso__HttpResponse *page = sso__http_response__unpack(NULL, zframe_size(frame),
                                                           zframe_data(frame));
    SSO_CHECK(page && page->status == 400);
    SSO_CHECK(page && memmem(page->body.data, page->body.len, "client_id &lt;x&gt; is not", 26));
    SSO_CHECK(page && !memmem(page->body.data, page->body.len, "href=\"http", 10));
    bool csp = false, frames = false;
    for (size_t i = 0; page && i < page->n_headers; i++) {
        csp |= !strcmp(page->headers[i]->name, "Content-Security-Policy")
               && !strcmp(page->headers[i]->value, HTML_CSP);
        frames |= !strcmp(page->headers[i]->name, "X-Frame-Options")
                  && !strcmp(page->headers[i]->value, "DENY");
    }
    SSO_CHECK(csp && frames);
    sso__http_response__free_unpacked(page, NULL);
    zframe_destroy(&frame);
}
