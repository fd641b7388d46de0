#include "gateway_http.h"
#include "gateway_proxy.h"
#include "gateway_limits.h"
#include "gateway_routes.h"
#include "gateway_static.h"
#include "sso_bus.h"
#include "sso_crypto.h"
#include "sso_http.h"
#include "sso_log.h"
#include "sso_test.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define MAX_HEADERS 100
#define MAX_COUNTERS_PER_RESPONSE 8       /* more are counted as refused */
#define HEADER_MEMORY_LIMIT (64 * 1024)   /* bounds the request line and headers */
#define CONNECTION_TIMEOUT_S 30
/* While the broker stops, how often the last answers are pushed out at most. */
#define STOP_POLL_MS 10
/* With MHD's own threads, connections are accepted off the broker's thread, which therefore
   sweeps the read deadlines at least this often. */
#define SWEEP_TICK_MS 250
#define READ_TIMEOUT_ERROR "{\"error\":\"request_timeout\",\"error_description\":" \
                           "\"the request was not received in time\"}"

/* Two ways to run MHD (SSO_GATEWAY_THREADS):
   - 0, the default without TLS: no MHD thread. The broker's loop drives MHD in "external
     polling" mode (s_hook), so a request goes to the bus and its answer comes back on one
     thread, with no hand-off, no wake-up pipe and no lock.
   - N > 0, the default with TLS (2): MHD's own pool of N threads, which hand requests to the
     broker's thread through its inbox and are resumed from it. TLS handshakes cost about a
     millisecond of CPU each, which must not stall the bus.
   SSO_OPS_ADDR adds a second daemon for the operations endpoints, plain HTTP, always run by
   the broker's loop. */
typedef struct {
    gateway_http_t *http;
    struct MHD_Daemon *daemon;
    bool ops;                   /* the SSO_OPS_ADDR listener: operations endpoints only */
} listener_t;

struct gateway_http_t {
    listener_t public_side;
    listener_t ops_side;        /* daemon NULL without SSO_OPS_ADDR */
    int loop_fd;                /* epoll of both daemons for the broker's loop; -1 if not ours */
    gateway_limits_t *limits;
    gateway_proxy_t *proxies;   /* SSO_TRUSTED_PROXIES */
    char cut_answer[256];       /* the 408 the sweep writes itself (s_cut) */
    size_t cut_answer_len;
    const sso_config_t *config;
    sso_broker_t *broker;
    gateway_metrics_t *metrics;
    char *web_dir;
    char *tls_cert;
    char *tls_key;
    atomic_size_t on_bus;       /* requests handed to the broker and not yet completed */
    bool access_log;            /* SSO_ACCESS_LOG is not 0 (read once, not per request) */
    long threads;               /* SSO_GATEWAY_THREADS */
};

typedef enum { REQ_READING, REQ_WAITING, REQ_ANSWERED } request_state_t;

/* One per HTTP request; lives from the first callback to MHD's completion callback. */
typedef struct {
    gateway_http_t *http;
    listener_t *listener;
    gateway_peer_t *peer;       /* its connection's limits; NULL when untracked */
    struct MHD_Connection *connection;
    atomic_int state;           /* request_state_t; the broker's thread sets ANSWERED */
    bool on_bus;                /* counted in http->on_bus */
    char request_id[17];
    route_t route;
    int64_t started_us;
    bool too_large;
    bool over_budget;           /* SSO_MAX_BODY_BYTES_IN_FLIGHT was reached: body dropped */
    size_t reserved;            /* bytes taken from the body budget */
    char budget_address[INET6_ADDRSTRLEN + 8]; /* whose share they count in ("" for none) */
    uint8_t *body;
    size_t body_len;
    /* Set by the broker thread before it resumes the connection. */
    uint32_t bus_status;
    Sso__HttpResponse *response;
    unsigned status_sent;
    size_t bytes_sent;
    char method[16];
    char path[256];
} request_t;

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum MHD_Result s_send(request_t *request, unsigned status, const char *content_type,
                              const void *body, size_t len, const Sso__HttpResponse *from)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, (void *) body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    if (content_type)
        MHD_add_response_header(response, "Content-Type", content_type);
    if (from)
        for (size_t i = 0; i < from->n_headers; i++) {
            const char *name = from->headers[i]->name, *value = from->headers[i]->value;
            /* A service may not set framing headers; MHD owns them. */
            if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")
                || !strcasecmp(name, "content-length") || !strcasecmp(name, "transfer-encoding")
                || !strcasecmp(name, "connection"))
                continue;
            MHD_add_response_header(response, name, value);
        }
    if (!MHD_get_response_header(response, "X-Content-Type-Options"))
        MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(response, "X-Request-Id", request->request_id);
    if (request->http->tls_cert)
        MHD_add_response_header(response, "Strict-Transport-Security", "max-age=31536000");
    enum MHD_Result rc = MHD_queue_response(request->connection, status, response);
    MHD_destroy_response(response);
    request->status_sent = status;
    request->bytes_sent = len;
    return rc;
}

/* A JSON error; header (NULL for none) and value add one response header. */
static enum MHD_Result s_send_error_with(request_t *request, unsigned status, const char *error,
                                         const char *description, const char *header,
                                         const char *value)
{
    json_t *json = json_pack("{s:s, s:s}", "error", error, "error_description", description);
    char *text = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    if (!text)
        return MHD_NO;
    Sso__Header extra_header = SSO__HEADER__INIT;
    Sso__Header *headers[] = {&extra_header};
    extra_header.name = (char *) header;
    extra_header.value = (char *) value;
    Sso__HttpResponse extra = SSO__HTTP_RESPONSE__INIT;
    extra.headers = headers;
    extra.n_headers = 1;
    enum MHD_Result rc = s_send(request, status, "application/json", text, strlen(text),
                                header ? &extra : NULL);
    free(text);
    return rc;
}

static enum MHD_Result s_send_error(request_t *request, unsigned status, const char *error,
                                    const char *description)
{
    return s_send_error_with(request, status, error, description, NULL, NULL);
}

static enum MHD_Result s_send_405(request_t *request, const char *allow)
{
    return s_send_error_with(request, 405, "method_not_allowed", "this path takes GET", "Allow",
                             allow);
}

/* SSO_MAX_BODY_BYTES_IN_FLIGHT: other clients' bodies fill the budget; soon they will not. */
static enum MHD_Result s_send_over_budget(request_t *request)
{
    gateway_metrics_refused(request->http->metrics, GATEWAY_REFUSED_BODY_BYTES_IN_FLIGHT);
    return s_send_error_with(request, 503, "temporarily_unavailable",
                             "the gateway holds too many request bodies; try again shortly",
                             "Retry-After", "1");
}

static void s_drop_body(request_t *request)
{
    free(request->body);
    request->body = NULL;
    gateway_limits_release(request->http->limits,
                           *request->budget_address ? request->budget_address : NULL,
                           request->reserved);
    request->reserved = 0;
}

/* ---- the bus side ---------------------------------------------------------------------- */

static void s_on_reply(void *arg, uint32_t bus_status, zframe_t *payload)
{
    request_t *request = arg;
    request->bus_status = bus_status;
    if (payload) {
        request->response = sso__http_response__unpack(NULL, zframe_size(payload),
                                                        zframe_data(payload));
        if (!request->response)
            sso_warn("dropped a reply to %s: its HttpResponse does not unpack",
                     request->request_id);
        zframe_destroy(&payload);
    }
    atomic_store(&request->state, REQ_ANSWERED);
    MHD_resume_connection(request->connection);
}

typedef struct {
    Sso__Header *items;
    Sso__Header **ptrs;
    size_t count;
} header_list_t;

static enum MHD_Result s_collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    (void) kind;
    header_list_t *list = cls;
    if (list->count >= MAX_HEADERS)
        return MHD_NO;
    Sso__Header *header = &list->items[list->count];
    sso__header__init(header);
    char *name = strdup(key);
    for (char *p = name; *p; p++)
        *p = (char) tolower((unsigned char) *p);
    header->name = name;
    header->value = strdup(value ? value : "");
    list->ptrs[list->count++] = header;
    return MHD_YES;
}

typedef struct {
    char *text;
    size_t len, cap;
    bool failed;
} query_t;

static enum MHD_Result s_collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void) kind;
    query_t *query = cls;
    char *name = sso_url_encode(key);
    char *val = value ? sso_url_encode(value) : NULL;
    size_t need = strlen(name) + (val ? strlen(val) + 1 : 0) + 2;
    if (query->len + need > query->cap) {
        size_t cap = (query->cap + need) * 2;
        char *grown = realloc(query->text, cap);
        if (!grown) {
            query->failed = true;
            free(name);
            free(val);
            return MHD_NO;
        }
        query->text = grown;
        query->cap = cap;
    }
    int n = snprintf(query->text + query->len, query->cap - query->len, "%s%s%s%s",
                     query->len ? "&" : "", name, val ? "=" : "", val ? val : "");
    query->len += (size_t) n;
    free(name);
    free(val);
    return MHD_YES;
}

/* The client's address as text; "" when it is not IP. */
static void s_address_text(const struct sockaddr *addr, char *text, size_t size)
{
    text[0] = '\0';
    if (addr && addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *) addr)->sin_addr, text, (socklen_t) size);
    else if (addr && addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) addr)->sin6_addr, text,
                  (socklen_t) size);
}

/* Appends an X-Forwarded-For line to the comma-separated text in cls (at most 1 KiB: a longer
   chain is cut at the left, where the untrusted entries are). */
static enum MHD_Result s_collect_xff(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void) kind;
    char *xff = cls;
    if (!key || strcasecmp(key, "X-Forwarded-For") != 0 || !value)
        return MHD_YES;
    const size_t size = 1024;
    size_t used = strlen(xff), len = strlen(value);
    if (used + 1 + len < size)
        snprintf(xff + used, size - used, "%s%s", used ? "," : "", value);
    else if (len >= size - 1) { /* the right end of this line alone */
        memcpy(xff, value + len - (size - 1), size - 1);
        xff[size - 1] = '\0';
    }
    else { /* the right end of the lines before, then this line */
        size_t keep = size - 2 - len;
        memmove(xff, xff + used - keep, keep);
        xff[keep] = ',';
        memcpy(xff + keep + 1, value, len + 1);
    }
    return MHD_YES;
}

static enum MHD_Result s_forward(request_t *request, const char *method, const char *path)
{
    gateway_http_t *http = request->http;
    Sso__HttpRequest message = SSO__HTTP_REQUEST__INIT;
    message.method = (char *) method;
    message.path = (char *) path;

    query_t query = {calloc(1, 256), 0, 256, false};
    MHD_get_connection_values(request->connection, MHD_GET_ARGUMENT_KIND, s_collect_arg, &query);
    message.query = query.text ? query.text : "";

    Sso__Header items[MAX_HEADERS];
    Sso__Header *ptrs[MAX_HEADERS];
    header_list_t headers = {items, ptrs, 0};
    MHD_get_connection_values(request->connection, MHD_HEADER_KIND, s_collect_header, &headers);
    message.headers = ptrs;
    message.n_headers = headers.count;
    message.body.data = request->body;
    message.body.len = request->body_len;
    message.tls = http->tls_cert != NULL;

    char peer[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(request->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    s_address_text(info ? info->client_addr : NULL, peer, sizeof peer);
    /* Behind a trusted proxy, the client it names (every X-Forwarded-For line, in order). */
    char xff[1024] = "";
    MHD_get_connection_values(request->connection, MHD_HEADER_KIND, s_collect_xff, xff);
    gateway_proxy_client(http->proxies, peer, xff, remote);
    message.remote_addr = remote;

    zframe_t *payload = query.failed ? NULL : sso_frame_pack(&message.base);
    free(query.text);
    for (size_t i = 0; i < headers.count; i++) {
        free(items[i].name);
        free(items[i].value);
    }
    free(request->body);
    request->body = NULL;
    if (!payload)
        return s_send_error(request, 500, "server_error", "could not encode the request");

    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = request->request_id;
    meta.deadline_ms = sso_now_ms() + http->config->request_timeout_ms;
    /* Only safe methods may be re-sent to another instance. */
    meta.idempotent = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    meta.kind = SSO__META__KIND__HTTP;

    /* Suspended first: the broker may answer (503) before submit returns. */
    atomic_store(&request->state, REQ_WAITING);
    request->on_bus = true;
    atomic_fetch_add(&http->on_bus, 1);
    MHD_suspend_connection(request->connection);
    if (sso_broker_submit(http->broker, request->route.service, &meta, &payload, s_on_reply,
                          request) != 0) {
        zframe_destroy(&payload);
        request->bus_status = 503;
        atomic_store(&request->state, REQ_ANSWERED);
        MHD_resume_connection(request->connection);
    }
    return MHD_YES;
}

static enum MHD_Result s_answer_from_bus(request_t *request)
{
    if (request->bus_status == 503)
        return s_send_error(request, 503, "temporarily_unavailable",
                            "no instance of the service is available; try again shortly");
    if (request->bus_status == 504)
        return s_send_error(request, 504, "temporarily_unavailable",
                            "the service did not answer in time");
    Sso__HttpResponse *response = request->response;
    if (request->bus_status != 0 || !response || response->status < 100 || response->status > 599)
        return s_send_error(request, 502, "server_error", "the service gave a malformed answer");
    /* The counters go to /metrics only; s_send passes on the status, headers and body. */
    for (size_t i = 0; i < response->n_counters; i++)
        gateway_metrics_count(request->http->metrics, request->route.service,
                              i < MAX_COUNTERS_PER_RESPONSE ? response->counters[i] : NULL);
    return s_send(request, response->status, NULL, response->body.data, response->body.len,
                  response);
}

/* ---- the gateway's own answers ----------------------------------------------------------- */

static enum MHD_Result s_ops(request_t *request, const char *path)
{
    gateway_http_t *http = request->http;
    if (!strcmp(path, "/healthz"))
        return s_send(request, 200, "application/json", "{\"status\":\"ok\"}", 15, NULL);
    if (!strcmp(path, "/metrics")) {
        char *text = gateway_metrics_render(http->metrics, http->broker);
        enum MHD_Result rc = s_send(request, 200, "text/plain; version=0.0.4", text,
                                    text ? strlen(text) : 0, NULL);
        free(text);
        return rc;
    }
    /* /readyz: every service has a live instance. */
    json_t *missing = json_array();
    json_t *instances = json_object();
    for (int i = 0; gateway_services[i]; i++) {
        int count = sso_broker_instances(http->broker, gateway_services[i]);
        json_object_set_new(instances, gateway_services[i], json_integer(count));
        if (count == 0)
            json_array_append_new(missing, json_string(gateway_services[i]));
    }
    bool ready = json_array_size(missing) == 0;
    json_t *json = json_pack("{s:s, s:o, s:o}", "status", ready ? "ready" : "not_ready",
                             "instances", instances, "missing", missing);
    char *text = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    enum MHD_Result rc = s_send(request, ready ? 200 : 503, "application/json", text,
                                strlen(text), NULL);
    free(text);
    return rc;
}

static enum MHD_Result s_static(request_t *request, const char *method, const char *path)
{
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return s_send_405(request, "GET, HEAD");
    char *data = NULL;
    size_t len = 0;
    if (gateway_static_read(request->http->web_dir, path, &data, &len) != 0)
        return s_send_error(request, 404, "not_found", "no such file");
    /* Browsers revalidate each file (no-cache) and get a 304 without the bytes while it is
       unchanged: the portal's modules load from cache, and a deploy is seen at once. */
    char etag[GATEWAY_STATIC_ETAG_LEN + 1];
    gateway_static_etag(data, len, etag);
    Sso__Header tag = SSO__HEADER__INIT, cache = SSO__HEADER__INIT;
    tag.name = "ETag", tag.value = etag;
    cache.name = "Cache-Control", cache.value = "no-cache";
    Sso__Header *headers[] = {&tag, &cache};
    Sso__HttpResponse extra = SSO__HTTP_RESPONSE__INIT;
    extra.headers = headers;
    extra.n_headers = 2;
    const char *if_none_match = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                            "If-None-Match");
    bool fresh = gateway_static_not_modified(if_none_match, etag);
    enum MHD_Result rc = fresh ? s_send(request, 304, NULL, "", 0, &extra)
                               : s_send(request, 200, gateway_static_type(path), data, len,
                                        &extra);
    free(data);
    return rc;
}

static enum MHD_Result s_dispatch(request_t *request, const char *method, const char *path)
{
    if (request->too_large) {
        char text[128];
        snprintf(text, sizeof text, "the request body exceeds %d bytes",
                 request->http->config->max_body_bytes);
        return s_send_error(request, 413, "invalid_request", text);
    }
    if (request->over_budget)
        return s_send_over_budget(request);
    /* The ops listener has the operations endpoints only; with it, /metrics leaves the public
       one (which keeps the probes, for load balancers). */
    bool ops_here = request->route.kind == ROUTE_OPS
                 && (request->listener->ops || !request->http->ops_side.daemon
                     || strcmp(path, "/metrics") != 0);
    if (!ops_here && (request->listener->ops || request->route.kind == ROUTE_OPS))
        return s_send_error(request, 404, "not_found", "no such path");
    switch (request->route.kind) {
    case ROUTE_OPS:
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return s_send_405(request, "GET, HEAD");
        return s_ops(request, path);
    case ROUTE_PING:
        return s_send(request, 200, "application/json", "{\"service\":\"gateway\"}", 21, NULL);
    case ROUTE_STATIC:
        return s_static(request, method, path);
    case ROUTE_SERVICE:
        return s_forward(request, method, path);
    case ROUTE_NONE:
    default:
        return s_send_error(request, 404, "not_found", "no such path");
    }
}

static gateway_peer_t *s_peer(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* The address whose share of the body budget the request's bytes count in, kept with the
   request since its bytes may be given back after the connection is gone. */
static const char *s_budget_address(request_t *request)
{
    if (!*request->budget_address) {
        const char *address = gateway_limits_peer_address(request->peer);
        snprintf(request->budget_address, sizeof request->budget_address, "%s",
                 address ? address : "");
    }
    return *request->budget_address ? request->budget_address : NULL;
}

/* A first call: the request line and headers are in. */
static enum MHD_Result s_begin(listener_t *listener, struct MHD_Connection *connection,
                               const char *url, const char *method, void **con_cls)
{
    gateway_http_t *http = listener->http;
    request_t *request = calloc(1, sizeof *request);
    if (!request)
        return MHD_NO;
    request->http = http;
    request->listener = listener;
    request->peer = s_peer(connection);
    request->connection = connection;
    request->started_us = s_now_us();
    uint8_t raw[8];
    sso_random_bytes(raw, sizeof raw);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        request->request_id[2 * i] = hex[raw[i] >> 4];
        request->request_id[2 * i + 1] = hex[raw[i] & 15];
    }
    request->request_id[16] = '\0';
    snprintf(request->method, sizeof request->method, "%s", method);
    /* Only the access log reads request->path: it gets the path with any secret masked. */
    gateway_route_log_path(url, request->path, sizeof request->path);
    request->route = gateway_route(url);
    *con_cls = request;
    /* Headers in after the deadline, before the sweep got to the connection. */
    if (gateway_limits_late(http->limits, request->peer, sso_now_ms())) {
        gateway_limits_received(http->limits, request->peer);
        gateway_metrics_refused(http->metrics, GATEWAY_REFUSED_READ_TIMEOUT);
        return s_send(request, 408, "application/json", READ_TIMEOUT_ERROR,
                      sizeof READ_TIMEOUT_ERROR - 1, NULL);
    }
    gateway_limits_headers(http->limits, request->peer);
    const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    long declared = 0;
    if (length && (sso_parse_int(length, 0, 1L << 40, &declared) != 0
                   || declared > http->config->max_body_bytes))
        request->too_large = true;
    /* A declared body takes its share of the budget now, so it is refused before it is read. */
    else if (declared > 0) {
        if (gateway_limits_reserve(http->limits, s_budget_address(request), (size_t) declared)
            != 0) {
            gateway_limits_received(http->limits, request->peer);
            return s_send_over_budget(request);
        }
        request->reserved = (size_t) declared;
    }
    return MHD_YES;
}

/* A piece of the body. */
static enum MHD_Result s_take_body(request_t *request, const char *data, size_t size)
{
    gateway_http_t *http = request->http;
    if (request->too_large || request->over_budget)
        return MHD_YES; /* dropped; answered once the body is over */
    size_t len = request->body_len + size;
    if (len > (size_t) http->config->max_body_bytes) {
        request->too_large = true;
        s_drop_body(request);
        return MHD_YES;
    }
    if (len > request->reserved) {
        if (gateway_limits_reserve(http->limits, s_budget_address(request),
                                   len - request->reserved) != 0) {
            request->over_budget = true;
            s_drop_body(request);
            return MHD_YES;
        }
        request->reserved = len;
    }
    uint8_t *grown = realloc(request->body, len);
    if (!grown)
        return MHD_NO;
    memcpy(grown + request->body_len, data, size);
    request->body = grown;
    request->body_len = len;
    return MHD_YES;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    (void) version;
    listener_t *listener = cls;
    request_t *request = *con_cls;
    if (!request)
        return s_begin(listener, connection, url, method, con_cls);
    int state = atomic_load(&request->state);
    if (state == REQ_ANSWERED)
        return s_answer_from_bus(request);
    if (state == REQ_WAITING)
        return MHD_YES; /* spurious call while suspended */
    if (*upload_data_size) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        return s_take_body(request, upload_data, size);
    }
    gateway_limits_received(listener->http->limits, request->peer);
    return s_dispatch(request, method, url);
}

static void s_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                        enum MHD_RequestTerminationCode code)
{
    (void) connection;
    gateway_http_t *http = cls;
    request_t *request = *con_cls;
    if (!request)
        return;
    double seconds = (double) (s_now_us() - request->started_us) / 1e6;
    unsigned status = request->status_sent ? request->status_sent : 499;
    gateway_metrics_observe(http->metrics, request->route.label, status, seconds);
    /* The path only: query strings can carry codes and tokens. */
    if (sso_log_json()) {
        json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:I, s:s, s:b}", "type", "access",
                                 "request_id", request->request_id, "method", request->method,
                                 "path", request->path, "status", status, "duration_ms",
                                 seconds * 1000.0, "bytes", (json_int_t) request->bytes_sent,
                                 "route", request->route.label, "completed",
                                 code == MHD_REQUEST_TERMINATED_COMPLETED_OK);
        char *text = json_dumps(line, JSON_COMPACT);
        if (text)
            sso_log_raw(text);
        free(text);
        json_decref(line);
    }
    else if (http->access_log)
        sso_info("%s %s %u %.2fms %zu %s", request->method, request->path, status,
                 seconds * 1000.0, request->bytes_sent, request->request_id);
    if (request->response)
        sso__http_response__free_unpacked(request->response, NULL);
    if (request->on_bus)
        atomic_fetch_sub(&http->on_bus, 1);
    s_drop_body(request);
    gateway_limits_next(http->limits, request->peer, sso_now_ms());
    free(request);
    *con_cls = NULL;
}

/* ---- connection limits (gateway_limits) --------------------------------------------------- */

/* The key a connection is counted under: its address group (an IPv6 client's /64, which it
   may fill with connections otherwise), apart on the ops listener so that public clients
   cannot take the scraper's places. */
static void s_limits_key(const listener_t *listener, const struct sockaddr *addr, char *key,
                         size_t size)
{
    char text[INET6_ADDRSTRLEN], group[INET6_ADDRSTRLEN + 4] = "";
    s_address_text(addr, text, sizeof text);
    if (*text && sso_http_address_group(text, group, sizeof group) != 0)
        group[0] = '\0';
    snprintf(key, size, "%s%s", listener->ops ? "ops " : "", group);
}

/* MHD's accept policy: SSO_MAX_CONNECTIONS_PER_IP. Refused at accept, before a byte is read:
   accepting the connection to answer 429 would hand the address the very slot it may not
   have, for as long as it takes to send its headers. The count grows when MHD reports the
   connection started (s_connection), so with MHD's threads two accepting at once may each
   admit one more. */
static enum MHD_Result s_admit(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void) addrlen;
    listener_t *listener = cls;
    char key[INET6_ADDRSTRLEN + 4];
    s_limits_key(listener, addr, key, sizeof key);
    if (gateway_limits_admit(listener->http->limits, key) == 0)
        return MHD_YES;
    gateway_metrics_refused(listener->http->metrics, GATEWAY_REFUSED_PER_IP_LIMIT);
    return MHD_NO;
}

static void s_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                         enum MHD_ConnectionNotificationCode code)
{
    listener_t *listener = cls;
    gateway_limits_t *limits = listener->http->limits;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        gateway_limits_close(limits, (gateway_peer_t **) socket_context);
        return;
    }
    const union MHD_ConnectionInfo *addr =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    char key[INET6_ADDRSTRLEN + 4];
    s_limits_key(listener, addr ? addr->client_addr : NULL, key, sizeof key);
    if (fd)
        *socket_context = gateway_limits_open(limits, key, fd->connect_fd, sso_now_ms());
}

/* MHD's URI logger, called once a request line is in: the client is sending a request. */
static void *s_request_line(void *cls, const char *uri, struct MHD_Connection *connection)
{
    (void) uri;
    gateway_http_t *http = cls;
    gateway_limits_started(http->limits, s_peer(connection));
    return NULL;
}

/* The sweep's cut: past SSO_REQUEST_READ_TIMEOUT_MS. A connection still sending its headers
   or its body has had no answer from MHD, which answers only once the request is whole (a
   body too large or over budget too: s_take_body drops it and answers at its end): on plain
   HTTP the 408 is written here (MHD writes nothing to a connection reading a request, bar a
   100 Continue before the body). Then both directions are shut, so MHD reads the end and
   closes it. An idle kept-alive connection is just closed, as MHD's idle timeout would. */
static void s_cut(void *arg, int fd, gateway_cut_phase_t phase)
{
    gateway_http_t *http = arg;
    if ((phase == GATEWAY_CUT_HEADERS || phase == GATEWAY_CUT_BODY) && !http->tls_cert)
        (void) send(fd, http->cut_answer, http->cut_answer_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(fd, SHUT_RDWR);
    if (phase != GATEWAY_CUT_IDLE)
        gateway_metrics_refused(http->metrics, GATEWAY_REFUSED_READ_TIMEOUT);
}

static long s_min_wait(long a, long b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* The broker's hook: one turn of each daemon it runs (the public one without MHD threads, the
   ops one) and the read-deadline sweep; then how long it may wait. */
static long s_hook(void *arg, bool stopping)
{
    gateway_http_t *self = arg;
    long wait = -1;
    listener_t *listeners[] = {&self->public_side, &self->ops_side};
    for (size_t i = 0; i < 2; i++) {
        struct MHD_Daemon *daemon = listeners[i]->daemon;
        if (!daemon || (listeners[i] == &self->public_side && self->threads > 0))
            continue;
        MHD_run(daemon);
        MHD_UNSIGNED_LONG_LONG timeout = 0;
        if (MHD_get_timeout(daemon, &timeout) == MHD_YES)
            wait = s_min_wait(wait, timeout > 3600000 ? 3600000 : (long) timeout);
    }
    /* With MHD's threads, every answer the broker gave is theirs to write. */
    if (stopping && (self->threads > 0 || atomic_load(&self->on_bus) == 0))
        return -1;
    long next_deadline = -1;
    gateway_limits_sweep(self->limits, sso_now_ms(), s_cut, self, &next_deadline);
    wait = s_min_wait(wait, next_deadline);
    if (self->threads > 0)
        wait = s_min_wait(wait, SWEEP_TICK_MS);
    if (stopping && (wait < 0 || wait > STOP_POLL_MS))
        wait = STOP_POLL_MS;
    return wait;
}

int gateway_parse_addr(const char *addr, char *host, size_t host_size, unsigned *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return -1;
    const char *start = addr, *end = colon;
    if (*addr == '[') {
        if (colon[-1] != ']')
            return -1;
        start++;
        end--;
    }
    size_t len = (size_t) (end - start);
    if (len == 0 || len >= host_size)
        return -1;
    memcpy(host, start, len);
    host[len] = '\0';
    long value = 0;
    if (sso_parse_int(colon + 1, 1, 65535, &value) != 0)
        return -1;
    *port = (unsigned) value;
    return 0;
}

static char *s_read_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *data = calloc(1, 1024 * 1024);
    size_t got = data ? fread(data, 1, 1024 * 1024 - 1, file) : 0;
    fclose(file);
    if (data && got == 0) {
        free(data);
        return NULL;
    }
    return data;
}

/* Starts listener's daemon on addr (host:port) with flags and the extra options. */
static int s_listen(gateway_http_t *self, listener_t *listener, const char *name,
                    const char *addr, unsigned flags, struct MHD_OptionItem *options)
{
    char host[256];
    unsigned port = 0;
    if (gateway_parse_addr(addr, host, sizeof host, &port) != 0) {
        sso_error("%s must be host:port, got %s", name, addr);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV}, *found = NULL;
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", port);
    if (getaddrinfo(host, port_text, &hints, &found) != 0 || !found) {
        sso_error("cannot resolve %s", host);
        return -1;
    }
    if (found->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    listener->http = self;
    listener->daemon = MHD_start_daemon(
        flags, (uint16_t) port, s_admit, listener, s_access, listener, MHD_OPTION_SOCK_ADDR,
        found->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_NOTIFY_CONNECTION, s_connection, listener, MHD_OPTION_URI_LOG_CALLBACK,
        s_request_line, self, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HEADER_MEMORY_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) 4000, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned) 1, MHD_OPTION_ARRAY, options, MHD_OPTION_END);
    freeaddrinfo(found);
    if (!listener->daemon) {
        sso_error("cannot listen on %s", addr);
        return -1;
    }
    return 0;
}

static int s_epoll_fd(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

/* The fd the broker's loop waits on: the one daemon it runs, or an epoll of both. With MHD's
   own threads and no ops listener, an epoll of nothing: the hook then runs on its timer only,
   for the sweep. */
static int s_attach(gateway_http_t *self)
{
    int fds[2];
    size_t n_fds = 0;
    if (self->threads == 0)
        fds[n_fds++] = s_epoll_fd(self->public_side.daemon);
    if (self->ops_side.daemon)
        fds[n_fds++] = s_epoll_fd(self->ops_side.daemon);
    int fd = n_fds == 1 ? fds[0] : -1;
    if (n_fds != 1) {
        self->loop_fd = fd = epoll_create1(EPOLL_CLOEXEC);
        for (size_t i = 0; fd >= 0 && i < n_fds; i++) {
            struct epoll_event event = {.events = EPOLLIN, .data.fd = fds[i]};
            if (fds[i] < 0 || epoll_ctl(fd, EPOLL_CTL_ADD, fds[i], &event) != 0)
                fd = -1;
        }
    }
    return fd < 0 ? -1 : sso_broker_attach(self->broker, fd, s_hook, self);
}

gateway_http_t *gateway_http_new(const sso_config_t *config, sso_broker_t *broker,
                                 gateway_metrics_t *metrics, const char *web_dir)
{
    gateway_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop_fd = -1;
    self->config = config;
    self->broker = broker;
    self->metrics = metrics;
    self->web_dir = strdup(web_dir);
    self->limits = gateway_limits_new(config->max_connections_per_ip,
                                      config->request_read_timeout_ms,
                                      (size_t) config->max_body_bytes_in_flight,
                                      (size_t) config->max_body_bytes);
    if (!self->web_dir || !self->limits) {
        gateway_http_destroy(&self);
        return NULL;
    }
    self->access_log = config->access_log;
    char why[256];
    self->proxies = gateway_proxy_new(config->trusted_proxies, why, sizeof why);
    if (!self->proxies) {
        sso_error("%s", why);
        gateway_http_destroy(&self);
        return NULL;
    }
    int len = snprintf(self->cut_answer, sizeof self->cut_answer,
                       "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                       sizeof READ_TIMEOUT_ERROR - 1, READ_TIMEOUT_ERROR);
    self->cut_answer_len = len > 0 && (size_t) len < sizeof self->cut_answer ? (size_t) len : 0;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
    self->ops_side.ops = true;
    if (*config->ops_addr
        && s_listen(self, &self->ops_side, "SSO_OPS_ADDR", config->ops_addr, flags, none) != 0) {
        gateway_http_destroy(&self);
        return NULL;
    }
    if (*config->tls_cert) {
        self->tls_cert = s_read_file(config->tls_cert);
        self->tls_key = s_read_file(config->tls_key);
        if (!self->tls_cert || !self->tls_key) {
            sso_error("cannot read SSO_TLS_CERT or SSO_TLS_KEY");
            gateway_http_destroy(&self);
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    long threads = self->tls_cert ? 2 : 0;
    const char *threads_text = config->gateway_threads;
    if (threads_text && *threads_text && sso_parse_int(threads_text, 0, 64, &threads) != 0) {
        sso_error("SSO_GATEWAY_THREADS must be an integer from 0 to 64, got %s", threads_text);
        gateway_http_destroy(&self);
        return NULL;
    }
    self->threads = threads;
    if (threads > 0)
        flags |= MHD_USE_INTERNAL_POLLING_THREAD;
    /* Optional ones: a pool only above one thread (MHD warns otherwise), TLS when set. */
    struct MHD_OptionItem options[4];
    size_t n_options = 0;
    if (threads > 1)
        options[n_options++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                                       (intptr_t) threads, NULL};
    if (self->tls_cert) {
        options[n_options++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, self->tls_cert};
        options[n_options++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, self->tls_key};
    }
    options[n_options] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (s_listen(self, &self->public_side, "SSO_HTTP_ADDR", config->http_addr, flags, options)
        != 0) {
        gateway_http_destroy(&self);
        return NULL;
    }
    if (s_attach(self) != 0) {
        sso_error("cannot attach the HTTP server to the broker");
        gateway_http_destroy(&self);
        return NULL;
    }
    sso_info("listening on %s%s, %s", config->http_addr, self->tls_cert ? " (TLS)" : "",
             threads > 0 ? "own HTTP threads" : "HTTP on the broker's thread");
    if (self->ops_side.daemon)
        sso_info("operations endpoints on %s", config->ops_addr);
    return self;
}

void gateway_http_destroy(gateway_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_http_t *self = *self_p;
    /* MHD's own threads may still be writing the broker's last answers (503): give them a
       moment. On the broker's thread (threads == 0) they were written before it ended. */
    for (int i = 0; self->public_side.daemon && self->threads > 0 && i < 100
                    && atomic_load(&self->on_bus); i++)
        zclock_sleep(10);
    if (self->public_side.daemon)
        MHD_stop_daemon(self->public_side.daemon);
    if (self->ops_side.daemon)
        MHD_stop_daemon(self->ops_side.daemon);
    if (self->loop_fd >= 0)
        close(self->loop_fd);
    gateway_limits_destroy(&self->limits);
    gateway_proxy_destroy(&self->proxies);
    free(self->web_dir);
    free(self->tls_cert);
    free(self->tls_key);
    free(self);
    *self_p = NULL;
}

void gateway_http_test(bool verbose)
{
    (void) verbose;
    char host[64];
    unsigned port = 0;
    SSO_CHECK(gateway_parse_addr("127.0.0.1:8080", host, sizeof host, &port) == 0
              && !strcmp(host, "127.0.0.1") && port == 8080);
    SSO_CHECK(gateway_parse_addr("[::1]:9", host, sizeof host, &port) == 0 && !strcmp(host, "::1")
              && port == 9);
    SSO_CHECK(gateway_parse_addr("localhost", host, sizeof host, &port) == -1);
    SSO_CHECK(gateway_parse_addr("host:0", host, sizeof host, &port) == -1);
    SSO_CHECK(gateway_parse_addr("host:70000", host, sizeof host, &port) == -1);
    SSO_CHECK(gateway_parse_addr(":80", host, sizeof host, &port) == -1);

    /* SSO_MAX_CONNECTIONS_PER_IP counts an IPv6 client by its /64 (it may hold all 2^64 of
       them) and an IPv4-mapped one as its IPv4 address; the ops listener apart. */
    listener_t public_side = {.ops = false}, ops_side = {.ops = true};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6}, b6 = a6, c6 = a6, m6 = a6;
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    inet_pton(AF_INET6, "2001:db8:1:2::1", &a6.sin6_addr);
    inet_pton(AF_INET6, "2001:db8:1:2:ffff:ffff:ffff:fffe", &b6.sin6_addr);
    inet_pton(AF_INET6, "2001:db8:1:3::1", &c6.sin6_addr);
    inet_pton(AF_INET6, "::ffff:192.0.2.1", &m6.sin6_addr);
    inet_pton(AF_INET, "192.0.2.1", &a4.sin_addr);
    char a[INET6_ADDRSTRLEN + 4], b[INET6_ADDRSTRLEN + 4];
    s_limits_key(&public_side, (struct sockaddr *) &a6, a, sizeof a);
    s_limits_key(&public_side, (struct sockaddr *) &b6, b, sizeof b);
    SSO_CHECK(!strcmp(a, b) && !strcmp(a, "2001:db8:1:2::/64"));
    s_limits_key(&public_side, (struct sockaddr *) &c6, b, sizeof b);
    SSO_CHECK(strcmp(a, b) != 0);
    s_limits_key(&public_side, (struct sockaddr *) &m6, a, sizeof a);
    s_limits_key(&public_side, (struct sockaddr *) &a4, b, sizeof b);
    SSO_CHECK(!strcmp(a, b) && !strcmp(a, "192.0.2.1"));
    s_limits_key(&ops_side, (struct sockaddr *) &a4, b, sizeof b);
    SSO_CHECK(!strcmp(b, "ops 192.0.2.1"));
    s_limits_key(&public_side, NULL, b, sizeof b);
    SSO_CHECK(!strcmp(b, ""));
}
