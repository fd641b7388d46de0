/* dir_testkit: shared scaffolding of the directory self-tests. */
#include "dir_testkit.h"
#include "api/dir_api_router.h"
#include "api/dir_json.h"
#include "dir_rpc_router.h"
#include "dir_seed.h"
#include "dir_service.h"
#include "login/dir_tokens.h"
#include "vault/dir_pki.h"
#include "sso_bus.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

static int s_open_dir(dir_testkit_t *kit)
{
    char why[256] = "";
    kit->dir = dir_service_open(&kit->config, why, sizeof why);
    if (!kit->dir) {
        fprintf(stderr, "testkit: %s\n", why);
        return -1;
    }
    return 0;
}

static int s_open(dir_testkit_t *kit, bool seeded)
{
    memset(kit, 0, sizeof *kit);
    snprintf(kit->data_dir, sizeof kit->data_dir, "/tmp/dir-test-XXXXXX");
    if (!mkdtemp(kit->data_dir))
        return -1;
    /* A data dir one level down checks that the service creates it. */
    snprintf(kit->config.data_dir, sizeof kit->config.data_dir, "%s/var", kit->data_dir);
    snprintf(kit->config.public_url, sizeof kit->config.public_url, "https://sso.test");
    kit->config.simulator = true; /* the tests' databases start with the Test Organization */
    unsetenv("SSO_MASTER_KEY");
    sso_config_load_settings(&kit->config);
    if (s_open_dir(kit) != 0)
        return -1;
    snprintf(kit->data_dir + strlen(kit->data_dir), sizeof kit->data_dir - strlen(kit->data_dir),
             "/var");
    /* Most tests count what they create: they start without the seeded Test Organization
       (deleted once; the seed is not made again on reopening). */
    if (!seeded && dir_db_run(kit->dir->db, NULL, "DELETE FROM organizations WHERE id = ?", "s",
                              DIR_SEED_ORG_ID) != DIR_DB_OK)
        return -1;
    dir_db_stmt_t *stmt = dir_db_query(kit->dir->db, "SELECT id FROM clients WHERE is_admin = 1",
                                       NULL);
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        snprintf(kit->admin_id, sizeof kit->admin_id, "%s", dir_db_text(stmt, 0));
    dir_db_release(stmt);
    dir_error_t err;
    if (dir_tokens_issue(kit->dir, kit->admin_id, "management", 3600, NULL, NULL, &kit->token,
                         &err) != 0) {
        dir_testkit_close(kit);
        return -1;
    }
    return 0;
}

static int s_open_counted(dir_testkit_t *kit, bool seeded)
{
    int rc = s_open(kit, seeded);
    /* Counted here, once, so each test needs only to stop. */
    if (rc != 0)
        SSO_CHECK(!"testkit");
    return rc;
}

int dir_testkit_open(dir_testkit_t *kit)
{
    return s_open_counted(kit, false);
}

int dir_testkit_open_seeded(dir_testkit_t *kit)
{
    return s_open_counted(kit, true);
}

int dir_testkit_reopen(dir_testkit_t *kit)
{
    dir_destroy(&kit->dir);
    return s_open_dir(kit);
}

static int s_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

void dir_testkit_close(dir_testkit_t *kit)
{
    dir_destroy(&kit->dir);
    free(kit->token);
    kit->token = NULL;
    /* data_dir is <tmp>/var; remove the temporary parent. */
    char *slash = strrchr(kit->data_dir, '/');
    if (slash && strcmp(slash, "/var") == 0)
        *slash = '\0';
    dir_testkit_remove_dir(kit->data_dir);
}

void dir_testkit_remove_dir(const char *dir)
{
    if (strncmp(dir, "/tmp/dir-", 9) == 0 && !strstr(dir, ".."))
        nftw(dir, s_remove, 8, FTW_DEPTH | FTW_PHYS);
}

/* Every other call runs inside a batch of its own, as the live loop runs requests (group
   commit, dir_db_batch_begin), and the others outside one, as when another instance holds the
   write lock: every handler the tests reach is run both ways. */
static bool s_batch_open(dir_testkit_t *kit)
{
    if (kit->calls++ % 2 == 0)
        return false;
    bool open = dir_db_batch_begin(kit->dir->db) == 0;
    SSO_CHECK(open);
    return open;
}

static void s_batch_close(dir_testkit_t *kit, bool open)
{
    if (open)
        SSO_CHECK(dir_db_batch_end(kit->dir->db) == 0);
}

void dir_testkit_target(Sso__HttpRequest *request, const char *method, const char *target,
                        char path[DIR_TESTKIT_PATH_MAX])
{
    snprintf(path, DIR_TESTKIT_PATH_MAX, "%s", target);
    char *question = strchr(path, '?');
    if (question)
        *question = '\0';
    request->method = (char *) method;
    request->path = path;
    request->query = question ? question + 1 : "";
}

int dir_testkit_call(dir_testkit_t *kit, const char *method, const char *target,
                     const char *body, json_t **json)
{
    if (json)
        *json = NULL;
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    char path[DIR_TESTKIT_PATH_MAX];
    dir_testkit_target(&request, method, target, path);
    Sso__Header auth = SSO__HEADER__INIT, type = SSO__HEADER__INIT;
    char bearer[600];
    snprintf(bearer, sizeof bearer, "Bearer %s", kit->token ? kit->token : "");
    auth.name = "authorization";
    auth.value = bearer;
    type.name = "content-type";
    type.value = "application/json";
    Sso__Header *headers[2] = {&type, &auth};
    request.headers = headers;
    request.n_headers = kit->token ? 2 : 1;
    if (body) {
        request.body.data = (uint8_t *) body;
        request.body.len = strlen(body);
    }
    bool batch = s_batch_open(kit);
    zframe_t *frame = dir_api_router_handle(kit->dir, &request);
    s_batch_close(kit, batch);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    if (!response)
        return -1;
    kit->www_authenticate[0] = '\0';
    for (size_t i = 0; i < response->n_headers; i++)
        if (strcasecmp(response->headers[i]->name, "WWW-Authenticate") == 0)
            snprintf(kit->www_authenticate, sizeof kit->www_authenticate, "%s",
                     response->headers[i]->value);
    if (json && response->body.len)
        *json = json_loadb((const char *) response->body.data, response->body.len, 0, NULL);
    int status = (int) response->status;
    sso__http_response__free_unpacked(response, NULL);
    return status;
}

const char *dir_testkit_str(const json_t *json, const char *key)
{
    const char *text = json_string_value(json_object_get(json, key));
    return text ? text : "";
}

int dir_testkit_field(dir_testkit_t *kit, const char *method, const char *target,
                      const char *body, const char *key, char *value, size_t size)
{
    json_t *json = NULL;
    int status = dir_testkit_call(kit, method, target, body, &json);
    snprintf(value, size, "%s", dir_testkit_str(json, key));
    json_decref(json);
    return status;
}

bool dir_testkit_refused(int status, json_t **body_p, const char *want)
{
    json_t *body = *body_p;
    *body_p = NULL;
    const char *description = dir_testkit_str(body, "error_description");
    bool ok = status == 400 && !strcmp(dir_testkit_str(body, "error"), "invalid_request")
              && strstr(description, want);
    if (!ok)
        fprintf(stderr, "wanted 400 with \"%s\", got %d %s\n", want, status, description);
    json_decref(body);
    return ok;
}

bool dir_testkit_next_page(const json_t *json, const char *first, char *target, size_t size)
{
    const char *token = dir_testkit_str(json, "next_page_token");
    if (!*token)
        return false;
    snprintf(target, size, "%s&page_token=%s", first, token);
    return true;
}

static void s_run(void (*test)(dir_testkit_t *kit), bool seeded)
{
    dir_testkit_t kit;
    if (s_open_counted(&kit, seeded) != 0)
        return;
    test(&kit);
    dir_testkit_close(&kit);
}

void dir_testkit_run(void (*test)(dir_testkit_t *kit))
{
    s_run(test, false);
}

void dir_testkit_run_seeded(void (*test)(dir_testkit_t *kit))
{
    s_run(test, true);
}

int dir_testkit_signing_key(Sso__SigningKey *key, const char *kid, const char *jwk, char **pem)
{
    char *cert = NULL;
    int rc = dir_pki_sp_keypair("k", pem, &cert);
    free(cert);
    sso__signing_key__init(key);
    key->kid = (char *) kid;
    key->private_key_pem = *pem ? *pem : "";
    key->public_jwk_json = (char *) jwk;
    return rc;
}

void *dir_testkit_rpc(dir_testkit_t *kit, const char *rpc, const ProtobufCMessage *request)
{
    const ProtobufCMethodDescriptor *method = dir_rpc_router_method(rpc);
    zframe_t *payload = sso_frame_pack(request);
    bool batch = s_batch_open(kit);
    const char *caller = kit->caller ? kit->caller : dir_rpc_router_caller_of(rpc);
    zframe_t *frame = dir_rpc_router_handle(kit->dir, caller, rpc, payload);
    s_batch_close(kit, batch);
    zframe_destroy(&payload);
    const ProtobufCMessageDescriptor *type =
        method ? method->output : &sso__rpc_refusal__descriptor;
    ProtobufCMessage *reply =
        frame ? protobuf_c_message_unpack(type, NULL, zframe_size(frame), zframe_data(frame))
              : NULL;
    zframe_destroy(&frame);
    return reply;
}

/* Every reply begins with these fields (as sso.RpcRefusal does). */
const char *dir_testkit_error(const void *reply)
{
    if (!reply)
        return "(no reply)";
    const ProtobufCMessage *message = reply;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(message->descriptor, "error");
    int code = f ? *(const int *) ((const char *) reply + f->offset) : 0;
    return code == 0 ? "" : sso_rpc_error_name((Sso__RpcError) code);
}

const char *dir_testkit_error_description(const void *reply)
{
    if (!reply)
        return "";
    const ProtobufCMessage *message = reply;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(message->descriptor, "error_description");
    return f ? *(const char *const *) ((const char *) reply + f->offset) : "";
}

bool dir_testkit_rpc_error(dir_testkit_t *kit, const char *rpc, const ProtobufCMessage *request,
                           const char *code, const char *description)
{
    ProtobufCMessage *reply = dir_testkit_rpc(kit, rpc, request);
    const char *got = dir_testkit_error(reply), *said = dir_testkit_error_description(reply);
    bool ok = reply && !strcmp(got, code) && *said && (!description || strstr(said, description));
    if (!ok)
        fprintf(stderr, "%s: expected %s (%s), got %s (%s)\n", rpc, code,
                description ? description : "", got, said);
    protobuf_c_message_free_unpacked(reply, NULL);
    return ok;
}

int dir_testkit_saml_metadata(const char *entity_id, const char *sso_url, const char *cert_pem,
                              char *out, size_t size)
{
    const char *begin = strchr(cert_pem, '\n');
    const char *end = strstr(cert_pem, "-----END");
    if (!begin || !end || end < begin)
        return -1;
    begin++;
    int n = snprintf(out, size,
                     "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                     "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"%s\">"
                     "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:"
                     "2.0:protocol\"><md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>"
                     "<ds:X509Certificate>%.*s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
                     "</md:KeyDescriptor><md:SingleSignOnService Binding=\"urn:oasis:names:tc:"
                     "SAML:2.0:bindings:HTTP-Redirect\" Location=\"%s\"/>"
                     "</md:IDPSSODescriptor></md:EntityDescriptor>",
                     entity_id, (int) (end - begin), begin, sso_url);
    return n > 0 && (size_t) n < size ? 0 : -1;
}

int dir_testkit_client(dir_testkit_t *kit, const char *redirect_uri, char *client_id,
                       size_t size)
{
    return dir_testkit_client_secret(kit, redirect_uri, client_id, size, NULL, 0);
}

int dir_testkit_client_secret(dir_testkit_t *kit, const char *redirect_uri, char *client_id,
                              size_t size, char *secret, size_t secret_size)
{
    char body[600];
    snprintf(body, sizeof body, "{\"name\":\"app\",\"redirect_uris\":[\"%s\"]}", redirect_uri);
    json_t *json = NULL;
    int status = dir_testkit_call(kit, "POST", "/api/v1/clients", body, &json);
    snprintf(client_id, size, "%s", dir_testkit_str(json, "client_id"));
    if (secret)
        snprintf(secret, secret_size, "%s", dir_testkit_str(json, "client_secret"));
    json_decref(json);
    return status == 201 ? 0 : -1;
}
