/* dir_portal_testkit: portal requests for the self-tests. */
#include "portal/dir_portal_testkit.h"
#include "portal/dir_portal_pages.h"
#include "portal/dir_portal_req.h"
#include "portal/dir_portal_router.h"
#include "dashboard/dir_dash_router.h"
#include "sso_http.h"
#include <strings.h>

static const char *s_fetch_site;

void dir_portal_testkit_fetch_site(const char *site)
{
    s_fetch_site = site;
}

int dir_portal_testkit_call(dir_testkit_t *kit, const char *method, const char *target,
                            const char *cookie, const char *csrf, const char *origin,
                            const char *content_type, const char *body,
                            dir_portal_testkit_reply_t *reply)
{
    memset(reply, 0, sizeof *reply);
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    char path[DIR_TESTKIT_PATH_MAX];
    dir_testkit_target(&request, method, target, path);
    Sso__Header header[5];
    Sso__Header *headers[5];
    const char *names[5] = {"cookie", "x-csrf-token", "origin", "content-type",
                            "sec-fetch-site"};
    const char *values[5] = {cookie, csrf, origin, content_type, s_fetch_site};
    for (size_t i = 0; i < 5; i++)
        if (values[i]) {
            sso__header__init(&header[request.n_headers]);
            header[request.n_headers].name = (char *) names[i];
            header[request.n_headers].value = (char *) values[i];
            headers[request.n_headers] = &header[request.n_headers];
            request.n_headers++;
        }
    request.headers = headers;
    if (body) {
        request.body.data = (uint8_t *) body;
        request.body.len = strlen(body);
    }
    zframe_t *frame = !strncmp(path, "/dashboard/", 11)
                          ? dir_dash_router_handle(kit->dir, &request)
                          : dir_portal_router_handle(kit->dir, &request);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    if (!response)
        return -1;
    reply->status = (int) response->status;
    for (size_t i = 0; i < response->n_headers; i++) {
        const char *name = response->headers[i]->name, *value = response->headers[i]->value;
        if (!strcasecmp(name, "Location"))
            snprintf(reply->location, sizeof reply->location, "%s", value);
        else if (!strcasecmp(name, "Set-Cookie"))
            snprintf(reply->set_cookie, sizeof reply->set_cookie, "%s", value);
        else if (!strcasecmp(name, "Content-Security-Policy"))
            snprintf(reply->csp, sizeof reply->csp, "%s", value);
    }
    reply->body = response->body.len ? strndup((const char *) response->body.data,
                                               response->body.len)
                                     : strdup("");
    if (reply->body && response->body.len)
        reply->json = json_loads(reply->body, 0, NULL);
    sso__http_response__free_unpacked(response, NULL);
    return reply->body ? 0 : -1;
}

void dir_portal_testkit_reply_free(dir_portal_testkit_reply_t *reply)
{
    free(reply->body);
    json_decref(reply->json);
    memset(reply, 0, sizeof *reply);
}

int dir_portal_testkit_session(dir_testkit_t *kit, const char *display_name,
                               dir_portal_testkit_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *body = json_pack("{s:s}", "display_name", display_name);
    char *text = json_dumps(body, 0), path[200];
    json_decref(body);
    int status = text ? dir_testkit_field(kit, "POST", "/api/v1/organizations", text, "id",
                                          out->org, sizeof out->org)
                      : -1;
    free(text);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/portal_links", out->org);
    json_t *link = NULL;
    if (status != 201 || dir_testkit_call(kit, "POST", path, NULL, &link) != 201) {
        json_decref(link);
        return -1;
    }
    snprintf(out->link, sizeof out->link, "%s", dir_testkit_str(link, "id"));
    const char *token = strchr(dir_testkit_str(link, "location"), '#');
    char form[100];
    snprintf(form, sizeof form, "token=%s", token ? token + 1 : "");
    json_decref(link);
    dir_portal_testkit_reply_t reply;
    if (dir_portal_testkit_call(kit, "POST", "/portal/start", NULL, NULL, NULL,
                                "application/x-www-form-urlencoded", form, &reply) != 0)
        return -1;
    size_t len = strcspn(reply.set_cookie, ";");
    int rc = reply.status == 303 && len < sizeof out->cookie ? 0 : -1;
    snprintf(out->cookie, sizeof out->cookie, "%.*s", (int) len, reply.set_cookie);
    dir_portal_testkit_reply_free(&reply);
    if (rc == 0 && dir_portal_testkit_call(kit, "GET", "/portal/api/session", out->cookie, NULL,
                                           NULL, NULL, NULL, &reply) == 0) {
        snprintf(out->csrf, sizeof out->csrf, "%s", dir_testkit_str(reply.json, "csrf_token"));
        rc = reply.status == 200 && *out->csrf ? 0 : -1;
        dir_portal_testkit_reply_free(&reply);
    }
    return rc;
}

int dir_portal_testkit_json(dir_testkit_t *kit, const char *method, const char *target,
                            const dir_portal_testkit_t *who, const char *csrf, const char *body,
                            json_t **json)
{
    dir_portal_testkit_reply_t reply;
    if (json)
        *json = NULL;
    if (dir_portal_testkit_call(kit, method, target, who ? who->cookie : NULL, csrf, NULL,
                                body ? "application/json" : NULL, body, &reply) != 0)
        return -1;
    int status = reply.status;
    if (json) {
        *json = reply.json;
        reply.json = NULL;
    }
    dir_portal_testkit_reply_free(&reply);
    return status;
}

int dir_portal_testkit_status(zframe_t *frame)
{
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    int status = response ? (int) response->status : -1;
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    return status;
}
