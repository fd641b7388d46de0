/* dir_signing_api: GET /api/v1/keys, POST /api/v1/keys/rotate. */
#include "api/dir_signing_api.h"
#include "dashboard/dir_dash_audit.h"
#include "dashboard/dir_dash_testkit.h"
#include "dir_testkit.h"
#include "login/dir_tokens.h"
#include "sso_jose.h"
#include "sso_test.h"
#include "vault/dir_signing.h"

static zframe_t *s_list(dir_api_req_t *req, const char *id)
{
    (void) id;
    json_t *keys = dir_signing_states(req->dir);
    if (!keys)
        return dir_api_db_error();
    return sso_http_json(200, json_pack("{s:o, s:I}", "data", keys, "rotation_delay_seconds",
                                        (json_int_t) req->dir->key_rotation_delay_s));
}

static zframe_t *s_rotate(dir_api_req_t *req, const char *id)
{
    (void) id;
    dir_error_t err = {0};
    char *kid = NULL;
    int64_t signs_from = 0;
    if (dir_signing_rotate(req->dir, &kid, &signs_from, &err) != 0)
        return dir_error_reply(&err);
    zframe_t *reply = sso_http_json(201, json_pack("{s:s, s:o}", "kid", kid, "active_from",
                                                   dir_json_time(signs_from)));
    free(kid);
    return reply;
}

zframe_t *dir_signing_api_http(dir_api_req_t *req)
{
    static const dir_api_methods_t list = {.get = s_list};
    static const dir_api_methods_t rotate = {.post = s_rotate};
    if (req->n_segments == 1)
        return dir_api_dispatch(req, &list, NULL);
    if (req->n_segments == 2 && !strcmp(req->segments[1], "rotate"))
        return dir_api_dispatch(req, &rotate, NULL);
    return dir_api_not_found("path", req->http->path);
}

DIR_RPC_FN(dir_signing_api_key_rotate, Sso__KeyRotateRequest, Sso__KeyRotateReply)
{
    const char *why = "the access token is not valid";
    char client_id[DIR_API_ID_MAX + 1];
    if (!*in->access_token
        || !dir_tokens_check(dir, in->access_token, "management", &why, client_id,
                             sizeof client_id)) {
        dir_rpc_error(err, "invalid_token", "%s", why);
        return -1;
    }
    char *kid = NULL;
    int64_t signs_from = 0;
    int rc = dir_signing_rotate(dir, &kid, &signs_from, err);
    Sso__KeysListReply *keys = rc == 0 ? dir_signing_list(dir, true) : NULL;
    if (rc == 0 && !keys) {
        dir_server_error(err);
        rc = -1;
    }
    /* Rotated even when the list did not read: the row says so, as the key is there. */
    dir_dash_audit_write(dir, "client", client_id, "POST /api/v1/keys/rotate", kid,
                         kid ? 201 : 500, in->remote_addr);
    if (rc != 0) {
        free(kid);
        return -1;
    }
    out->kid = kid;
    out->active_from = signs_from;
    out->keys = keys->keys;
    out->n_keys = keys->n_keys;
    keys->keys = NULL;
    keys->n_keys = 0;
    sso__keys_list_reply__free_unpacked(keys, NULL);
    return 0;
}

static void s_test(dir_testkit_t *kit)
{
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/keys", NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 0
              && json_integer_value(json_object_get(body, "rotation_delay_seconds")) == 3600);
    json_decref(body);
    /* The first key signs at once; the next one after the delay. */
    char first[128] = "", kid[128] = "";
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/keys/rotate", NULL, "kid", first,
                                sizeof first) == 201);
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/keys/rotate", NULL, "kid", kid, sizeof kid)
              == 201 && strlen(kid) == 43 && strcmp(kid, first) != 0);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/keys", NULL, &body) == 200);
    json_t *key = json_array_get(json_object_get(body, "data"), 0);
    json_t *signing = json_array_get(json_object_get(body, "data"), 1);
    SSO_CHECK(!strcmp(dir_testkit_str(signing, "kid"), first)
              && !strcmp(dir_testkit_str(signing, "state"), "signing")
              && strlen(dir_testkit_str(signing, "published_until")) == 20);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 2
              && !strcmp(dir_testkit_str(key, "kid"), kid)
              && !strcmp(dir_testkit_str(key, "state"), "next")
              && !strcmp(dir_testkit_str(key, "alg"), "RS256")
              && strlen(dir_testkit_str(key, "signs_from")) == 20
              && json_is_null(json_object_get(key, "published_until")));
    char *text = json_dumps(body, 0);
    SSO_CHECK(text && !strstr(text, "PRIVATE") && !strstr(text, "\"d\""));
    free(text);
    json_decref(body);
    /* Methods and paths that are not routes. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/keys", NULL, NULL) == 405);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/keys/rotate", NULL, NULL) == 405);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/keys/rotates", NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/keys/rotate/x", NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/keys/", NULL, NULL) == 200);
    /* Without a management token: nothing listed, nothing rotated. */
    char *token = kit->token;
    kit->token = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/keys", NULL, NULL) == 401);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/keys/rotate", NULL, NULL) == 401);
    kit->token = token;
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM signing_keys", NULL) == 2);
    /* Audited: each rotation, as any change. */
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE action = "
                                       "'POST /api/v1/keys/rotate' AND status = 201", NULL) == 2);
}

/* KeyRotate, the token service's route: the same rotation, for a management token only,
   audited under its client. */
static void s_rpc_test(dir_testkit_t *kit)
{
    const char *rpc = "TokenWrites.KeyRotate";
    Sso__KeyRotateRequest request = SSO__KEY_ROTATE_REQUEST__INIT;
    request.remote_addr = "192.0.2.7";
    const char *refused[] = {"", "at_forged"};
    for (size_t i = 0; i < 2; i++) {
        request.access_token = (char *) refused[i];
        SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &request.base, "invalid_token", NULL));
    }
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM signing_keys", NULL) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log", NULL) == 0);
    request.access_token = kit->token;
    Sso__KeyRotateReply *reply = dir_testkit_rpc(kit, rpc, &request.base);
    SSO_CHECK(reply && !reply->error && strlen(reply->kid) == 43 && reply->active_from > 0
              && reply->n_keys == 1 && !strcmp(reply->keys[0]->kid, reply->kid)
              && strstr(reply->keys[0]->private_key_pem, "PRIVATE KEY"));
    SSO_CHECK(reply && dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE actor = ? "
                                                "AND actor_type = 'client' AND target = ? AND "
                                                "action = 'POST /api/v1/keys/rotate' AND status "
                                                "= 201 AND remote_addr = '192.0.2.7'",
                                  "ss", kit->admin_id, reply->kid) == 1);
    sso__key_rotate_reply__free_unpacked(reply, NULL);
    /* Only the token service calls it. */
    kit->caller = "saml";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &request.base, "access_denied", NULL));
    kit->caller = NULL;
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM signing_keys", NULL) == 1);
}

/* The dashboard's keys page: its session to list, and its CSRF token as well to rotate. */
static void s_dashboard_test(dir_testkit_t *kit)
{
    dir_dash_testkit_t admin;
    SSO_CHECK(dir_dash_testkit_signin(kit, "keys@example.com", "a long enough password", &admin)
              == 0);
    const char *rotate = "/dashboard/api/v1/keys/rotate";
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", rotate, NULL, admin.csrf, NULL, NULL) == 401);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/v1/keys", NULL, NULL, NULL, NULL)
              == 401);
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", rotate, &admin, NULL, NULL, NULL) == 403);
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", rotate, &admin, "", NULL, NULL) == 403);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM signing_keys", NULL) == 0);
    json_t *json = NULL;
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", rotate, &admin, admin.csrf, NULL, &json) == 201);
    char kid[64] = "";
    snprintf(kid, sizeof kid, "%s", dir_testkit_str(json, "kid"));
    json_decref(json);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/v1/keys", &admin, NULL, NULL,
                                   &json) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json_array_get(json_object_get(json, "data"), 0), "kid"),
                      kid) && strlen(kid) == 43);
    json_decref(json);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE actor = "
                                       "'keys@example.com' AND actor_type = 'admin' AND action = "
                                       "'POST /dashboard/api/v1/keys/rotate' AND status = ?",
                         "i", (int64_t) 201) == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE actor = "
                                       "'keys@example.com' AND action = "
                                       "'POST /dashboard/api/v1/keys/rotate' AND status = 403",
                         NULL) == 2);
}

void dir_signing_api_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    dir_testkit_run(s_rpc_test);
    dir_testkit_run(s_dashboard_test);
}
