/* Load driver for bench/login.sh, bench/oidc.sh and bench/scim.sh: the HTTP legs of a login (or
 * SCIM requests) over keep-alive connections, one thread per connection, every request's
 * latency kept and sorted at the end. Loopback only.
 *
 *   login_driver MODE -p PORT[,PORT...] -c CONNECTIONS [options]
 *
 * With several ports (several gateways, up to 8), connection I goes to the (I mod count)-th:
 * the connections spread evenly, as a balancer spreading new connections round robin does.
 * oidc takes one port (it follows the IdP's redirect back to that port).
 *
 * MODE
 *   authorize  -n N: GET --authorize PATH N times; each answer must be a 302 whose Location
 *              carries SAMLRequest and RelayState. Writes "RelayState<TAB>SAMLRequest<TAB>ns"
 *              lines to -o (values as they were in the Location, still URL-encoded; ns is that
 *              request's latency).
 *   acs        -i FILE of "RelayState<TAB>SAMLResponse(url-encoded)[<TAB>ns]" lines: POST each to
 *              --acs PATH; the answer must be a 302 whose Location carries code=. Writes one code
 *              a line to -o.
 *   token      -i FILE of codes: POST --token PATH with --token-body + "&code=CODE" and
 *              --auth "Basic ..."; the answer must be a 200 with an access_token and an id_token.
 *   login      -i FILE as for acs: ACS POST, then the token POST, then GET --userinfo with the
 *              access token: one latency per login. With the third column (the authorize
 *              latency of the same transaction) it also reports the sum of both per login.
 *   oidc       -n N logins through an OIDC connection, each timed whole: GET --authorize PATH
 *              (a 302 to the upstream IdP at 127.0.0.1:--idp-port, setting the browser's
 *              sso_browser cookie: each login is a new browser), GET that URL at the IdP (a 302 back to the broker's
 *              /sso/oidc/callback), GET the callback with the cookie (a 302 with code=), then
 *              the token POST and GET --userinfo as in login. Each thread keeps one keep-alive
 *              connection to the broker and one to the IdP. Also reports idp_mean_us, the mean
 *              time of the IdP's leg (its answer to the authorization request) per login.
 *   scim-create -n N: POST --scim BASE/Users with Okta's body for a new user (userName
 *              "--prefix-I@bench.example" for the I-th request, distinct externalId) and
 *              --auth "Bearer ..."; the answer must be a 201 with the user's id. Writes
 *              "userName<TAB>id" lines to -o.
 *   scim-get   -i FILE of "userName[<TAB>...]" lines, -n N (default: one per line): GET
 *              BASE/Users?filter=userName eq "NAME", the names taken in turn from the file;
 *              the answer must be a 200 with totalResults 1.
 *   SIGTERM or SIGINT makes any mode stop taking new items, finish the requests under way and
 *   print its line as usual (bench/scim.sh stops a burst that way).
 *
 * Prints one line: "mode=M n=N ok=K errors=E seconds=S rate=R p50_us=A p90_us=B p99_us=C max_us=D
 * cpu_ms=U" (U: the driver's own CPU time, user + system, all threads)
 * (and "e2e_p50_us=.. e2e_p99_us=.." in login mode when authorize latencies were given).
 * Errors are counted, and the first few are shown on stderr; nothing is asserted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { M_AUTHORIZE, M_ACS, M_TOKEN, M_LOGIN, M_OIDC, M_SCIM_CREATE, M_SCIM_GET, M_COUNT };

static struct {
    int mode, ports[8], n_ports, idp_port, conns;
    long n;
    const char *authorize, *acs, *token, *userinfo, *token_body, *auth, *in, *out, *scim, *prefix;
} opt = {.conns = 1, .acs = NULL, .token = "/oauth/token", .userinfo = "/userinfo", .prefix = "bench"};

typedef struct {
    char *a, *b; /* relay + response, or code */
    uint64_t prior_ns;
} item_t;

static item_t *items;
static long n_items;
static uint64_t *lat; /* per item, ns; 0 = failed */
static char **out_lines;
static atomic_long next_item;
static atomic_long errors;
static atomic_int shown;
static atomic_ullong idp_ns; /* oidc: the IdP legs' time, summed, and their count */
static atomic_long idp_n;
static atomic_int stop; /* set by SIGTERM/SIGINT: take no new item */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

/* ---- a minimal HTTP/1.1 client over one keep-alive connection ---------------------------- */

typedef struct {
    int fd, port; /* port on 127.0.0.1 */
    char *buf;
    size_t cap, len; /* bytes read and not consumed */
    int status;
    char *headers;   /* points into hdr copy */
    char hdr[16384];
    char *body;
    size_t body_len, body_cap;
    bool close_after;
} conn_t;

static int conn_open(conn_t *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) c->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* never anything but 127.0.0.1 */
    if (connect(c->fd, (struct sockaddr *) &sa, sizeof sa) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->len = 0;
    return 0;
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
}

static int fill(conn_t *c)
{
    if (c->len == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 65536;
        c->buf = realloc(c->buf, c->cap);
    }
    ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (r <= 0)
        return -1;
    c->len += (size_t) r;
    return 0;
}

static void consume(conn_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static void body_add(conn_t *c, const char *p, size_t n)
{
    if (c->body_len + n + 1 > c->body_cap) {
        c->body_cap = (c->body_len + n + 1) * 2;
        c->body = realloc(c->body, c->body_cap);
    }
    memcpy(c->body + c->body_len, p, n);
    c->body_len += n;
    c->body[c->body_len] = 0;
}

/* The value (into out) of the first header named name (case-insensitive) whose value starts
 * with prefix (any value when prefix is NULL); false when there is none. */
static bool header_with(const conn_t *c, const char *name, const char *prefix, char *out, size_t size)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(c->hdr, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            if (prefix && strncmp(v, prefix, strlen(prefix)))
                continue;
            const char *e = strstr(v, "\r\n");
            size_t n = e ? (size_t) (e - v) : strlen(v);
            if (n >= size)
                n = size - 1;
            memcpy(out, v, n);
            out[n] = 0;
            return true;
        }
    }
    return false;
}

static bool header(const conn_t *c, const char *name, char *out, size_t size)
{
    return header_with(c, name, NULL, out, size);
}

static int read_response(conn_t *c)
{
    char *end;
    for (;;) {
        if (c->len && (end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
            break;
        if (fill(c))
            return -1;
    }
    size_t hlen = (size_t) (end - c->buf) + 4;
    size_t copy = hlen < sizeof c->hdr ? hlen : sizeof c->hdr - 1;
    memcpy(c->hdr, c->buf, copy);
    c->hdr[copy] = 0;
    consume(c, hlen);
    c->status = (int) strtol(c->hdr + 9, NULL, 10); /* "HTTP/1.1 200": 0 when not a number */
    c->body_len = 0;
    body_add(c, "", 0);
    char v[256];
    c->close_after = header(c, "Connection", v, sizeof v) && !strcasecmp(v, "close");
    if (header(c, "Transfer-Encoding", v, sizeof v) && strcasestr(v, "chunked")) {
        for (;;) {
            char *crlf;
            while (!(c->len && (crlf = memmem(c->buf, c->len, "\r\n", 2))))
                if (fill(c))
                    return -1;
            size_t size = strtoul(c->buf, NULL, 16);
            consume(c, (size_t) (crlf - c->buf) + 2);
            while (c->len < size + 2)
                if (fill(c))
                    return -1;
            body_add(c, c->buf, size);
            consume(c, size + 2);
            if (size == 0)
                break; /* no trailers expected */
        }
    }
    else {
        size_t n = header(c, "Content-Length", v, sizeof v) ? strtoul(v, NULL, 10) : 0;
        while (c->len < n)
            if (fill(c))
                return -1;
        body_add(c, c->buf, n);
        consume(c, n);
    }
    return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

/* One request (a body of content_type); reconnects once when a kept-alive connection turns out
 * closed. */
static int request_typed(conn_t *c, const char *method, const char *path, const char *extra_headers,
                         const char *content_type, const char *body, size_t body_len)
{
    static __thread char *req;
    static __thread size_t req_cap;
    size_t need = strlen(path) + (extra_headers ? strlen(extra_headers) : 0) + strlen(content_type)
                  + body_len + 256;
    if (need > req_cap) {
        req_cap = need * 2;
        req = realloc(req, req_cap);
    }
    int n;
    if (body)
        n = snprintf(req, req_cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
                     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                     method, path, c->port, extra_headers ? extra_headers : "", content_type, body_len);
    else
        n = snprintf(req, req_cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n", method, path,
                     c->port, extra_headers ? extra_headers : "");
    if (body) {
        memcpy(req + n, body, body_len);
        n += (int) body_len;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0 && conn_open(c))
            return -1;
        if (send_all(c->fd, req, (size_t) n) == 0 && read_response(c) == 0) {
            if (c->close_after)
                conn_close(c);
            return 0;
        }
        conn_close(c);
    }
    return -1;
}

static int request(conn_t *c, const char *method, const char *path, const char *extra_headers,
                   const char *body, size_t body_len)
{
    return request_typed(c, method, path, extra_headers, "application/x-www-form-urlencoded", body,
                         body_len);
}

/* A query parameter's raw (still URL-encoded) value from a URL. */
static bool query_param(const char *url, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    const char *q = strchr(url, '?');
    for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
        if (!strncmp(p + 1, name, nl) && p[1 + nl] == '=') {
            const char *v = p + 2 + nl;
            size_t n = strcspn(v, "&#");
            if (n >= size)
                return false;
            memcpy(out, v, n);
            out[n] = 0;
            return true;
        }
    }
    return false;
}

static void fail(long i, const char *leg, const conn_t *c)
{
    atomic_fetch_add(&errors, 1);
    if (atomic_fetch_add(&shown, 1) < 5)
        fprintf(stderr, "login_driver: item %ld: %s: status %d %.300s\n%.300s\n", i, leg,
                c ? c->status : -1, c ? c->hdr : "", c && c->body ? c->body : "");
}

/* ---- the legs ------------------------------------------------------------------------------ */

static bool leg_authorize(conn_t *c, long i)
{
    if (request(c, "GET", opt.authorize, NULL, NULL, 0) || c->status != 302)
        return fail(i, "authorize", c), false;
    static __thread char loc[32768];
    static __thread char saml[32768];
    char relay[512];
    if (!header(c, "Location", loc, sizeof loc) || !query_param(loc, "RelayState", relay, sizeof relay)
        || !query_param(loc, "SAMLRequest", saml, sizeof saml))
        return fail(i, "authorize: Location without SAMLRequest/RelayState", c), false;
    items[i].a = strdup(relay);
    items[i].b = strdup(saml);
    return true;
}

static bool leg_acs(conn_t *c, long i, char *code, size_t size)
{
    static __thread char *body;
    static __thread size_t cap;
    size_t need = strlen(items[i].a) + strlen(items[i].b) + 64;
    if (need > cap) {
        cap = need * 2;
        body = realloc(body, cap);
    }
    int n = snprintf(body, cap, "SAMLResponse=%s&RelayState=%s", items[i].b, items[i].a);
    if (request(c, "POST", opt.acs, NULL, body, (size_t) n) || c->status != 302)
        return fail(i, "acs", c), false;
    char loc[4096];
    if (!header(c, "Location", loc, sizeof loc) || !query_param(loc, "code", code, size))
        return fail(i, "acs: no code in Location", c), false;
    return true;
}

static bool leg_token(conn_t *c, long i, const char *code, char *access, size_t size)
{
    char body[4096], hdrs[1024];
    int n = snprintf(body, sizeof body, "%s&code=%s", opt.token_body, code);
    snprintf(hdrs, sizeof hdrs, "Authorization: %s\r\n", opt.auth);
    if (request(c, "POST", opt.token, hdrs, body, (size_t) n) || c->status != 200)
        return fail(i, "token", c), false;
    const char *a = strstr(c->body, "\"access_token\"");
    if (!a || !strstr(c->body, "\"id_token\""))
        return fail(i, "token: no access_token or no id_token", c), false;
    a = strchr(a + 14, '"');
    if (!a)
        return fail(i, "token: access_token", c), false;
    a++;
    size_t len = strcspn(a, "\"");
    if (len >= size)
        return fail(i, "token: access_token too long", c), false;
    memcpy(access, a, len);
    access[len] = 0;
    return true;
}

static bool leg_userinfo(conn_t *c, long i, const char *access)
{
    char hdrs[4096];
    snprintf(hdrs, sizeof hdrs, "Authorization: Bearer %s\r\n", access);
    if (request(c, "GET", opt.userinfo, hdrs, NULL, 0) || c->status != 200
        || !strstr(c->body, "\"sub\""))
        return fail(i, "userinfo", c), false;
    return true;
}

/* The path of an absolute "http://127.0.0.1:PORT/..." URL on the given port (NULL otherwise). */
static const char *local_path(const char *url, int port)
{
    char prefix[64];
    int n = snprintf(prefix, sizeof prefix, "http://127.0.0.1:%d/", port);
    return strncmp(url, prefix, (size_t) n) ? NULL : url + n - 1;
}

/* authorize at the broker -> the IdP's authorization endpoint -> the broker's callback, with
 * the login's cookie: the client's code into code. */
static bool leg_oidc_upstream(conn_t *c, conn_t *idp, long i, char *code, size_t size)
{
    static __thread char loc[32768];
    char cookie[1024], hdrs[1100];
    if (request(c, "GET", opt.authorize, NULL, NULL, 0) || c->status != 302)
        return fail(i, "authorize", c), false;
    const char *path;
    if (!header(c, "Location", loc, sizeof loc) || !(path = local_path(loc, idp->port)))
        return fail(i, "authorize: Location is not the IdP's", c), false;
    if (!header_with(c, "Set-Cookie", "sso_browser=", cookie, sizeof cookie))
        return fail(i, "authorize: no sso_browser cookie", c), false;
    cookie[strcspn(cookie, ";")] = 0;
    snprintf(hdrs, sizeof hdrs, "Cookie: %s\r\n", cookie);
    uint64_t t0 = now_ns();
    if (request(idp, "GET", path, NULL, NULL, 0) || idp->status != 302)
        return fail(i, "IdP authorize", idp), false;
    atomic_fetch_add(&idp_ns, now_ns() - t0);
    atomic_fetch_add(&idp_n, 1);
    if (!header(idp, "Location", loc, sizeof loc) || !(path = local_path(loc, c->port))
        || strncmp(path, "/sso/oidc/callback/", 19))
        return fail(i, "IdP authorize: Location is not the broker's callback", idp), false;
    if (request(c, "GET", path, hdrs, NULL, 0) || c->status != 302)
        return fail(i, "callback", c), false;
    if (!header(c, "Location", loc, sizeof loc) || !query_param(loc, "code", code, size))
        return fail(i, "callback: no code in Location", c), false;
    return true;
}

/* SCIM: POST /Users, Okta's body (its SCIM 2.0 guide) for the i-th new user; "userName<TAB>id"
 * into out_lines[i]. */
static bool leg_scim_create(conn_t *c, long i)
{
    char name[256], path[1024], hdrs[1024], body[2048], id[256];
    snprintf(name, sizeof name, "%s-%ld@bench.example", opt.prefix, i);
    snprintf(path, sizeof path, "%s/Users", opt.scim);
    snprintf(hdrs, sizeof hdrs, "Authorization: %s\r\n", opt.auth);
    int n = snprintf(body, sizeof body,
                     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"%s\","
                     "\"name\":{\"givenName\":\"Bench\",\"familyName\":\"User %ld\"},"
                     "\"emails\":[{\"primary\":true,\"value\":\"%s\",\"type\":\"work\"}],"
                     "\"displayName\":\"Bench User %ld\",\"locale\":\"en-US\","
                     "\"externalId\":\"00u%s%ld\",\"groups\":[],\"active\":true}",
                     name, i, name, i, opt.prefix, i);
    if (request_typed(c, "POST", path, hdrs, "application/scim+json", body, (size_t) n)
        || c->status != 201)
        return fail(i, "scim create", c), false;
    const char *p = strstr(c->body, "\"id\":\"");
    size_t len = p ? strcspn(p + 6, "\"") : 0;
    if (!len || len >= sizeof id)
        return fail(i, "scim create: no id in the answer", c), false;
    memcpy(id, p + 6, len);
    id[len] = 0;
    char line[600];
    snprintf(line, sizeof line, "%s\t%s", name, id);
    out_lines[i] = strdup(line);
    return true;
}

/* SCIM: GET /Users?filter=userName eq "<items[i].a>", which must find exactly that user. */
static bool leg_scim_get(conn_t *c, long i)
{
    char enc[768], path[2048], hdrs[1024];
    size_t k = 0;
    for (const unsigned char *s = (const unsigned char *) items[i].a; *s && k + 4 < sizeof enc; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
            || strchr("-._~", *s))
            enc[k++] = (char) *s;
        else
            k += (size_t) snprintf(enc + k, sizeof enc - k, "%%%02X", *s);
    }
    enc[k] = 0;
    snprintf(path, sizeof path, "%s/Users?filter=userName%%20eq%%20%%22%s%%22", opt.scim, enc);
    snprintf(hdrs, sizeof hdrs, "Authorization: %s\r\n", opt.auth);
    if (request(c, "GET", path, hdrs, NULL, 0) || c->status != 200)
        return fail(i, "scim get", c), false;
    if (!strstr(c->body, "\"totalResults\":1,") && !strstr(c->body, "\"totalResults\":1}"))
        return fail(i, "scim get: not exactly one user found", c), false;
    return true;
}

static void *worker(void *arg)
{
    int index = (int) (intptr_t) arg;
    conn_t c = {.fd = -1, .port = opt.ports[index % opt.n_ports]}, idp = {.fd = -1, .port = opt.idp_port};
    char code[1024], access[2048];
    for (;;) {
        if (atomic_load(&stop))
            break;
        long i = atomic_fetch_add(&next_item, 1);
        if (i >= n_items)
            break;
        uint64_t t0 = now_ns();
        bool ok = false;
        switch (opt.mode) {
        case M_AUTHORIZE:
            ok = leg_authorize(&c, i);
            break;
        case M_ACS:
            ok = leg_acs(&c, i, code, sizeof code);
            if (ok)
                out_lines[i] = strdup(code);
            break;
        case M_TOKEN:
            ok = leg_token(&c, i, items[i].a, access, sizeof access);
            break;
        case M_LOGIN:
            ok = leg_acs(&c, i, code, sizeof code) && leg_token(&c, i, code, access, sizeof access)
                 && leg_userinfo(&c, i, access);
            break;
        case M_OIDC:
            ok = leg_oidc_upstream(&c, &idp, i, code, sizeof code)
                 && leg_token(&c, i, code, access, sizeof access) && leg_userinfo(&c, i, access);
            break;
        case M_SCIM_CREATE:
            ok = leg_scim_create(&c, i);
            break;
        case M_SCIM_GET:
            ok = leg_scim_get(&c, i);
            break;
        }
        uint64_t t = now_ns() - t0;
        lat[i] = ok ? (t ? t : 1) : 0;
    }
    conn_close(&c);
    conn_close(&idp);
    free(c.buf);
    free(c.body);
    free(idp.buf);
    free(idp.body);
    return NULL;
}

/* ---- input, statistics --------------------------------------------------------------------- */

static void read_items(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t cap = 1024;
    items = calloc(cap, sizeof *items);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len)
            continue;
        if ((size_t) n_items == cap) {
            cap *= 2;
            items = realloc(items, cap * sizeof *items);
        }
        item_t *it = &items[n_items++];
        memset(it, 0, sizeof *it);
        char *save = NULL, *f1 = strtok_r(line, "\t", &save), *f2 = strtok_r(NULL, "\t", &save),
             *f3 = strtok_r(NULL, "\t", &save);
        it->a = strdup(f1);
        it->b = f2 ? strdup(f2) : NULL;
        it->prior_ns = f3 ? strtoull(f3, NULL, 10) : 0;
    }
    free(line);
    fclose(f);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *sorted, long n, double p)
{
    if (!n)
        return 0;
    long k = (long) (p / 100.0 * (double) n + 0.5) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return (double) sorted[k] / 1000.0;
}

static void usage(void)
{
    fprintf(stderr, "usage: login_driver authorize|acs|token|login|oidc|scim-create|scim-get -p PORT[,PORT...] "
                    "[-c CONNS] [-n N] [-i IN] [-o OUT] [--authorize PATH] [--acs PATH] [--token PATH] "
                    "[--userinfo PATH] [--token-body FORM] [--auth 'Basic ...'] [--idp-port PORT] "
                    "[--scim /scim/v2/DIR] [--prefix NAME]\n");
    exit(2);
}

/* A whole number in [min, max] from an option's value, or usage. */
static long number(const char *v, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max)
        usage();
    return x;
}

/* "PORT[,PORT...]" into ports (at most max of them): their count, or usage. */
static int s_ports(const char *list, int *ports, int max)
{
    char copy[128];
    if (snprintf(copy, sizeof copy, "%s", list) >= (int) sizeof copy)
        usage();
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (n == max)
            usage();
        ports[n++] = (int) number(p, 1, 65535);
    }
    return n;
}

static void on_stop(int sig)
{
    (void) sig;
    atomic_store(&stop, 1);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *modes[M_COUNT] = {"authorize", "acs", "token", "login", "oidc", "scim-create", "scim-get"};
    opt.mode = -1;
    for (int m = 0; m < M_COUNT; m++)
        if (!strcmp(argv[1], modes[m]))
            opt.mode = m;
    if (opt.mode < 0)
        usage();
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        i++;
        if (!strcmp(k, "-p"))
            opt.n_ports = s_ports(v, opt.ports, (int) (sizeof opt.ports / sizeof opt.ports[0]));
        else if (!strcmp(k, "-c"))
            opt.conns = (int) number(v, 1, 100000);
        else if (!strcmp(k, "-n"))
            opt.n = number(v, 0, 1000000000L);
        else if (!strcmp(k, "-i"))
            opt.in = v;
        else if (!strcmp(k, "-o"))
            opt.out = v;
        else if (!strcmp(k, "--authorize"))
            opt.authorize = v;
        else if (!strcmp(k, "--acs"))
            opt.acs = v;
        else if (!strcmp(k, "--token"))
            opt.token = v;
        else if (!strcmp(k, "--userinfo"))
            opt.userinfo = v;
        else if (!strcmp(k, "--token-body"))
            opt.token_body = v;
        else if (!strcmp(k, "--auth"))
            opt.auth = v;
        else if (!strcmp(k, "--idp-port"))
            opt.idp_port = (int) number(v, 1, 65535);
        else if (!strcmp(k, "--scim"))
            opt.scim = v;
        else if (!strcmp(k, "--prefix"))
            opt.prefix = v;
        else
            usage();
    }
    if (opt.n_ports < 1 || opt.conns < 1 || (opt.mode == M_OIDC && opt.n_ports != 1))
        usage();
    if (opt.mode == M_AUTHORIZE) {
        if (!opt.authorize || opt.n < 1)
            usage();
        n_items = opt.n;
        items = calloc((size_t) n_items, sizeof *items);
    }
    else if (opt.mode == M_OIDC) {
        if (!opt.authorize || opt.n < 1 || !opt.idp_port || !opt.token_body || !opt.auth)
            usage();
        n_items = opt.n;
        items = calloc((size_t) n_items, sizeof *items);
    }
    else if (opt.mode == M_SCIM_CREATE) {
        if (!opt.scim || !opt.auth || opt.n < 1)
            usage();
        n_items = opt.n;
        items = calloc((size_t) n_items, sizeof *items);
    }
    else if (opt.mode == M_SCIM_GET) {
        if (!opt.scim || !opt.auth || !opt.in)
            usage();
        read_items(opt.in);
        if (!n_items)
            usage();
        if (opt.n > 0) { /* N requests, the file's names taken in turn */
            item_t *names = items;
            items = calloc((size_t) opt.n, sizeof *items);
            for (long i = 0; i < opt.n; i++)
                items[i] = names[i % n_items];
            n_items = opt.n;
        }
    }
    else {
        if (!opt.in)
            usage();
        read_items(opt.in);
        if (opt.mode != M_TOKEN && !opt.acs)
            usage();
        if (opt.mode != M_ACS && (!opt.token_body || !opt.auth))
            usage();
    }
    lat = calloc((size_t) n_items + 1, sizeof *lat);
    out_lines = calloc((size_t) n_items + 1, sizeof *out_lines);
    struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pthread_t *threads = calloc((size_t) opt.conns, sizeof *threads);
    uint64_t t0 = now_ns();
    for (int i = 0; i < opt.conns; i++)
        pthread_create(&threads[i], NULL, worker, (void *) (intptr_t) i);
    for (int i = 0; i < opt.conns; i++)
        pthread_join(threads[i], NULL);
    double seconds = (double) (now_ns() - t0) / 1e9;

    if (opt.out) {
        FILE *f = fopen(opt.out, "w");
        if (!f) {
            perror(opt.out);
            return 2;
        }
        for (long i = 0; i < n_items; i++) {
            if (!lat[i])
                continue;
            if (opt.mode == M_AUTHORIZE)
                fprintf(f, "%s\t%s\t%llu\n", items[i].a, items[i].b, (unsigned long long) lat[i]);
            else if (opt.mode == M_ACS || opt.mode == M_SCIM_CREATE)
                fprintf(f, "%s\n", out_lines[i]);
        }
        fclose(f);
    }
    uint64_t *ok = malloc(((size_t) n_items + 1) * sizeof *ok), *e2e = malloc(((size_t) n_items + 1) * sizeof *e2e);
    long k = 0, ke = 0;
    for (long i = 0; i < n_items; i++)
        if (lat[i]) {
            ok[k++] = lat[i];
            if (items[i].prior_ns)
                e2e[ke++] = lat[i] + items[i].prior_ns;
        }
    long taken = atomic_load(&next_item) < n_items ? atomic_load(&next_item) : n_items;
    qsort(ok, (size_t) k, sizeof *ok, cmp_u64);
    qsort(e2e, (size_t) ke, sizeof *e2e, cmp_u64);
    printf("mode=%s n=%ld ok=%ld errors=%ld seconds=%.3f rate=%.1f p50_us=%.0f p90_us=%.0f "
           "p99_us=%.0f max_us=%.0f",
           modes[opt.mode], taken, k, (long) atomic_load(&errors), seconds,
           seconds > 0 ? (double) k / seconds : 0, pct(ok, k, 50), pct(ok, k, 90), pct(ok, k, 99),
           pct(ok, k, 100));
    if (opt.mode == M_LOGIN && ke)
        printf(" e2e_p50_us=%.0f e2e_p99_us=%.0f", pct(e2e, ke, 50), pct(e2e, ke, 99));
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) /* the driver's own CPU, all threads */
        printf(" cpu_ms=%.1f", (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0
                                   + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0);
    if (opt.mode == M_OIDC)
        printf(" idp_mean_us=%.0f", atomic_load(&idp_n) ? (double) atomic_load(&idp_ns) / 1000.0
                                                              / (double) atomic_load(&idp_n) : 0);
    printf("\n");
    return 0;
}
