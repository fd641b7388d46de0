/* token_testkit: the token service on the real directory's bus, for its self-tests. */
#include "token_testkit.h"
#include "saml.pb-c.h"
#include "sso_bus.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "token_keys.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>

#define S_VERIFIER_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" /* RFC 7636 B */

/* ---- the saml and oidc services' starts -------------------------------------------------- */

static zframe_t *s_start_answer(token_testkit_t *self, const char *target, sso_job_t *job)
{
    Sso__UpstreamStartRequest *request = sso__upstream_start_request__unpack(
        NULL, zframe_size(job->payload), zframe_data(job->payload));
    Sso__UpstreamStartReply reply = SSO__UPSTREAM_START_REPLY__INIT;
    const Sso__Transaction *txn = request ? request->txn : NULL;
    char url[256];
    pthread_mutex_lock(&self->lock);
    self->starts++;
    snprintf(self->start_target, sizeof self->start_target, "%s", target);
    sso__upstream_start_request__free_unpacked(self->start, NULL);
    self->start = request;
    snprintf(url, sizeof url, "https://idp.test/%s?RelayState=%s", target, txn ? txn->id : "");
    /* The request's handle the directory made with the transaction. */
    snprintf(self->start_request_id, sizeof self->start_request_id, "%s",
             !txn ? "" : !strcmp(target, "oidc") ? txn->oidc_state : txn->saml_request_id);
    if (self->start_error) {
        reply.error = sso_rpc_error_of(self->start_error);
        reply.error_description = "the IdP metadata could not be used";
    }
    else
        reply.redirect_url = url;
    pthread_mutex_unlock(&self->lock);
    return sso_frame_pack(&reply.base);
}

static void *s_upstream_serve(void *arg)
{
    token_testkit_t *self = arg;
    const char *targets[2] = {"saml", "oidc"};
    sso_worker_t *workers[2];
    for (int i = 0; i < 2; i++)
        workers[i] = sso_worker_new(dir_fake_endpoint(self->dir), dir_fake_keys(self->dir),
                                    targets[i], 1);
    bool stop = !workers[0] || !workers[1];
    while (!stop) {
        struct pollfd items[3] = {{self->upstream_stop[0], POLLIN, 0}};
        int64_t wake = INT64_MAX;
        for (int i = 0; i < 2; i++) {
            sso_job_t job;
            int got;
            while ((got = sso_worker_try_recv(workers[i], &job)) == 1) {
                zframe_t *reply = s_start_answer(self, targets[i], &job);
                sso_worker_reply(workers[i], &job, &reply);
            }
            stop |= got == -1;
            items[1 + i] = (struct pollfd){sso_worker_fd(workers[i]), POLLIN, 0};
            int64_t at = sso_worker_wake_at(workers[i]);
            wake = at < wake ? at : wake;
        }
        long wait = (long) (wake - sso_now_ms());
        if (poll(items, 3, wait < 0 ? 0 : (int) (wait > 1000 ? 1000 : wait)) == -1
            && errno != EINTR)
            break;
        stop |= (items[0].revents & POLLIN) != 0;
    }
    for (int i = 0; i < 2; i++)
        sso_worker_destroy(&workers[i]);
    return NULL;
}

int token_testkit_upstreams(token_testkit_t *self, bool serving)
{
    if (serving == self->upstream_serving)
        return 0;
    if (serving) {
        if (pthread_create(&self->upstream, NULL, s_upstream_serve, self) != 0)
            return -1;
    }
    else {
        if (write(self->upstream_stop[1], "", 1) != 1)
            return -1;
        pthread_join(self->upstream, NULL);
        char byte;
        while (read(self->upstream_stop[0], &byte, 1) == 1)
            ;
    }
    self->upstream_serving = serving;
    /* Registered with the broker (or forgotten by it) before the next call is made. */
    int want = serving ? 1 : 0;
    for (int i = 0; i < 300 && (dir_fake_instances(self->dir, "saml") != want
                                || dir_fake_instances(self->dir, "oidc") != want);
         i++)
        zclock_sleep(10);
    return dir_fake_instances(self->dir, "saml") == want
                   && dir_fake_instances(self->dir, "oidc") == want
               ? 0
               : -1;
}

/* ---- placeholders ------------------------------------------------------------------------ */

const char *token_testkit_expand(token_testkit_t *self, const char *text)
{
    if (!text || !strchr(text, '{'))
        return text;
    if (self->n_expanded == TOKEN_TESTKIT_EXPANDED_MAX) {
        SSO_CHECK(!"token_testkit: too many placeholders expanded; raise the limit");
        return text;
    }
    const dir_fake_t *dir = self->dir;
    const char *names[] = {"{client}", "{secret}", "{locked}", "{admin}", "{admin_secret}",
                           "{mgmt}", "{org_saml}", "{conn_saml}", "{org_two}", "{org_oidc}",
                           "{conn_oidc}", "{org_off}", "{conn_off}", "{code_full}", "{code_pkce}",
                           "{code_bare}", "{code_long}", "{code_ascii}"};
    const char *values[] = {dir->client_id, dir->client_secret, dir->locked_id, dir->admin_id,
                            dir->admin_secret, dir->mgmt_token, dir->org_saml, dir->conn_saml,
                            dir->org_two, dir->org_oidc, dir->conn_oidc, dir->org_off,
                            dir->conn_off,
                            self->codes[0], self->codes[1], self->codes[2], self->codes[3],
                            self->codes[4]};
    size_t size = strlen(text) * 4 + 1024, len = 0;
    char *out = malloc(size);
    if (!out)
        return text;
    for (const char *at = text; *at;) {
        size_t i = 0, n = sizeof names / sizeof *names;
        while (i < n && strncmp(at, names[i], strlen(names[i])) != 0)
            i++;
        const char *piece = i < n ? values[i] : at;
        size_t piece_len = i < n ? strlen(values[i]) : 1;
        if (len + piece_len + 1 > size) {
            free(out);
            return text;
        }
        memcpy(out + len, piece, piece_len);
        len += piece_len;
        at += i < n ? strlen(names[i]) : 1;
    }
    out[len] = '\0';
    self->expanded[self->n_expanded++] = out;
    return out;
}

/* ---- opening ----------------------------------------------------------------------------- */

/* A signing key made a minute ago, as a deployment that has run for a while holds one (a
   rotation then orders the keys by when they were made). One key pair for every kit of the
   process: making one is most of the cost of opening a kit. */
static int s_first_key(token_testkit_t *self)
{
    static char *pem, *jwk, *kid;
    if (!kid && sso_jose_signing_key_new(&pem, &jwk, &kid) != 0)
        return -1;
    Sso__SigningKey key = SSO__SIGNING_KEY__INIT;
    key.kid = kid;
    key.private_key_pem = pem;
    key.public_jwk_json = jwk;
    key.created_at = key.active_from = sso_now_ms() / 1000 - 60;
    return dir_fake_signing_key_put(self->dir, &key);
}

/* The codes of token_testkit.h, through the directory. */
static int s_codes(token_testkit_t *self)
{
    static char *groups[] = {"engineering", "admins"};
    char long_subject[260];
    memset(long_subject, 'x', sizeof long_subject - 1);
    long_subject[sizeof long_subject - 1] = '\0';
    const char *subjects[] = {"user-42@idp", "user-42@idp", "user-42@idp", long_subject,
                              "zo\xc3\xab"};
    for (int i = 0; i < 5; i++) {
        bool full = i < 2;
        Sso__Profile profile = SSO__PROFILE__INIT;
        profile.subject = (char *) subjects[i];
        profile.email = "jane@example.com";
        profile.email_verified = true;
        profile.name = "Jane Doe";
        profile.given_name = "Jane";
        profile.family_name = full ? "Doe" : "";
        profile.groups = full ? groups : NULL;
        profile.n_groups = full ? 2 : 0;
        self->codes[i] = dir_fake_code(self->dir, full ? "n-123" : "",
                                       i == 1 ? S_VERIFIER_CHALLENGE : "", &profile);
        if (!self->codes[i])
            return -1;
    }
    return 0;
}

int token_testkit_open(token_testkit_t *self)
{
    memset(self, 0, sizeof *self);
    self->upstream_stop[0] = self->upstream_stop[1] = -1;
    pthread_mutex_init(&self->lock, NULL);
    snprintf(self->config.public_url, sizeof self->config.public_url, "https://sso.test");
    self->config.request_timeout_ms = TOKEN_TESTKIT_DEADLINE_MS;
    self->service.config = &self->config;
    self->service.state = &self->state;
    self->service.instance = "test:1";
    if (!(self->dir = dir_fake_new())) /* counted by dir_fake_new */
        return -1;
    self->service.client = sso_client_new(dir_fake_endpoint(self->dir),
                                          dir_fake_keys(self->dir), "token", NULL);
    bool ready = self->service.client && (self->state.keys = token_keys_new()) != NULL
                 && s_first_key(self) == 0 && s_codes(self) == 0
                 && pipe2(self->upstream_stop, O_CLOEXEC | O_NONBLOCK) == 0
                 && token_testkit_upstreams(self, true) == 0;
    if (!ready) {
        SSO_CHECK(!"token_testkit");
        token_testkit_close(self);
        return -1;
    }
    return 0;
}

void token_testkit_close(token_testkit_t *self)
{
    if (self->upstream_serving)
        token_testkit_upstreams(self, false);
    for (int i = 0; i < 2; i++)
        if (self->upstream_stop[i] != -1)
            close(self->upstream_stop[i]);
    sso_client_destroy(&self->service.client);
    dir_fake_destroy(&self->dir);
    token_keys_destroy(&self->state.keys);
    sso__upstream_start_request__free_unpacked(self->start, NULL);
    for (size_t i = 0; i < sizeof self->codes / sizeof *self->codes; i++)
        free(self->codes[i]);
    for (size_t i = 0; i < self->n_expanded; i++)
        free(self->expanded[i]);
    pthread_mutex_destroy(&self->lock);
    memset(self, 0, sizeof *self);
}

void token_testkit_run(void (*test)(token_testkit_t *kit))
{
    token_testkit_t kit;
    if (token_testkit_open(&kit) != 0)
        return;
    test(&kit);
    token_testkit_close(&kit);
}

/* ---- requests ---------------------------------------------------------------------------- */

Sso__HttpResponse *token_testkit_http(token_testkit_t *self, const char *method,
                                      const char *path, const char *query, const char *body,
                                      ...)
{
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header headers[8];
    Sso__Header *header_ptrs[8];
    va_list args;
    va_start(args, body);
    size_t n = 0;
    const char *name;
    while (n < 8 && (name = va_arg(args, const char *)) != NULL) {
        sso__header__init(&headers[n]);
        headers[n].name = (char *) name;
        headers[n].value = (char *) token_testkit_expand(self, va_arg(args, char *));
        header_ptrs[n] = &headers[n];
        n++;
    }
    va_end(args);
    body = token_testkit_expand(self, body);
    request.method = (char *) method;
    request.path = (char *) path;
    request.query = (char *) (query ? token_testkit_expand(self, query) : "");
    request.headers = header_ptrs;
    request.n_headers = n;
    request.body.data = (uint8_t *) body;
    request.body.len = body ? strlen(body) : 0;
    request.remote_addr = "127.0.0.1";
    /* As the worker would hand it over: after a trip through protobuf. */
    zframe_t *packed = sso_frame_pack(&request.base);
    Sso__HttpRequest *copy =
        packed ? sso__http_request__unpack(NULL, zframe_size(packed), zframe_data(packed)) : NULL;
    zframe_destroy(&packed);
    zframe_t *frame = copy ? token_http(&self->service, copy, NULL) : NULL;
    sso__http_request__free_unpacked(copy, NULL);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    return response;
}

const char *token_testkit_header(const Sso__HttpResponse *response, const char *name)
{
    for (size_t i = 0; response && i < response->n_headers; i++)
        if (!strcasecmp(response->headers[i]->name, name))
            return response->headers[i]->value;
    return NULL;
}

bool token_testkit_body_has(token_testkit_t *self, const Sso__HttpResponse *response,
                            const char *text)
{
    text = token_testkit_expand(self, text);
    /* An empty body has no data pointer, which memmem may not be given. */
    return response && response->body.len
           && memmem(response->body.data, response->body.len, text, strlen(text));
}

zhashx_t *token_testkit_location(const Sso__HttpResponse *response)
{
    const char *location = token_testkit_header(response, "Location");
    const char *query = location ? strchr(location, '?') : NULL;
    return query ? sso_form_parse(query + 1, strlen(query + 1)) : NULL;
}

json_t *token_testkit_json(const Sso__HttpResponse *response)
{
    return response ? json_loadb((const char *) response->body.data, response->body.len,
                                 JSON_REJECT_DUPLICATES, NULL)
                    : NULL;
}

char *token_testkit_jwks(token_testkit_t *self)
{
    Sso__HttpResponse *response = token_testkit_http(self, "GET", "/keys", NULL, NULL, NULL);
    char *jwks = response && response->status == 200
                     ? strndup((const char *) response->body.data, response->body.len)
                     : NULL;
    sso__http_response__free_unpacked(response, NULL);
    return jwks;
}

Sso__Transaction *token_testkit_txn(token_testkit_t *self)
{
    pthread_mutex_lock(&self->lock);
    char id[128] = "";
    if (self->start)
        snprintf(id, sizeof id, "%s", self->start->txn ? self->start->txn->id : "");
    pthread_mutex_unlock(&self->lock);
    return *id ? dir_fake_txn(self->dir, id) : NULL;
}

/* ---- self-test --------------------------------------------------------------------------- */

void token_testkit_test(bool verbose)
{
    (void) verbose;
    token_testkit_t kit;
    if (token_testkit_open(&kit) != 0)
        return;
    /* The service publishes the key the directory holds. */
    char *jwks = token_testkit_jwks(&kit);
    Sso__KeysListReply *keys = dir_fake_signing_keys(kit.dir);
    SSO_CHECK(jwks && keys && keys->n_keys == 1 && strstr(jwks, keys->keys[0]->kid));
    sso__keys_list_reply__free_unpacked(keys, NULL);
    free(jwks);
    /* Placeholders: every one known is replaced, the rest left as they are. */
    char expected[300];
    snprintf(expected, sizeof expected, "a=%s&b={nope}&c=%s", kit.dir->client_id,
             kit.dir->conn_off);
    SSO_CHECK(!strcmp(token_testkit_expand(&kit, "a={client}&b={nope}&c={conn_off}"), expected));
    SSO_CHECK(token_testkit_expand(&kit, NULL) == NULL);
    /* The directory off the bus: a dead bus to the service (a fresh key cache must ask). */
    SSO_CHECK(dir_fake_stop(kit.dir) == 0);
    token_keys_destroy(&kit.state.keys);
    kit.state.keys = token_keys_new();
    Sso__HttpResponse *response = token_testkit_http(&kit, "GET", "/keys", NULL, NULL, NULL);
    SSO_CHECK(response && response->status == 503);
    sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(dir_fake_start(kit.dir) == 0);
    token_testkit_close(&kit);
}
