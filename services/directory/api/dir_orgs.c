/* dir_orgs: organization CRUD; the list, searched and paged by keyset. */
#include "api/dir_orgs.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"

#define DIR_ORG_NAME_MAX 200
#define DIR_EXTERNAL_ID_MAX 200
#define DIR_ORG_SEARCH_MAX 200 /* bytes of GET /organizations?search= */
#define S_COLUMNS "id, display_name, external_id, created_at, updated_at, seq"

bool dir_orgs_exists(dir_t *dir, const char *id)
{
    return dir_db_int(dir->db, "SELECT count(*) FROM organizations WHERE id = ?", "s", id) == 1;
}

zframe_t *dir_orgs_check(dir_t *dir, const char *id)
{
    return dir_orgs_exists(dir, id) ? NULL : dir_api_not_found("organization", id);
}

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    (void) dir;
    json_t *external = dir_db_is_null(stmt, 2)
                           ? json_null()
                           : json_string(dir_db_text(stmt, 2));
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", dir_db_text(stmt, 0), "display_name",
                     dir_db_text(stmt, 1), "external_id", external, "created_at",
                     dir_json_time(dir_db_int64(stmt, 3)), "updated_at",
                     dir_json_time(dir_db_int64(stmt, 4)));
}

static json_t *s_get(dir_t *dir, const char *id)
{
    return dir_api_row(dir, s_row_json, "SELECT " S_COLUMNS " FROM organizations WHERE id = ?",
                       "s", id);
}

/* A create or patch body and what it says; name and external are lent by body. */
typedef struct {
    json_t *body;
    const char *name;
    const char *external;
    bool clear_external; /* external_id is null: PATCH removes it */
} s_input_t;

/* Reads the body into in (release in->body); 0, or -1 with err. */
static int s_read(dir_api_req_t *req, bool create, s_input_t *in, dir_error_t *err)
{
    in->body = dir_api_body(req, err);
    if (!in->body)
        return -1;
    in->clear_external = json_is_null(json_object_get(in->body, "external_id"));
    if (dir_json_string(in->body, "display_name", "display_name",
                        (create ? DIR_REQUIRED : 0) | DIR_NONEMPTY, DIR_ORG_NAME_MAX, &in->name,
                        err) < 0
        || dir_json_string(in->body, "external_id", "external_id", DIR_NULLABLE | DIR_NONEMPTY,
                           DIR_EXTERNAL_ID_MAX, &in->external, err) < 0) {
        json_decref(in->body);
        in->body = NULL;
        return -1;
    }
    return 0;
}

static zframe_t *s_create(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    dir_error_t err = {0};
    s_input_t in = {0};
    if (s_read(req, true, &in, &err) != 0)
        return dir_error_reply(&err);
    char *id = sso_random_id("org_", 10);
    int64_t now = dir_now();
    int rc = id ? dir_db_run(req->dir->db, NULL, "INSERT INTO organizations (id, display_name, "
                                                 "external_id, created_at, updated_at) VALUES "
                                                 "(?, ?, ?, ?, ?)",
                             "sssii", id, in.name, in.external, now, now)
                : DIR_DB_ERROR;
    zframe_t *reply;
    if (rc == DIR_DB_CONFLICT)
        reply = sso_http_error(409, "conflict", "another organization has this external_id");
    else if (rc != DIR_DB_OK)
        reply = dir_api_db_error();
    else {
        json_t *json = s_get(req->dir, id);
        reply = json ? sso_http_json(201, json) : dir_api_db_error();
        sso_info("organization %s created", id);
    }
    free(id);
    json_decref(in.body);
    return reply;
}

/* The search parameter, trimmed of spaces, into out ("" when absent: every organization);
   0, or -1 with err when it is too long, has control characters or is not UTF-8. */
static int s_search(zhashx_t *query, char out[DIR_ORG_SEARCH_MAX + 1], dir_error_t *err)
{
    out[0] = '\0';
    const char *raw = zhashx_lookup(query, "search");
    if (!raw)
        return 0;
    /* json_string refuses what is not UTF-8; dir_json_string checks the length and the
       control characters as it does for every field. */
    json_t *value = json_string(raw);
    if (!value) {
        dir_bad_request(err, "search must be UTF-8 text");
        return -1;
    }
    json_t *holder = json_pack("{s:o}", "search", value);
    const char *text = NULL;
    int rc = holder ? dir_json_string(holder, "search", "search", 0, DIR_ORG_SEARCH_MAX, &text,
                                      err)
                    : -1;
    if (!holder)
        dir_server_error(err);
    if (rc > 0) {
        text += strspn(text, " ");
        size_t len = strlen(text);
        while (len > 0 && text[len - 1] == ' ')
            len--;
        memcpy(out, text, len);
        out[len] = '\0';
    }
    json_decref(holder);
    return rc < 0 ? -1 : 0;
}

static zframe_t *s_list(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    dir_error_t err = {0};
    char search[DIR_ORG_SEARCH_MAX + 1];
    if (s_search(req->query, search, &err) != 0)
        return dir_error_reply(&err);
    /* instr, not LIKE: '%' and '_' in a search are only themselves. lower() folds ASCII
       letters; domains are stored lowercase. */
    return dir_api_list(req, NULL, NULL, s_row_json,
                        "SELECT " S_COLUMNS " FROM organizations WHERE (?1 = '' "
                        "OR instr(lower(display_name), lower(?1)) > 0 OR external_id = ?1 "
                        "OR id = ?1 OR id IN (SELECT organization_id FROM domains "
                        "WHERE domain = lower(?1))) AND seq > ?2 ORDER BY seq LIMIT ?3",
                        "s", search);
}

static zframe_t *s_show(dir_api_req_t *req, const char *id)
{
    return dir_api_found(s_get(req->dir, id), "organization", id);
}

static zframe_t *s_patch(dir_api_req_t *req, const char *id)
{
    dir_error_t err = {0};
    s_input_t in = {0};
    if (s_read(req, false, &in, &err) != 0)
        return dir_error_reply(&err);
    int changes = 0;
    int rc = dir_db_run(req->dir->db, &changes,
                        "UPDATE organizations SET display_name = coalesce(?1, display_name), "
                        "external_id = CASE WHEN ?2 = 1 THEN NULL ELSE coalesce(?3, external_id) END, "
                        "updated_at = ?4 WHERE id = ?5",
                        "sisis", in.name, (int64_t) in.clear_external, in.external, dir_now(), id);
    json_decref(in.body);
    if (rc == DIR_DB_CONFLICT)
        return sso_http_error(409, "conflict", "another organization has this external_id");
    if (rc != DIR_DB_OK)
        return dir_api_db_error();
    if (changes == 0)
        return dir_api_not_found("organization", id);
    return s_show(req, id);
}

static zframe_t *s_delete(dir_api_req_t *req, const char *id)
{
    return dir_api_delete(req->dir, "DELETE FROM organizations WHERE id = ?", "organization", id,
                          " with its domains and connections");
}

zframe_t *dir_orgs_http(dir_api_req_t *req)
{
    static const dir_api_methods_t collection = {.get = s_list, .post = s_create};
    static const dir_api_methods_t item = {.get = s_show, .patch = s_patch, .del = s_delete};
    if (req->n_segments == 1)
        return dir_api_dispatch(req, &collection, NULL);
    return dir_api_dispatch(req, &item, req->segments[1]);
}

static void s_test(dir_testkit_t *kit)
{
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"Acme\",\"external_id\":\"acme-1\",\"x\":[]}",
                               &body) == 201);
    char id[64] = "";
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    SSO_CHECK(!strncmp(id, "org_", 4) && !strcmp(dir_testkit_str(body, "display_name"), "Acme"));
    SSO_CHECK(!strcmp(dir_testkit_str(body, "external_id"), "acme-1"));
    const char *created = dir_testkit_str(body, "created_at");
    SSO_CHECK(strlen(created) == 20 && created[10] == 'T' && created[19] == 'Z');
    json_decref(body);

    /* Refused input leaves the table as it was. */
    int64_t before = dir_db_int(kit->dir->db, "SELECT count(*) FROM organizations", NULL);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "{}", &body) == 400);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "display_name"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "{\"display_name\":1}",
                               NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "{\"display_name\":\"\"}",
                               NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"B\",\"external_id\":7}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"B\",\"external_id\":\"acme-1\"}", &body)
              == 409);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "conflict"));
    json_decref(body);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM organizations", NULL) == before);

    char path[128];
    snprintf(path, sizeof path, "/api/v1/organizations/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "id"), id));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"display_name\":\"Acme Corp\"}", &body)
              == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "display_name"), "Acme Corp")
              && !strcmp(dir_testkit_str(body, "external_id"), "acme-1"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"external_id\":null}", &body) == 200);
    SSO_CHECK(json_is_null(json_object_get(body, "external_id")));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"display_name\":[]}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations/org_none", NULL, &body) == 404);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "not_found"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", "/api/v1/organizations/org_none",
                               "{\"display_name\":\"x\"}", NULL) == 404);

    /* Pagination: 5 organizations in pages of 2, each seen once, in order. */
    for (int i = 0; i < 4; i++) {
        char create[64];
        snprintf(create, sizeof create, "{\"display_name\":\"Org %d\"}", i);
        SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", create, NULL) == 201);
    }
    const char *start = "/api/v1/organizations?page_size=2";
    char target[256];
    snprintf(target, sizeof target, "%s", start);
    int pages = 0, seen = 0;
    bool more = true;
    while (more && pages <= 5) {
        SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
        seen += (int) json_array_size(json_object_get(body, "data"));
        pages++;
        more = dir_testkit_next_page(body, start, target, sizeof target);
        json_decref(body);
    }
    SSO_CHECK(pages == 3 && seen == 5);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations?page_size=0", NULL, NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations?page_size=201", NULL, NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations?page_token=zzz", NULL, NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations", NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 5
              && !*dir_testkit_str(body, "next_page_token"));
    json_decref(body);

    /* Data survives a restart. */
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    char name[64];
    SSO_CHECK(dir_testkit_field(kit, "GET", path, NULL, "display_name", name, sizeof name) == 200);
    SSO_CHECK(!strcmp(name, "Acme Corp"));

    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 404);
}

/* The ids that GET /api/v1/organizations?search=<encoded>&page_size=<size> lists over all its
   pages, space-separated, in order, into found (or "<status>: <description>"), and how many
   pages it took. */
static void s_found(dir_testkit_t *kit, const char *encoded, int size, char *found,
                    size_t found_size, int *pages)
{
    char first[400], target[600];
    snprintf(first, sizeof first, "/api/v1/organizations?search=%s&page_size=%d", encoded, size);
    snprintf(target, sizeof target, "%s", first);
    found[0] = '\0';
    size_t len = 0;
    *pages = 0;
    bool more = true;
    while (more && *pages < 10) {
        json_t *body = NULL;
        int status = dir_testkit_call(kit, "GET", target, NULL, &body);
        if (status != 200) {
            snprintf(found, found_size, "%d: %s", status,
                     dir_testkit_str(body, "error_description"));
            json_decref(body);
            return;
        }
        size_t index;
        json_t *org;
        json_array_foreach(json_object_get(body, "data"), index, org) {
            int n = snprintf(found + len, found_size - len, "%s%s", len ? " " : "",
                             dir_testkit_str(org, "id"));
            if (n > 0 && (size_t) n < found_size - len)
                len += (size_t) n;
        }
        (*pages)++;
        more = dir_testkit_next_page(body, first, target, sizeof target);
        json_decref(body);
    }
}

/* True when search (URL-encoded) finds, over all its pages of 50, the organizations want
   names, in order (digits: indexes into ids; "" for none). Prints what it found otherwise. */
static bool s_finds(dir_testkit_t *kit, const char *search, char ids[][32], const char *want)
{
    char wanted[400] = "";
    size_t len = 0;
    for (const char *p = want; *p >= '0' && *p <= '9'; p++) {
        int n = snprintf(wanted + len, sizeof wanted - len, "%s%s", len ? " " : "",
                         ids[*p - '0']);
        if (n > 0 && (size_t) n < sizeof wanted - len)
            len += (size_t) n;
    }
    char found[400];
    int pages = 0;
    s_found(kit, search, 50, found, sizeof found, &pages);
    bool same = !strcmp(found, wanted) && pages == 1;
    if (!same)
        fprintf(stderr, "search=%s: wanted \"%s\", found \"%s\" in %d pages\n", search, wanted,
                found, pages);
    return same;
}

static void s_test_search(dir_testkit_t *kit)
{
    static const char *const bodies[] = {
        "{\"display_name\":\"Acme Corp\"}",
        "{\"display_name\":\"Globex 100% Ltd\",\"external_id\":\"crm-42\"}",
        "{\"display_name\":\"Initech_EU\"}",
        "{\"display_name\":\"Initech EU\"}",
        "{\"display_name\":\"Umbrella\"}",
        "{\"display_name\":\"Caf\u00e9 Ol\u00e9\"}",
    };
    char ids[sizeof bodies / sizeof *bodies][32];
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations", bodies[i], "id", ids[i],
                                    sizeof ids[i]) == 201);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/organizations/%s/domains", ids[4]);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"domain\":\"hq.umbrella-search.test\"}", NULL)
              == 201);

    /* search (URL-encoded) and what it finds: digits index ids, in order. */
    static const struct {
        const char *search;
        const char *finds;
    } cases[] = {
        /* A part of the name, ASCII letters in any case; trimmed of spaces. */
        {"aCmE", "0"}, {"+%20acme+corp%20", "0"}, {"initech", "23"}, {"CAF%C3%A9", "5"},
        /* The whole external id, the whole domain (in any case); nothing. */
        {"crm-42", "1"}, {"crm-4", ""}, {"HQ.Umbrella-Search.test", "4"},
        {"hq.umbrella-search", ""}, {"no+such+organization", ""},
        /* LIKE's wildcards are only themselves. */
        {"%25", "1"}, {"100%25", "1"}, {"_", "2"}, {"initech_", "2"},
        /* Empty or only spaces: every organization. */
        {"", "012345"}, {"%20%20", "012345"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        SSO_CHECK(s_finds(kit, cases[i].search, ids, cases[i].finds));
    SSO_CHECK(s_finds(kit, ids[3], ids, "3")); /* the whole id */
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations", NULL, &body) == 200
              && json_array_size(json_object_get(body, "data")) == 6);
    json_decref(body);

    /* Pages of a search: each match once, in order, and no more pages than they fill. */
    char found[400];
    int pages = 0;
    s_found(kit, "e", 2, found, sizeof found, &pages);
    char all[400];
    /* (Not "Café Olé": lower() folds only ASCII, so "é" stays itself.) */
    snprintf(all, sizeof all, "%s %s %s %s %s", ids[0], ids[1], ids[2], ids[3], ids[4]);
    SSO_CHECK(!strcmp(found, all) && pages == 3);
    s_found(kit, "initech", 1, found, sizeof found, &pages);
    snprintf(all, sizeof all, "%s %s", ids[2], ids[3]);
    SSO_CHECK(!strcmp(found, all) && pages == 2);

    /* Refused: over 200 bytes, control characters, bytes that are not UTF-8. */
    char target[400];
    char long_search[DIR_ORG_SEARCH_MAX + 2];
    memset(long_search, 'a', sizeof long_search - 1);
    long_search[DIR_ORG_SEARCH_MAX] = '\0';
    SSO_CHECK(s_finds(kit, long_search, ids, ""));
    long_search[DIR_ORG_SEARCH_MAX] = 'a';
    long_search[DIR_ORG_SEARCH_MAX + 1] = '\0';
    snprintf(target, sizeof target, "/api/v1/organizations?search=%s", long_search);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "GET", target, NULL, &body), &body,
                                  "search is too long (at most 200 bytes)"));
    static const struct {
        const char *search;
        const char *says;
    } refused[] = {
        {"a%01", "search must not contain control characters"},
        {"%09acme", "search must not contain control characters"},
        {"acme%0A", "search must not contain control characters"},
        {"%7F", "search must not contain control characters"},
        {"%FF", "search must be UTF-8 text"},
        {"acme%C3", "search must be UTF-8 text"},
        {"%C0%AF", "search must be UTF-8 text"},    /* overlong */
        {"%ED%A0%80", "search must be UTF-8 text"}, /* a surrogate */
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        snprintf(target, sizeof target, "/api/v1/organizations?search=%s", refused[i].search);
        SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "GET", target, NULL, &body), &body,
                                      refused[i].says));
    }
}

void dir_orgs_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    dir_testkit_run(s_test_search);
}
