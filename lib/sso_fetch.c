/* sso_fetch: guarded outbound HTTP on libcurl. */
#include "sso_fetch.h"
#include <openssl/crypto.h>
#include "sso_test.h"
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct {
    bool allow_private;
    bool refused;        /* the address check refused a peer */
    char refused_addr[INET6_ADDRSTRLEN];
    char *data;
    size_t len;
    size_t max;
    bool too_big;
} s_transfer_t;

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static void s_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool s_v4_allowed(uint32_t a)
{
    /* a is in host order. Each entry: network, prefix length. */
    static const struct {
        uint32_t net;
        int bits;
    } blocked[] = {
        {0x00000000, 8},   /* "this network" */
        {0x0a000000, 8},   /* 10/8 private */
        {0x64400000, 10},  /* 100.64/10 carrier-grade NAT */
        {0x7f000000, 8},   /* loopback */
        {0xa9fe0000, 16},  /* 169.254/16 link-local (cloud metadata) */
        {0xac100000, 12},  /* 172.16/12 private */
        {0xc0000000, 24},  /* 192.0.0/24 IETF protocol assignments */
        {0xc0000200, 24},  /* TEST-NET-1 */
        {0xc0a80000, 16},  /* 192.168/16 private */
        {0xc6120000, 15},  /* 198.18/15 benchmarking */
        {0xc6336400, 24},  /* TEST-NET-2 */
        {0xcb007100, 24},  /* TEST-NET-3 */
        {0xe0000000, 4},   /* multicast */
        {0xf0000000, 4},   /* reserved and broadcast */
    };
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++) {
        uint32_t mask = blocked[i].bits ? 0xffffffffu << (32 - blocked[i].bits) : 0;
        if ((a & mask) == blocked[i].net)
            return false;
    }
    return true;
}

bool sso_fetch_address_allowed(const struct sockaddr *address, bool allow_private)
{
    if (allow_private)
        return true;
    if (!address)
        return false;
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) address;
        return s_v4_allowed(ntohl(in->sin_addr.s_addr));
    }
    if (address->sa_family != AF_INET6)
        return false;
    const uint8_t *b = ((const struct sockaddr_in6 *) address)->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    /* IPv4 embedded in IPv6 (mapped, NAT64 well-known prefix) is judged as IPv4. */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return s_v4_allowed((uint32_t) b[12] << 24 | (uint32_t) b[13] << 16
                            | (uint32_t) b[14] << 8 | b[15]);
    static const uint8_t zero[15] = {0};
    if (memcmp(b, zero, 15) == 0)
        return false;                              /* :: and ::1 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return false;                              /* fe80::/10 link-local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return false;                              /* fec0::/10 site-local */
    if ((b[0] & 0xfe) == 0xfc)
        return false;                              /* fc00::/7 unique local */
    if (b[0] == 0xff)
        return false;                              /* multicast */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return false;                              /* 2001:db8::/32 documentation */
    if (b[0] == 0x20 && b[1] == 0x02)
        return s_v4_allowed((uint32_t) b[2] << 24 | (uint32_t) b[3] << 16
                            | (uint32_t) b[4] << 8 | b[5]); /* 6to4 */
    return (b[0] & 0xe0) == 0x20;                  /* global unicast 2000::/3 only */
}

static curl_socket_t s_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    s_transfer_t *transfer = arg;
    if (purpose != CURLSOCKTYPE_IPCXN
        || !sso_fetch_address_allowed(&addr->addr, transfer->allow_private)) {
        transfer->refused = true;
        const void *raw = addr->family == AF_INET
                              ? (const void *) &((struct sockaddr_in *) &addr->addr)->sin_addr
                              : (const void *) &((struct sockaddr_in6 *) &addr->addr)->sin6_addr;
        if (!inet_ntop(addr->family, raw, transfer->refused_addr, sizeof transfer->refused_addr))
            snprintf(transfer->refused_addr, sizeof transfer->refused_addr, "?");
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

static size_t s_write(char *data, size_t size, size_t count, void *arg)
{
    s_transfer_t *transfer = arg;
    size_t len = size * count;
    if (len > transfer->max - transfer->len) {
        transfer->too_big = true;
        return 0; /* aborts the transfer */
    }
    char *grown = realloc(transfer->data, transfer->len + len + 1);
    if (!grown)
        return 0;
    memcpy(grown + transfer->len, data, len);
    transfer->data = grown;
    transfer->len += len;
    grown[transfer->len] = '\0';
    return len;
}

/* A host as written in a URL (curl's form: IPv6 in brackets) that names this machine. */
static bool s_loopback_host(const char *host)
{
    struct in_addr v4;
    if (!strcasecmp(host, "localhost") || !strcmp(host, "[::1]"))
        return true;
    return inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

int sso_fetch_url_check(const char *url, bool allow_private, bool *plain_http, char *why,
                        size_t why_size)
{
    *plain_http = false;
    pthread_once(&s_once, s_global_init);
    CURLU *parsed = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;
    if (!url || !*url)
        snprintf(why, why_size, "no URL given");
    else if (!parsed)
        snprintf(why, why_size, "out of memory");
    else if (curl_url_set(parsed, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK
             || curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
        snprintf(why, why_size, "the URL is not a valid absolute URL");
    else if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0)
        snprintf(why, why_size, "the URL must use https, not %.16s", scheme);
    else if (curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        snprintf(why, why_size, "the URL has no host");
    else if (!strcasecmp(scheme, "https"))
        rc = 0;
    else if (allow_private && s_loopback_host(host)) {
        *plain_http = true;
        rc = 0;
    }
    else
        snprintf(why, why_size, "the URL must use https (plain http only to a loopback host, "
                                "with SSO_ALLOW_PRIVATE_UPSTREAMS=1)");
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(parsed);
    return rc;
}

/* Every value of the named header in the last answer (after redirects), joined by ", ";
   NULL when there is none. */
static char *s_header_values(CURL *curl, const char *name)
{
    struct curl_header *header = NULL;
    if (curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &header) != CURLHE_OK)
        return NULL;
    size_t count = header->amount, total = 0;
    for (size_t i = 0; i < count; i++) {
        if (curl_easy_header(curl, name, i, CURLH_HEADER, -1, &header) != CURLHE_OK)
            return NULL;
        total += strlen(header->value) + 2;
    }
    char *joined = malloc(total + 1);
    if (!joined)
        return NULL;
    joined[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        if (curl_easy_header(curl, name, i, CURLH_HEADER, -1, &header) != CURLHE_OK)
            break;
        len += (size_t) snprintf(joined + len, total + 1 - len, "%s%s", i ? ", " : "",
                                 header->value);
    }
    return joined;
}

int sso_fetch(const sso_fetch_request_t *request, sso_fetch_response_t *response, char *why,
              size_t why_size)
{
    memset(response, 0, sizeof *response);
    const char *url = request->url ? request->url : "";
    bool plain_http = false;
    if (sso_fetch_url_check(url, request->allow_private, &plain_http, why, why_size) != 0)
        return -1;
    bool post = request->method && strcmp(request->method, "POST") == 0;
    s_transfer_t transfer = {.allow_private = request->allow_private,
                             .max = request->max_bytes ? request->max_bytes
                                                       : SSO_FETCH_MAX_BYTES};
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char header[2048];
    if (request->accept) {
        snprintf(header, sizeof header, "Accept: %s", request->accept);
        headers = curl_slist_append(headers, header);
    }
    if (request->authorization) {
        /* Its own buffer: access tokens (Entra's) are often longer than any fixed size, and a
           header cut short would be another credential. */
        size_t size = strlen(request->authorization) + sizeof "Authorization: ";
        char *authorization = malloc(size);
        if (!authorization) {
            curl_slist_free_all(headers);
            curl_easy_cleanup(curl);
            snprintf(why, why_size, "out of memory");
            return -1;
        }
        snprintf(authorization, size, "Authorization: %s", request->authorization);
        headers = curl_slist_append(headers, authorization); /* curl copies it */
        OPENSSL_cleanse(authorization, size);
        free(authorization);
    }
    for (size_t i = 0; request->headers && request->headers[i]; i++)
        headers = curl_slist_append(headers, request->headers[i]); /* curl copies it */
    if (post && request->content_type) {
        snprintf(header, sizeof header, "Content-Type: %s", request->content_type);
        headers = curl_slist_append(headers, header);
    }
    long timeout = request->timeout_ms > 0 ? request->timeout_ms : SSO_FETCH_TIMEOUT_MS;
    if (!curl) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    /* A trust anchor never travels in the clear: redirects go to https only, whatever the
       first hop was. */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, plain_http ? "http,https" : "https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    /* Redirects only for GET: a POST carries credentials that must not wander. */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, post ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, (long) SSO_FETCH_MAX_REDIRECTS);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    /* A proxy would make the address check judge the proxy, not the upstream. */
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) transfer.max);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, s_open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "sso-broker/1");
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    if (headers)
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (post) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body ? request->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) request->body_len);
    }
    CURLcode code = curl_easy_perform(curl);
    int rc = -1;
    if (transfer.refused)
        snprintf(why, why_size, "the upstream address %s is loopback, link-local or private "
                                "(set SSO_ALLOW_PRIVATE_UPSTREAMS=1 to allow it)",
                 transfer.refused_addr);
    else if (transfer.too_big || code == CURLE_FILESIZE_EXCEEDED)
        snprintf(why, why_size, "the response is larger than %zu bytes", transfer.max);
    else if (code == CURLE_UNSUPPORTED_PROTOCOL)
        /* The first URL passed sso_fetch_url_check, so a redirect asked for this. */
        snprintf(why, why_size, "the upstream redirected to a URL that is not https");
    else if (code == CURLE_OPERATION_TIMEDOUT)
        snprintf(why, why_size, "the upstream did not answer within %ld ms", timeout);
    else if (code != CURLE_OK)
        snprintf(why, why_size, "the request failed: %s", curl_easy_strerror(code));
    else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
        char *type = NULL;
        curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
        response->content_type = type ? strdup(type) : NULL;
        response->cache_control = s_header_values(curl, "Cache-Control");
        response->body = transfer.data ? transfer.data : strdup("");
        response->len = transfer.len;
        transfer.data = NULL;
        rc = response->body ? 0 : -1;
    }
    free(transfer.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

void sso_fetch_response_free(sso_fetch_response_t *response)
{
    free(response->body);
    free(response->content_type);
    free(response->cache_control);
    memset(response, 0, sizeof *response);
}

/* ---- self-test: a one-connection-at-a-time HTTP server on loopback ---------------------- */

typedef struct {
    int listener;
    int connections;
    const char *reply;
    char head[16384]; /* the last request's head, as it arrived */
} s_server_t;

static void *s_serve(void *arg)
{
    s_server_t *server = arg;
    for (int i = 0; i < server->connections; i++) {
        int fd = accept(server->listener, NULL, NULL);
        if (fd < 0)
            break;
        /* Read the headers (and ignore any body). */
        sso_test_read_head(fd, server->head, sizeof server->head, 2000);
        size_t len = strlen(server->reply);
        if (write(fd, server->reply, len) != (ssize_t) len)
            break;
        close(fd);
    }
    return NULL;
}

/* True when a connection waits on the listener fd. */
static bool s_pending(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) > 0;
}

void sso_fetch_test(bool verbose)
{
    (void) verbose;
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    const char *blocked4[] = {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
                              "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
                              "224.0.0.1", "255.255.255.255"};
    for (size_t i = 0; i < sizeof blocked4 / sizeof blocked4[0]; i++) {
        inet_pton(AF_INET, blocked4[i], &v4.sin_addr);
        SSO_CHECK(!sso_fetch_address_allowed((struct sockaddr *) &v4, false));
        SSO_CHECK(sso_fetch_address_allowed((struct sockaddr *) &v4, true));
    }
    const char *open4[] = {"8.8.8.8", "172.32.0.1", "93.184.216.34"};
    for (size_t i = 0; i < sizeof open4 / sizeof open4[0]; i++) {
        inet_pton(AF_INET, open4[i], &v4.sin_addr);
        SSO_CHECK(sso_fetch_address_allowed((struct sockaddr *) &v4, false));
    }
    const char *blocked6[] = {"::1", "::", "fe80::1", "fd00::1", "fc00::1", "ff02::1",
                              "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
                              "2002:7f00:1::1", "2001:db8::1"};
    for (size_t i = 0; i < sizeof blocked6 / sizeof blocked6[0]; i++) {
        inet_pton(AF_INET6, blocked6[i], &v6.sin6_addr);
        bool allowed = sso_fetch_address_allowed((struct sockaddr *) &v6, false);
        SSO_CHECK(!allowed);
        if (allowed)
            fprintf(stderr, "allowed %s\n", blocked6[i]);
    }
    const char *open6[] = {"2606:4700::1111", "::ffff:8.8.8.8"};
    for (size_t i = 0; i < sizeof open6 / sizeof open6[0]; i++) {
        inet_pton(AF_INET6, open6[i], &v6.sin6_addr);
        SSO_CHECK(sso_fetch_address_allowed((struct sockaddr *) &v6, false));
    }

    /* The scheme rule, on its own: https, or http to loopback only with the flag. */
    struct {
        const char *url;
        bool allow_private;
        bool ok;
        bool plain_http;
    } schemes[] = {
        {"https://idp.example.com/metadata", false, true, false},
        {"HTTPS://idp.example.com/metadata", false, true, false},
        {"https://127.0.0.1/md", false, true, false}, /* the address check refuses it later */
        {"http://idp.example.com/metadata", false, false, false},
        {"http://idp.example.com/metadata", true, false, false},
        {"HTTP://idp.example.com/metadata", true, false, false},
        {"http://10.0.0.1/metadata", true, false, false},
        {"http://127.0.0.1.example.com/md", true, false, false},
        {"http://127.0.0.1:8080/md", false, false, false},
        {"http://127.0.0.1:8080/md", true, true, true},
        {"HTTP://127.0.0.1:8080/md", true, true, true},
        {"http://127.9.8.7/md", true, true, true},
        {"http://localhost:8080/md", false, false, false},
        {"http://localhost:8080/md", true, true, true},
        {"http://[::1]:8080/md", false, false, false},
        {"http://[::1]:8080/md", true, true, true},
        {"file:///etc/passwd", true, false, false},
        {"ftp://127.0.0.1/md", true, false, false},
        {"ftps://idp.example.com/md", true, false, false},
        {"gopher://127.0.0.1/", true, false, false},
        {"dict://127.0.0.1:11211/stat", true, false, false},
        {"ws://127.0.0.1/", true, false, false},
        {"idp.example.com/metadata", true, false, false},
        {"//idp.example.com/metadata", true, false, false},
        {"https:/idp.example.com", false, true, false}, /* curl reads it as https://idp... */
        {"", true, false, false},
        {NULL, true, false, false},
    };
    char why[256];
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        bool plain_http = !schemes[i].plain_http;
        why[0] = '\0';
        int rc = sso_fetch_url_check(schemes[i].url, schemes[i].allow_private, &plain_http, why,
                                     sizeof why);
        bool ok = (rc == 0) == schemes[i].ok && plain_http == schemes[i].plain_http
                  && (rc == 0 || *why);
        if (!ok)
            fprintf(stderr, "url check %s (private %d): %d %s\n",
                    schemes[i].url ? schemes[i].url : "(null)", schemes[i].allow_private, rc, why);
        SSO_CHECK(ok);
    }
    sso_fetch_url_check("http://idp.example.com/", true, &(bool){false}, why, sizeof why);
    SSO_CHECK(strstr(why, "must use https"));

    sso_fetch_response_t response;
    sso_fetch_request_t request = {.url = "file:///etc/passwd", .allow_private = true};
    SSO_CHECK(sso_fetch(&request, &response, why, sizeof why) == -1
              && strstr(why, "must use https"));
    sso_fetch_response_free(&response);
    request.url = "gopher://example.com/";
    SSO_CHECK(sso_fetch(&request, &response, why, sizeof why) == -1);
    sso_fetch_response_free(&response);

    /* A loopback server: refused by default, served when private upstreams are allowed,
       and the size cap holds. */
    s_server_t server = {.connections = 2,
                         .reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: 11\r\nConnection: close\r\n\r\nhello world"};
    int port = sso_test_listen(&server.listener);
    /* A second listener that no fetch may reach: plain http never leaves through a
       redirect. */
    int bystander = -1;
    int bystander_port = sso_test_listen(&bystander);
    SSO_CHECK(port > 0 && bystander_port > 0);
    if (port <= 0 || bystander_port <= 0) {
        if (server.listener >= 0)
            close(server.listener);
        if (bystander >= 0)
            close(bystander);
        return;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metadata", port);
    request.url = url;
    request.allow_private = false;
    SSO_CHECK(sso_fetch(&request, &response, why, sizeof why) == -1
              && strstr(why, "must use https") && strstr(why, "SSO_ALLOW_PRIVATE_UPSTREAMS"));
    sso_fetch_response_free(&response);
    /* https to loopback: refused by the address check, before any connection. */
    char https_url[64];
    snprintf(https_url, sizeof https_url, "https://127.0.0.1:%d/metadata", port);
    request.url = https_url;
    SSO_CHECK(sso_fetch(&request, &response, why, sizeof why) == -1
              && strstr(why, "127.0.0.1") && strstr(why, "SSO_ALLOW_PRIVATE_UPSTREAMS"));
    sso_fetch_response_free(&response);
    SSO_CHECK(!s_pending(server.listener));

    pthread_t thread;
    server.connections = 1;
    SSO_CHECK(pthread_create(&thread, NULL, s_serve, &server) == 0);
    request.url = url;
    request.allow_private = true;
    request.accept = "text/plain";
    SSO_CHECK(sso_fetch(&request, &response, why, sizeof why) == 0);
    SSO_CHECK(response.status == 200 && response.len == 11
              && strcmp(response.body, "hello world") == 0
              && response.content_type && strcmp(response.content_type, "text/plain") == 0);
    sso_fetch_response_free(&response);
    pthread_join(thread, NULL);
    /* An Authorization value longer than any fixed buffer (Entra's access tokens) arrives
       whole. */
    char *bearer = malloc(6001);
    if (bearer) {
        memcpy(bearer, "Bearer ", 7);
        memset(bearer + 7, 'a', 5992);
        memcpy(bearer + 5999, "Z", 2);
        request.authorization = bearer;
        server.connections = 1;
        SSO_CHECK(pthread_create(&thread, NULL, s_serve, &server) == 0);
        SSO_CHECK(sso_fetch(&request, &response, why, sizeof why) == 0);
        SSO_CHECK(strstr(server.head, "Authorization: Bearer aaaa")
                  && strstr(server.head, "aaaaZ\r\n"));
        sso_fetch_response_free(&response);
        pthread_join(thread, NULL);
        request.authorization = NULL;
        free(bearer);
    }
    /* A POST with a body and extra headers (a webhook's): all of them arrive. */
    const char *const extra[] = {"webhook-id: msg_1", "webhook-timestamp: 1614265330", NULL};
    sso_fetch_request_t post = {.url = url, .allow_private = true, .method = "POST",
                                .body = "{\"a\":1}", .body_len = 7,
                                .content_type = "application/json", .headers = extra};
    server.connections = 1;
    SSO_CHECK(pthread_create(&thread, NULL, s_serve, &server) == 0);
    SSO_CHECK(sso_fetch(&post, &response, why, sizeof why) == 0 && response.status == 200);
    SSO_CHECK(!strncmp(server.head, "POST /metadata ", 15)
              && strstr(server.head, "\r\nwebhook-id: msg_1\r\n")
              && strstr(server.head, "\r\nwebhook-timestamp: 1614265330\r\n")
              && strstr(server.head, "\r\nContent-Type: application/json\r\n")
              && strstr(server.head, "\r\nContent-Length: 7\r\n"));
    sso_fetch_response_free(&response);
    pthread_join(thread, NULL);
    server.connections = 1;
    SSO_CHECK(pthread_create(&thread, NULL, s_serve, &server) == 0);
    request.max_bytes = 5;
    SSO_CHECK(sso_fetch(&request, &response, why, sizeof why) == -1 && strstr(why, "larger"));
    sso_fetch_response_free(&response);
    pthread_join(thread, NULL);
    request.max_bytes = 0;

    /* Redirects go to https only, even from an allowed plain-http loopback URL: to plain http
       (the bystander, which sees nothing), to file:, gopher: and dict:. */
    char locations[4][96];
    snprintf(locations[0], sizeof locations[0], "http://127.0.0.1:%d/metadata", bystander_port);
    snprintf(locations[1], sizeof locations[1], "file:///etc/passwd");
    snprintf(locations[2], sizeof locations[2], "gopher://127.0.0.1:%d/", bystander_port);
    snprintf(locations[3], sizeof locations[3], "dict://127.0.0.1:%d/info", bystander_port);
    for (size_t i = 0; i < 4; i++) {
        char reply[512];
        snprintf(reply, sizeof reply, "HTTP/1.1 302 Found\r\nLocation: %s\r\n"
                                      "Content-Length: 0\r\nConnection: close\r\n\r\n",
                 locations[i]);
        server.reply = reply;
        server.connections = 1;
        SSO_CHECK(pthread_create(&thread, NULL, s_serve, &server) == 0);
        int rc = sso_fetch(&request, &response, why, sizeof why);
        bool ok = rc == -1 && strstr(why, "redirected") && strstr(why, "https");
        if (!ok)
            fprintf(stderr, "redirect to %s: %d %s\n", locations[i], rc,
                    rc == 0 ? response.body : why);
        SSO_CHECK(ok);
        sso_fetch_response_free(&response);
        pthread_join(thread, NULL);
    }
    SSO_CHECK(!s_pending(bystander));
    close(bystander);
    close(server.listener);
}
