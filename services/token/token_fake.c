#include "token_fake.h"
#include "sso_bus.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include "token_keys.h"
#include <stdarg.h>
#include <strings.h>

static token_fake_t *s_fake;

/* Round trip through protobuf, as the bus would: a copy the caller frees with
   protobuf_c_message_free_unpacked (or the type's own free). */
static void *s_roundtrip(const ProtobufCMessage *message)
{
    zframe_t *frame = sso_frame_pack(message);
    void *copy = frame ? protobuf_c_message_unpack(message->descriptor, NULL, zframe_size(frame),
                                                   zframe_data(frame))
                       : NULL;
    zframe_destroy(&frame);
    return copy;
}
#define S_ROUNDTRIP(type, lower, message) ((type *) s_roundtrip(&(message)->base))

static const char *s_groups[] = {"engineering", "admins"};

static void s_connection(Sso__Connection *conn, const char *id)
{
    static char *domains[] = {"example.com"};
    sso__connection__init(conn);
    conn->id = (char *) id;
    conn->organization_id = !strcmp(id, "conn_oidc") ? "org_oidc" : "org_1";
    conn->organization_name = "Test Organization";
    conn->type = !strcmp(id, "conn_oidc") ? "oidc" : "saml";
    conn->status = !strcmp(id, "conn_off") ? "inactive" : "active";
    conn->organization_domains = domains;
    conn->n_organization_domains = 1;
    conn->idp_sso_url = "https://idp.test/sso";
    conn->sp_private_key_pem = "not a real key";
}

static bool s_redeemed(const char *code)
{
    for (size_t i = 0; i < s_fake->n_redeemed; i++)
        if (!strcmp(s_fake->redeemed[i], code))
            return true;
    return false;
}

static void s_error(Sso__DirReply *reply, const char *error, const char *description)
{
    reply->error = (char *) error;
    reply->error_description = (char *) description;
}

/* cli_locked is locked out after failed authentications, for 7 s more (see token_fake.h). */
static bool s_locked(const char *client_id, Sso__DirReply *reply)
{
    if (strcmp(client_id, "cli_locked") != 0)
        return false;
    s_error(reply, "too_many_requests", "too many failed client authentications; retry after 7 s");
    reply->retry_after = 7;
    return true;
}

/* The grant of one of the fake's codes (see token_fake.h). */
static void s_grant(const char *code, Sso__CodeGrant *grant, Sso__Profile *profile)
{
    bool full = !strcmp(code, "code-full");
    profile->subject = "user-42@idp";
    if (!strcmp(code, "code-long")) {
        static char long_subject[260];
        memset(long_subject, 'x', sizeof long_subject - 1);
        profile->subject = long_subject;
    }
    else if (!strcmp(code, "code-ascii"))
        profile->subject = "zo\xc3\xab";
    profile->email = "jane@example.com";
    profile->email_verified = true;
    profile->name = "Jane Doe";
    profile->given_name = "Jane";
    profile->family_name = full ? "Doe" : "";
    profile->groups = full ? (char **) s_groups : NULL;
    profile->n_groups = full ? 2 : 0;
    grant->client_id = "cli_app";
    grant->nonce = full ? "n-123" : "";
    grant->scope = "openid profile";
    grant->auth_time = 1700000000;
    grant->connection_id = "conn_saml";
    grant->connection_type = "saml";
    grant->organization_id = "org_1";
    grant->profile = profile;
    grant->code_hash = "hash-of-code";
}

/* Hands out at_<n> for a code's grant (code) or for stored claims; NULL when full. */
static const char *s_token_add(const char *code, const char *claims_json, const char *scope)
{
    size_t n = s_fake->n_tokens;
    if (n == TOKEN_FAKE_MAX)
        return NULL;
    char name[32];
    snprintf(name, sizeof name, "at_%zu", n);
    s_fake->tokens[n] = strdup(name);
    s_fake->token_code[n] = code ? strdup(code) : NULL;
    s_fake->token_claims[n] = strdup(claims_json ? claims_json : "");
    s_fake->token_scope[n] = strdup(scope);
    s_fake->n_tokens++;
    return s_fake->tokens[n];
}

/* The fake's two clients and their secrets. */
static bool s_client_ok(const char *client_id, const char *secret)
{
    return (!strcmp(client_id, "cli_app") && !strcmp(secret, "app-secret"))
           || (!strcmp(client_id, "admin") && !strcmp(secret, "admin-secret"));
}

/* Fills reply for request; strings it points to live in static storage or in request. */
static void s_dispatch(const Sso__DirRequest *request, Sso__DirReply *reply,
                       Sso__Connection *conn, Sso__ClientGetReply *client,
                       Sso__ClientAuthReply *auth, Sso__CodeGrant *grant, Sso__Profile *profile,
                       Sso__TokenIssueReply *issued, Sso__AccessTokenClaims *claims,
                       Sso__BearerCheckReply *bearer, Sso__KeysListReply *keys)
{
    static char *uris[] = {"https://app.test/callback", "https://app.test/cb?x=1"};
    switch (request->op_case) {
    case SSO__DIR_REQUEST__OP_CLIENT_GET:
        if (strcmp(request->client_get->client_id, "cli_app") != 0) {
            s_error(reply, "not_found", "no client with that client_id");
            break;
        }
        client->client_id = "cli_app";
        client->name = "App";
        client->redirect_uris = uris;
        client->n_redirect_uris = 2;
        reply->result_case = SSO__DIR_REPLY__RESULT_CLIENT;
        reply->client = client;
        break;
    case SSO__DIR_REQUEST__OP_CLIENT_AUTH: {
        const Sso__ClientAuthRequest *check = request->client_auth;
        if (s_locked(check->client_id, reply))
            break;
        auth->ok = s_client_ok(check->client_id, check->client_secret);
        auth->is_admin = auth->ok && !strcmp(check->client_id, "admin");
        auth->client_id = check->client_id;
        reply->result_case = SSO__DIR_REPLY__RESULT_CLIENT_AUTH;
        reply->client_auth = auth;
        break;
    }
    case SSO__DIR_REQUEST__OP_CONNECTION_RESOLVE: {
        const Sso__ConnectionResolveRequest *resolve = request->connection_resolve;
        const char *id = NULL, *domain = resolve->domain;
        if (!*domain && strchr(resolve->email, '@'))
            domain = strchr(resolve->email, '@') + 1;
        if (*resolve->connection_id) {
            if (!strcmp(resolve->connection_id, "conn_off"))
                s_error(reply, "connection_inactive", "");
            else if (!strcmp(resolve->connection_id, "conn_saml")
                     || !strcmp(resolve->connection_id, "conn_oidc"))
                id = resolve->connection_id;
            else
                s_error(reply, "not_found", "");
        }
        else if (*resolve->organization_id) {
            if (!strcmp(resolve->organization_id, "org_1"))
                id = "conn_saml";
            else if (!strcmp(resolve->organization_id, "org_two"))
                s_error(reply, "ambiguous_connection", "");
            else
                s_error(reply, "not_found", "");
        }
        else if (!strcmp(domain, "example.com"))
            id = "conn_saml";
        else if (!strcmp(domain, "oidc.example"))
            id = "conn_oidc";
        else if (!strcmp(domain, "inactive.example"))
            s_error(reply, "connection_inactive", "connection conn_dir is not active");
        else
            s_error(reply, "no_organization", "");
        if (id) {
            s_connection(conn, id);
            reply->result_case = SSO__DIR_REPLY__RESULT_CONNECTION;
            reply->connection = conn;
        }
        break;
    }
    case SSO__DIR_REQUEST__OP_TXN_CREATE:
        sso__transaction__free_unpacked(s_fake->txn, NULL);
        s_fake->txn = S_ROUNDTRIP(Sso__Transaction, sso__transaction, request->txn_create);
        reply->result_case = SSO__DIR_REPLY__RESULT_TXN;
        reply->txn = request->txn_create;
        break;
    case SSO__DIR_REQUEST__OP_CODE_REDEEM: {
        const Sso__CodeRedeemRequest *redeem = request->code_redeem;
        sso__code_redeem_request__free_unpacked(s_fake->redeem, NULL);
        s_fake->redeem = S_ROUNDTRIP(Sso__CodeRedeemRequest, sso__code_redeem_request, redeem);
        /* As the directory: the client first, always (an empty secret fails), then the
           code. */
        if (s_locked(redeem->client_id, reply))
            break;
        if (!s_client_ok(redeem->client_id, redeem->client_secret)) {
            s_error(reply, "invalid_client", "client authentication failed");
            break;
        }
        bool known = !strcmp(redeem->code, "code-full") || !strcmp(redeem->code, "code-bare")
                     || !strcmp(redeem->code, "code-long")
                     || !strcmp(redeem->code, "code-ascii");
        if (!known || s_redeemed(redeem->code)) {
            s_error(reply, "invalid_grant", "the code is unknown, expired or already used");
            break;
        }
        if (s_fake->n_redeemed < TOKEN_FAKE_MAX)
            s_fake->redeemed[s_fake->n_redeemed++] = strdup(redeem->code);
        if (strcmp(redeem->client_id, "cli_app") != 0
            || strcmp(redeem->redirect_uri, "https://app.test/callback") != 0) {
            s_error(reply, "invalid_grant", "the code was issued to another client or "
                                            "redirect_uri");
            break;
        }
        s_grant(redeem->code, grant, profile);
        if (redeem->access_token_ttl > 0) {
            const char *token = s_token_add(redeem->code, NULL, grant->scope);
            if (!token) {
                s_error(reply, "server_error", "full");
                break;
            }
            grant->access_token = (char *) token;
            grant->expires_in = redeem->access_token_ttl;
        }
        reply->result_case = SSO__DIR_REPLY__RESULT_GRANT;
        reply->grant = grant;
        break;
    }
    case SSO__DIR_REQUEST__OP_TOKEN_ISSUE: {
        sso__token_issue_request__free_unpacked(s_fake->issue, NULL);
        s_fake->issue = S_ROUNDTRIP(Sso__TokenIssueRequest, sso__token_issue_request,
                                    request->token_issue);
        const char *token = s_token_add(NULL, request->token_issue->claims_json,
                                        request->token_issue->scope);
        if (!token) {
            s_error(reply, "server_error", "full");
            break;
        }
        issued->access_token = (char *) token;
        issued->expires_in = request->token_issue->ttl_seconds;
        reply->result_case = SSO__DIR_REPLY__RESULT_TOKEN_ISSUE;
        reply->token_issue = issued;
        break;
    }
    case SSO__DIR_REQUEST__OP_ACCESS_TOKEN_CHECK:
        s_error(reply, "not_found", "the access token is not valid");
        for (size_t i = 0; i < s_fake->n_tokens; i++)
            if (!strcmp(s_fake->tokens[i], request->access_token_check->access_token)) {
                s_error(reply, "", "");
                claims->client_id = "cli_app";
                claims->scope = s_fake->token_scope[i];
                claims->claims_json = s_fake->token_claims[i];
                if (s_fake->token_code[i]) {
                    s_grant(s_fake->token_code[i], grant, profile);
                    claims->grant = grant;
                }
                reply->result_case = SSO__DIR_REPLY__RESULT_CLAIMS;
                reply->claims = claims;
            }
        break;
    case SSO__DIR_REQUEST__OP_BEARER_CHECK:
        bearer->ok = !strcmp(request->bearer_check->access_token, "mgmt-token");
        bearer->client_id = bearer->ok ? "admin" : "";
        reply->result_case = SSO__DIR_REPLY__RESULT_BEARER;
        reply->bearer = bearer;
        break;
    case SSO__DIR_REQUEST__OP_KEY_PUT: {
        /* As the directory: a put with an existing kid and no key only sets retire_after. */
        const Sso__SigningKey *sent = request->key_put->key;
        bool retired = false;
        for (size_t i = 0; sent && !*sent->private_key_pem && i < s_fake->n_keys; i++)
            if (!strcmp(s_fake->keys[i]->kid, sent->kid)) {
                s_fake->keys[i]->retire_after = sent->retire_after;
                retired = true;
            }
        if (retired) {
            keys->keys = s_fake->keys;
            keys->n_keys = s_fake->n_keys;
            reply->result_case = SSO__DIR_REPLY__RESULT_KEYS_LIST;
            reply->keys_list = keys;
            break;
        }
        sso__signing_key__free_unpacked(s_fake->put, NULL);
        s_fake->put = S_ROUNDTRIP(Sso__SigningKey, sso__signing_key, request->key_put->key);
        if (s_fake->n_keys < TOKEN_FAKE_MAX
            && (!request->key_put->only_if_none || s_fake->n_keys == 0))
            s_fake->keys[s_fake->n_keys++] = S_ROUNDTRIP(Sso__SigningKey, sso__signing_key,
                                                         request->key_put->key);
        /* The reply to key_put is the resulting list. */
        keys->keys = s_fake->keys;
        keys->n_keys = s_fake->n_keys;
        reply->result_case = SSO__DIR_REPLY__RESULT_KEYS_LIST;
        reply->keys_list = keys;
        break;
    }
    case SSO__DIR_REQUEST__OP_KEYS_LIST:
        keys->keys = s_fake->keys;
        keys->n_keys = s_fake->n_keys;
        reply->result_case = SSO__DIR_REPLY__RESULT_KEYS_LIST;
        reply->keys_list = keys;
        break;
    case SSO__DIR_REQUEST__OP_AUTHORIZE_LOOKUP: {
        /* As the directory: each part through the single operation, its error kept apart. */
        static Sso__AuthorizeLookupReply lookup;
        sso__authorize_lookup_reply__init(&lookup);
        Sso__DirRequest part = SSO__DIR_REQUEST__INIT;
        Sso__DirReply got = SSO__DIR_REPLY__INIT;
        part.op_case = SSO__DIR_REQUEST__OP_CLIENT_GET;
        part.client_get = request->authorize_lookup->client;
        s_dispatch(&part, &got, conn, client, auth, grant, profile, issued, claims, bearer, keys);
        lookup.client = got.result_case == SSO__DIR_REPLY__RESULT_CLIENT ? got.client : NULL;
        lookup.client_error = got.error;
        lookup.client_error_description = got.error_description;
        if (lookup.client && request->authorize_lookup->resolve) {
            sso__dir_reply__init(&got);
            part.op_case = SSO__DIR_REQUEST__OP_CONNECTION_RESOLVE;
            part.connection_resolve = request->authorize_lookup->resolve;
            s_dispatch(&part, &got, conn, client, auth, grant, profile, issued, claims, bearer,
                       keys);
            lookup.connection =
                got.result_case == SSO__DIR_REPLY__RESULT_CONNECTION ? got.connection : NULL;
            lookup.resolve_error = got.error;
            lookup.resolve_error_description = got.error_description;
        }
        reply->result_case = SSO__DIR_REPLY__RESULT_LOOKUP;
        reply->lookup = &lookup;
        break;
    }
    default:
        s_error(reply, "invalid_request", "the fake does not know this operation");
        break;
    }
}

static int s_directory(sso_service_t *service, const char *rpc, bool idempotent,
                       const Sso__DirRequest *request, Sso__DirReply **reply_p)
{
    (void) service;
    (void) idempotent;
    *reply_p = NULL;
    s_fake->calls++;
    snprintf(s_fake->last_rpc, sizeof s_fake->last_rpc, "%s", rpc);
    if (s_fake->fail_rpc && !strcmp(s_fake->fail_rpc, rpc))
        return s_fake->fail_status;
    Sso__DirRequest *copy = S_ROUNDTRIP(Sso__DirRequest, sso__dir_request, request);
    if (!copy)
        return 400;
    Sso__DirReply reply = SSO__DIR_REPLY__INIT;
    Sso__Connection conn;
    Sso__ClientGetReply client = SSO__CLIENT_GET_REPLY__INIT;
    Sso__ClientAuthReply auth = SSO__CLIENT_AUTH_REPLY__INIT;
    Sso__CodeGrant grant = SSO__CODE_GRANT__INIT;
    Sso__Profile profile = SSO__PROFILE__INIT;
    Sso__TokenIssueReply issued = SSO__TOKEN_ISSUE_REPLY__INIT;
    Sso__AccessTokenClaims claims = SSO__ACCESS_TOKEN_CLAIMS__INIT;
    Sso__BearerCheckReply bearer = SSO__BEARER_CHECK_REPLY__INIT;
    Sso__KeysListReply keys = SSO__KEYS_LIST_REPLY__INIT;
    s_dispatch(copy, &reply, &conn, &client, &auth, &grant, &profile, &issued, &claims, &bearer,
               &keys);
    *reply_p = S_ROUNDTRIP(Sso__DirReply, sso__dir_reply, &reply);
    sso__dir_request__free_unpacked(copy, NULL);
    return *reply_p ? 0 : 502;
}

static int s_start(sso_service_t *service, const char *target, const char *rpc,
                   const Sso__SamlStartRequest *request, Sso__SamlStartReply **reply_p)
{
    (void) service;
    *reply_p = NULL;
    s_fake->calls++;
    snprintf(s_fake->last_rpc, sizeof s_fake->last_rpc, "%s", rpc);
    if (s_fake->fail_rpc && !strcmp(s_fake->fail_rpc, rpc))
        return s_fake->fail_status;
    snprintf(s_fake->start_target, sizeof s_fake->start_target, "%s", target);
    sso__saml_start_request__free_unpacked(s_fake->start, NULL);
    s_fake->start = S_ROUNDTRIP(Sso__SamlStartRequest, sso__saml_start_request, request);
    Sso__SamlStartReply reply = SSO__SAML_START_REPLY__INIT;
    char url[256];
    snprintf(url, sizeof url, "https://idp.test/%s?RelayState=%s", target, request->txn_id);
    if (s_fake->start_error) {
        reply.error = (char *) s_fake->start_error;
        reply.error_description = "the IdP metadata could not be used";
    }
    else {
        reply.redirect_url = url;
        reply.request_id = "_req1";
    }
    *reply_p = S_ROUNDTRIP(Sso__SamlStartReply, sso__saml_start_reply, &reply);
    return *reply_p ? 0 : 502;
}

static const token_dir_ops_t s_ops = {s_directory, s_start};

int token_fake_open(token_fake_t *self)
{
    memset(self, 0, sizeof *self);
    snprintf(self->config.public_url, sizeof self->config.public_url, "https://sso.test");
    self->config.request_timeout_ms = 1000;
    self->state.keys = token_keys_new();
    self->state.rotation_delay_s = 3600;
    self->service.config = &self->config;
    self->service.state = &self->state;
    self->service.instance = "test:1";
    char *pem = NULL, *jwk = NULL, *kid = NULL;
    if (!self->state.keys || token_keys_generate(&pem, &jwk, &kid) != 0) {
        token_keys_destroy(&self->state.keys);
        return -1;
    }
    Sso__SigningKey key = SSO__SIGNING_KEY__INIT;
    key.kid = kid;
    key.private_key_pem = pem;
    key.public_jwk_json = jwk;
    key.created_at = key.active_from = sso_now_ms() / 1000 - 60;
    self->keys[self->n_keys++] = S_ROUNDTRIP(Sso__SigningKey, sso__signing_key, &key);
    free(pem);
    free(jwk);
    free(kid);
    s_fake = self;
    token_dir_set(&s_ops);
    return self->keys[0] ? 0 : -1;
}

void token_fake_close(token_fake_t *self)
{
    token_dir_set(NULL);
    s_fake = NULL;
    token_keys_destroy(&self->state.keys);
    sso__transaction__free_unpacked(self->txn, NULL);
    sso__saml_start_request__free_unpacked(self->start, NULL);
    sso__code_redeem_request__free_unpacked(self->redeem, NULL);
    sso__token_issue_request__free_unpacked(self->issue, NULL);
    sso__signing_key__free_unpacked(self->put, NULL);
    for (size_t i = 0; i < self->n_redeemed; i++)
        free(self->redeemed[i]);
    for (size_t i = 0; i < self->n_tokens; i++) {
        free(self->tokens[i]);
        free(self->token_claims[i]);
        free(self->token_scope[i]);
        free(self->token_code[i]);
    }
    for (size_t i = 0; i < self->n_keys; i++)
        sso__signing_key__free_unpacked(self->keys[i], NULL);
    memset(self, 0, sizeof *self);
}

Sso__HttpResponse *token_fake_http(token_fake_t *self, const char *method, const char *path,
                                   const char *query, const char *body, ...)
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
        headers[n].value = va_arg(args, char *);
        header_ptrs[n] = &headers[n];
        n++;
    }
    va_end(args);
    request.method = (char *) method;
    request.path = (char *) path;
    request.query = (char *) (query ? query : "");
    request.headers = header_ptrs;
    request.n_headers = n;
    request.body.data = (uint8_t *) body;
    request.body.len = body ? strlen(body) : 0;
    request.remote_addr = "127.0.0.1";
    /* As the worker would hand it over: after a trip through protobuf. */
    Sso__HttpRequest *copy = S_ROUNDTRIP(Sso__HttpRequest, sso__http_request, &request);
    zframe_t *frame = copy ? token_http(&self->service, copy, NULL) : NULL;
    sso__http_request__free_unpacked(copy, NULL);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    return response;
}

const char *token_fake_header(const Sso__HttpResponse *response, const char *name)
{
    for (size_t i = 0; response && i < response->n_headers; i++)
        if (!strcasecmp(response->headers[i]->name, name))
            return response->headers[i]->value;
    return NULL;
}

bool token_fake_body_has(const Sso__HttpResponse *response, const char *text)
{
    return response && memmem(response->body.data, response->body.len, text, strlen(text));
}

zhashx_t *token_fake_location(const Sso__HttpResponse *response)
{
    const char *location = token_fake_header(response, "Location");
    const char *query = location ? strchr(location, '?') : NULL;
    return query ? sso_form_parse(query + 1, strlen(query + 1)) : NULL;
}

json_t *token_fake_json(const Sso__HttpResponse *response)
{
    return response ? json_loadb((const char *) response->body.data, response->body.len,
                                 JSON_REJECT_DUPLICATES, NULL)
                    : NULL;
}

char *token_fake_jwks(token_fake_t *self)
{
    Sso__HttpResponse *response = token_fake_http(self, "GET", "/keys", NULL, NULL, NULL);
    char *jwks = response && response->status == 200
                     ? strndup((const char *) response->body.data, response->body.len)
                     : NULL;
    sso__http_response__free_unpacked(response, NULL);
    return jwks;
}

void token_fake_test(bool verbose)
{
    (void) verbose;
    token_fake_t fake;
    SSO_CHECK(token_fake_open(&fake) == 0);
    char *jwks = token_fake_jwks(&fake);
    SSO_CHECK(jwks && strstr(jwks, fake.keys[0]->kid));
    free(jwks);
    /* A failure knob turns the directory into a dead bus. */
    fake.fail_rpc = "keys_list";
    fake.fail_status = 503;
    token_keys_destroy(&fake.state.keys);
    fake.state.keys = token_keys_new();
    Sso__HttpResponse *response = token_fake_http(&fake, "GET", "/keys", NULL, NULL, NULL);
    SSO_CHECK(response && response->status == 503);
    sso__http_response__free_unpacked(response, NULL);
    token_fake_close(&fake);
}
