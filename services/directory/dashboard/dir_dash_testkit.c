/* dir_dash_testkit: dashboard requests for the self-tests. */
#include "dashboard/dir_dash_testkit.h"

int dir_dash_testkit_call(dir_testkit_t *kit, const char *method, const char *target,
                          const char *cookie, const char *origin, const char *body,
                          dir_dash_testkit_reply_t *reply)
{
    return dir_portal_testkit_call(kit, method, target, cookie, NULL, origin,
                                   body ? "application/json" : NULL, body, reply);
}

int dir_dash_testkit_form(dir_testkit_t *kit, const char *target, const char *body,
                          dir_dash_testkit_reply_t *reply)
{
    return dir_portal_testkit_call(kit, "POST", target, NULL, NULL, NULL,
                                   "application/x-www-form-urlencoded", body, reply);
}

int dir_dash_testkit_api(dir_testkit_t *kit, const char *method, const char *target,
                         const dir_dash_testkit_t *who, const char *csrf, const char *body,
                         json_t **json)
{
    dir_portal_testkit_t cookie = {0};
    if (who)
        snprintf(cookie.cookie, sizeof cookie.cookie, "%s", who->cookie);
    return dir_portal_testkit_json(kit, method, target, who ? &cookie : NULL, csrf, body, json);
}

int dir_dash_testkit_admin(dir_testkit_t *kit, const char *email, char *token, size_t size)
{
    json_t *body = json_pack("{s:s}", "email", email), *json = NULL;
    char *text = json_dumps(body, 0);
    json_decref(body);
    int status = text ? dir_testkit_call(kit, "POST", "/api/v1/admins", text, &json) : -1;
    free(text);
    const char *hash = strchr(dir_testkit_str(json, "setup_url"), '#');
    snprintf(token, size, "%s", hash ? hash + 1 : "");
    json_decref(json);
    return status == 201 && hash ? 0 : -1;
}

int dir_dash_testkit_signin(dir_testkit_t *kit, const char *email, const char *password,
                            dir_dash_testkit_t *who)
{
    memset(who, 0, sizeof *who);
    char token[64];
    if (dir_dash_testkit_admin(kit, email, token, sizeof token) != 0)
        return -1;
    json_t *setup = json_pack("{s:s, s:s, s:s}", "token", token, "password", password,
                              "password_confirm", password);
    json_t *signin = json_pack("{s:s, s:s}", "email", email, "password", password);
    char *setup_text = json_dumps(setup, 0), *signin_text = json_dumps(signin, 0);
    json_decref(setup);
    json_decref(signin);
    dir_dash_testkit_reply_t reply;
    int rc = -1;
    if (setup_text && signin_text
        && dir_dash_testkit_call(kit, "POST", "/dashboard/setup", NULL, NULL, setup_text,
                                 &reply) == 0) {
        rc = reply.status == 200 ? 0 : -1;
        dir_dash_testkit_reply_free(&reply);
    }
    if (rc == 0 && dir_dash_testkit_call(kit, "POST", "/dashboard/api/signin", NULL, NULL,
                                         signin_text, &reply) == 0) {
        size_t len = strcspn(reply.set_cookie, ";");
        rc = reply.status == 200 && len < sizeof who->cookie ? 0 : -1;
        snprintf(who->cookie, sizeof who->cookie, "%.*s", (int) len, reply.set_cookie);
        snprintf(who->csrf, sizeof who->csrf, "%s", dir_testkit_str(reply.json, "csrf_token"));
        snprintf(who->id, sizeof who->id, "%s",
                 dir_testkit_str(json_object_get(reply.json, "admin"), "id"));
        dir_dash_testkit_reply_free(&reply);
    }
    free(setup_text);
    free(signin_text);
    return rc;
}
