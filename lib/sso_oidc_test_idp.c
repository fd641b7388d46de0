/* sso_oidc_test_idp: the stand-in provider of the self-tests. */
#include "sso_oidc_test_idp.h"
#include "sso_test.h"
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_ROUTES_MAX 48

typedef struct {
    char *path;
    char *reply; /* the whole HTTP answer */
    int delay_ms;
    int hits;
} s_route_t;

struct _sso_oidc_test_idp_t {
    int listener;
    char url[64];
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    bool stop;
    s_route_t routes[S_ROUTES_MAX];
    size_t n_routes;
};

static bool s_idp_stopping(sso_oidc_test_idp_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool stop = self->stop;
    pthread_mutex_unlock(&self->lock);
    return stop;
}

/* Reads a request's head from fd and answers it from the routes. */
static void s_idp_answer(sso_oidc_test_idp_t *self, int fd)
{
    char head[8192];
    sso_test_read_head(fd, head, sizeof head, 2000);
    char path[1024] = "";
    size_t method = !strncmp(head, "GET ", 4) ? 4 : !strncmp(head, "POST ", 5) ? 5 : 0;
    if (method)
        snprintf(path, sizeof path, "%.*s", (int) strcspn(head + method, " \r\n"),
                 head + method);
    char *reply = NULL;
    int delay_ms = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n_routes; i++)
        if (!strcmp(self->routes[i].path, path)) {
            self->routes[i].hits++;
            reply = strdup(self->routes[i].reply);
            delay_ms = self->routes[i].delay_ms;
        }
    pthread_mutex_unlock(&self->lock);
    for (int waited = 0; waited < delay_ms && !s_idp_stopping(self); waited += 10)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    const char *text = reply ? reply
                             : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    /* MSG_NOSIGNAL: a client that gave up must not kill the test with SIGPIPE. */
    for (size_t sent = 0, len = strlen(text); sent < len;) {
        ssize_t n = send(fd, text + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t) n;
    }
    free(reply);
    /* A POST's body is not read: drain it before the close, which would otherwise reset the
       connection under the answer. */
    shutdown(fd, SHUT_WR);
    char sink[4096];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (poll(&pfd, 1, 200) == 1 && recv(fd, sink, sizeof sink, 0) > 0)
        ;
}

static void *s_idp_serve(void *arg)
{
    sso_oidc_test_idp_t *self = arg;
    while (!s_idp_stopping(self)) {
        struct pollfd pfd = {.fd = self->listener, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int fd = accept(self->listener, NULL, NULL);
        if (fd < 0)
            continue;
        s_idp_answer(self, fd);
        close(fd);
    }
    return NULL;
}

sso_oidc_test_idp_t *sso_oidc_test_idp_new(void)
{
    sso_oidc_test_idp_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    int port = sso_test_listen(&self->listener);
    if (port < 0) {
        sso_oidc_test_idp_destroy(&self);
        return NULL;
    }
    snprintf(self->url, sizeof self->url, "http://127.0.0.1:%d", port);
    if (pthread_create(&self->thread, NULL, s_idp_serve, self) != 0) {
        sso_oidc_test_idp_destroy(&self);
        return NULL;
    }
    self->running = true;
    return self;
}

void sso_oidc_test_idp_destroy(sso_oidc_test_idp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_oidc_test_idp_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_mutex_unlock(&self->lock);
    if (self->running)
        pthread_join(self->thread, NULL);
    if (self->listener >= 0)
        close(self->listener);
    for (size_t i = 0; i < self->n_routes; i++) {
        free(self->routes[i].path);
        free(self->routes[i].reply);
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

const char *sso_oidc_test_idp_url(const sso_oidc_test_idp_t *self)
{
    return self->url;
}

int sso_oidc_test_idp_route(sso_oidc_test_idp_t *self, const char *path, int status,
                            const char *headers, const char *body, int delay_ms)
{
    size_t size = strlen(body) + (headers ? strlen(headers) : 0) + 128;
    char *reply = malloc(size), *key = strdup(path);
    if (!reply || !key) {
        free(reply);
        free(key);
        return -1;
    }
    snprintf(reply, size, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
             status, strlen(body), headers ? headers : "", body);
    pthread_mutex_lock(&self->lock);
    s_route_t *route = NULL;
    for (size_t i = 0; i < self->n_routes && !route; i++)
        if (!strcmp(self->routes[i].path, path))
            route = &self->routes[i];
    if (!route && self->n_routes < S_ROUTES_MAX)
        route = &self->routes[self->n_routes++];
    if (route) {
        free(route->path);
        free(route->reply);
        *route = (s_route_t){.path = key, .reply = reply, .delay_ms = delay_ms};
    }
    pthread_mutex_unlock(&self->lock);
    if (!route) {
        free(reply);
        free(key);
        return -1;
    }
    return 0;
}

int sso_oidc_test_idp_hits(sso_oidc_test_idp_t *self, const char *path)
{
    int hits = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n_routes; i++)
        if (!strcmp(self->routes[i].path, path))
            hits = self->routes[i].hits;
    pthread_mutex_unlock(&self->lock);
    return hits;
}

char *sso_oidc_test_idp_discovery(const char *issuer)
{
    json_t *doc = json_pack(
        "{s:s, s:s+, s:s+, s:s+, s:s+, s:[s], s:[s], s:[s, s], s:[s], s:[s, s], s:[s]}",
        "issuer", issuer, "authorization_endpoint", issuer, "/authorize", "token_endpoint",
        issuer, "/token", "jwks_uri", issuer, "/jwks", "userinfo_endpoint", issuer, "/userinfo",
        "response_types_supported", "code", "id_token_signing_alg_values_supported", "RS256",
        "token_endpoint_auth_methods_supported", "client_secret_basic", "client_secret_post",
        "code_challenge_methods_supported", "S256", "response_modes_supported", "query",
        "form_post", "subject_types_supported", "public");
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

int sso_oidc_test_idp_provider(sso_oidc_test_idp_t *self, const char *prefix, char *issuer,
                               size_t issuer_size)
{
    char path[512];
    snprintf(issuer, issuer_size, "%s%s", self->url, prefix);
    char *doc = sso_oidc_test_idp_discovery(issuer);
    snprintf(path, sizeof path, "%s/.well-known/openid-configuration", prefix);
    int rc = doc ? sso_oidc_test_idp_route(self, path, 200, "Content-Type: application/json\r\n",
                                           doc, 0)
                 : -1;
    snprintf(path, sizeof path, "%s/jwks", prefix);
    if (rc == 0)
        rc = sso_oidc_test_idp_route(self, path, 200, "Content-Type: application/json\r\n",
                                     "{\"keys\":[]}", 0);
    free(doc);
    return rc;
}
