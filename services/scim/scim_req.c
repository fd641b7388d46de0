/* scim_req: the directory and the rest of a SCIM request's path. */
#include "scim_req.h"
#include "sso_test.h"
#include <ctype.h>

bool scim_req_id_valid(const char *id, size_t len)
{
    if (!id || len == 0 || len > SCIM_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char) id[i]) && id[i] != '_' && id[i] != '-')
            return false;
    return true;
}

int scim_req_parse(scim_req_t *req, const char *path, const char *public_url)
{
    size_t prefix = strlen(SCIM_PATH_PREFIX);
    if (!path || strncmp(path, SCIM_PATH_PREFIX, prefix) != 0)
        return -1;
    const char *start = path + prefix;
    const char *slash = strchr(start, '/');
    size_t len = slash ? (size_t) (slash - start) : strlen(start);
    if (!scim_req_id_valid(start, len))
        return -1;
    memcpy(req->directory_id, start, len);
    req->directory_id[len] = '\0';
    req->rest = slash ? slash + 1 : "";
    snprintf(req->base_url, sizeof req->base_url, "%s/scim/v2/%s", public_url,
             req->directory_id);
    return 0;
}

void scim_req_test(bool verbose)
{
    (void) verbose;
    scim_req_t req = {0};
    SSO_CHECK(scim_req_parse(&req, "/scim/v2/dir_1/Users/scu_2", "https://s.example") == 0
              && !strcmp(req.directory_id, "dir_1") && !strcmp(req.rest, "Users/scu_2")
              && !strcmp(req.base_url, "https://s.example/scim/v2/dir_1"));
    SSO_CHECK(scim_req_parse(&req, "/scim/v2/dir_1", "x") == 0 && !strcmp(req.rest, ""));
    SSO_CHECK(scim_req_parse(&req, "/scim/v2/dir_1/", "x") == 0 && !strcmp(req.rest, ""));
    const char *const bad[] = {"/scim/v2/", "/scim/v2//Users", "/scim/v2/a.b/Users",
                               "/scim/v2/a%2fb", "/scim/v1/dir_1/Users", "/scim/v2", "", NULL};
    for (size_t i = 0; bad[i]; i++)
        SSO_CHECK(scim_req_parse(&req, bad[i], "x") == -1);
    SSO_CHECK(scim_req_parse(&req, NULL, "x") == -1);
    char long_path[128];
    snprintf(long_path, sizeof long_path, "/scim/v2/%065d/Users", 0);
    SSO_CHECK(scim_req_parse(&req, long_path, "x") == -1);
    SSO_CHECK(scim_req_id_valid("scu_1-A", 7) && !scim_req_id_valid("", 0)
              && !scim_req_id_valid("a b", 3) && !scim_req_id_valid(NULL, 1));
}
