/* ssoctl connections: an organization's SAML or OIDC identity-provider connection. */
#include "ssoctl_cmd.h"
#include "ssoctl_util.h"
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define METADATA_MAX (1024 * 1024)
#define CERT_MAX (64 * 1024)
#define SECRET_MAX 4096
#define DEFAULT_SCOPE "openid email profile"
/* Longer than any option or profile field name; the broker names the unknown ones. */
#define SETTING_KEY_MAX 128

static const ssoctl_column_t s_rows[] = {
    {"ID", "id"},
    {"ORGANIZATION", "organization_id"},
    {"TYPE", "type"},
    {"STATUS", "status"},
    {"NAME", "name"},
    {"SP ENTITY ID", "sp.entity_id"},
    {"SP ACS URL", "sp.acs_url"},
    {"SP METADATA URL", "sp.metadata_url"},
    /* The SP certificate, then during a key rollover the previous one (rotate-sp-key). */
    {"SP CERTIFICATES", "sp.certificate_details.subject"},
    {"SP CERTIFICATE SHA-256", "sp.certificate_details.sha256_fingerprint"},
    {"SP CERTIFICATE EXPIRES", "sp.certificate_details.not_after"},
    {"IDP ENTITY ID", "saml.idp_entity_id"},
    {"IDP SSO URL", "saml.idp_sso_url"},
    {"IDP METADATA URL", "saml.idp_metadata_url"},
    {"METADATA SIGNED BY", "saml.idp_metadata_signing_certificate_details.subject"},
    {"METADATA SIGNER SHA-256",
     "saml.idp_metadata_signing_certificate_details.sha256_fingerprint"},
    /* Each IdP certificate, in the same order on each line; and the metadata URL's refresh. */
    {"IDP CERTIFICATES", "saml.idp_certificate_details.subject"},
    {"CERTIFICATE SHA-256", "saml.idp_certificate_details.sha256_fingerprint"},
    {"CERTIFICATE EXPIRES", "saml.idp_certificate_details.not_after"},
    {"METADATA REFRESHED", "saml.metadata_refreshed_at"},
    {"METADATA NEXT REFRESH", "saml.metadata_next_refresh_at"},
    {"METADATA REFRESH ERROR", "saml.metadata_refresh_error"},
    {"ISSUER", "oidc.issuer"},
    {"CLIENT ID", "oidc.client_id"},
    {"SCOPES", "oidc.scopes"},
    {"REDIRECT URI", "oidc.redirect_uri"},
    /* private_key_jwt: where the provider reads the broker's key for this connection (the
       certificate, for providers that want one, is in --json's oidc.client_certificate). */
    {"CLIENT JWKS URI", "oidc.jwks_uri"},
    /* What the provider's discovery gave at its last check (create, change, enable). */
    {"AUTHORIZATION ENDPOINT", "oidc.discovered.authorization_endpoint"},
    {"TOKEN ENDPOINT", "oidc.discovered.token_endpoint"},
    {"JWKS URI", "oidc.discovered.jwks_uri"},
    {"USERINFO ENDPOINT", "oidc.discovered.userinfo_endpoint"},
    /* Always shown, "-" when empty: that the defaults apply is worth seeing. */
    {"OPTIONS", "options"},
    {"ATTRIBUTE MAPPING", "attribute_mapping"},
    {"CREATED", "created_at"},
};
#define NROWS (sizeof s_rows / sizeof s_rows[0])

static int s_show(ssoctl_ctx_t *ctx, const json_t *connection, bool created)
{
    int rc = ssoctl_show_object(ctx, connection, s_rows, NROWS);
    const char *status = json_string_value(json_object_get(connection, "status"));
    const char *id = json_string_value(json_object_get(connection, "id"));
    const char *type = json_string_value(json_object_get(connection, "type"));
    bool oidc = type && strcmp(type, "oidc") == 0;
    if (rc == 0 && created && !ctx->json && id && status && strcmp(status, "draft") == 0)
        fprintf(ctx->err,
                "The connection is a draft. Give the IdP the %s above, then run: "
                "ssoctl connections enable %s\n",
                oidc ? "REDIRECT URI" : "SP details", id);
    return rc;
}

/* The --option or --map pairs as an object for body[field]; nothing when none is given.
   removable (a change): an empty VALUE is null, which puts the key back to its default (RFC
   7396); on create it is a usage error. typed: true/false become JSON booleans. Which keys
   and values exist is the broker's to say (it names the ones it knows), not this CLI's. */
static int s_pairs(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *option,
                   bool removable, bool typed, json_t *body, const char *field)
{
    size_t count = ssoctl_args_count(args, option);
    if (count == 0)
        return 0;
    json_t *object = json_object();
    if (!object)
        return ssoctl_fail(ctx, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const char *text = ssoctl_args_nth(args, option, i);
        char key[SETTING_KEY_MAX + 1];
        const char *value = NULL;
        char why[300];
        if (ssoctl_args_pair(option, text, removable, key, sizeof key, &value, why, sizeof why)
            != 0) {
            rc = ssoctl_usage_error(ctx, "%s", why);
            break;
        }
        if (json_object_get(object, key)) {
            rc = ssoctl_usage_error(ctx, "--%s %s given more than once", option, key);
            break;
        }
        json_t *json = !*value                                  ? json_null()
                       : typed && strcmp(value, "true") == 0  ? json_true()
                       : typed && strcmp(value, "false") == 0 ? json_false()
                                                              : json_string(value);
        /* json_object_set_new releases json when it fails (a key that is not UTF-8). */
        if (!json || json_object_set_new(object, key, json) != 0)
            rc = ssoctl_fail(ctx, "--%s %.64s must be UTF-8 text", option, text);
    }
    if (rc == 0 && json_object_set_new(body, field, object) != 0)
        return ssoctl_fail(ctx, "out of memory");
    if (rc != 0)
        json_decref(object);
    return rc;
}

/* A new body holding the connection settings every type takes: --option and --map. */
static int s_settings(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, bool removable,
                      json_t **body)
{
    *body = json_object();
    if (!*body)
        return ssoctl_fail(ctx, "out of memory");
    int rc = s_pairs(ctx, args, "option", removable, true, *body, "options");
    if (rc == 0)
        rc = s_pairs(ctx, args, "map", removable, false, *body, "attribute_mapping");
    if (rc != 0) {
        json_decref(*body);
        *body = NULL;
    }
    return rc;
}

/* POSTs body with settings (both kept by the caller) to the organization's connections and
   shows the result. */
static int s_create(ssoctl_ctx_t *ctx, const char *org_id, json_t *body, const json_t *settings)
{
    if (!body)
        return ssoctl_fail(ctx, "the arguments must be UTF-8 text");
    if (json_object_update(body, (json_t *) settings) != 0)
        return ssoctl_fail(ctx, "out of memory");
    char *path = ssoctl_path("/organizations/", org_id, "/connections", NULL);
    json_t *result = NULL;
    int rc = ssoctl_call(ctx, "POST", path, body, &result);
    free(path);
    if (rc == 0)
        rc = s_show(ctx, result, true);
    json_decref(result);
    return rc;
}

/* Refuses early what the broker would refuse anyway, with a message naming the file. */
static int s_check_pem(ssoctl_ctx_t *ctx, const char *path, const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int) len);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    X509_free(cert);
    BIO_free(bio);
    if (!cert)
        return ssoctl_fail(ctx, "%s is not a PEM certificate (-----BEGIN CERTIFICATE-----)",
                           path);
    return 0;
}

static int s_read_text(ssoctl_ctx_t *ctx, const char *path, size_t max, json_t **out)
{
    char *text = NULL;
    size_t len = 0;
    char err[1200];
    *out = NULL;
    if (ssoctl_read_file(path, max, &text, &len, err, sizeof err) != 0)
        return ssoctl_fail(ctx, "%s", err);
    int rc = 0;
    if (len == 0)
        rc = ssoctl_fail(ctx, "%s is empty", path);
    else if (!(*out = json_stringn(text, len)))
        rc = ssoctl_fail(ctx, "%s is not UTF-8 text", path);
    free(text);
    return rc;
}

/* --metadata-signing-cert F into saml.idp_metadata_signing_certificate: the PEM read from F,
   or null for "" (no certificate required any more). 0 when absent too. */
static int s_metadata_signing_cert(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, json_t *saml)
{
    const char *path = ssoctl_args_get(args, "metadata-signing-cert");
    if (!path)
        return 0;
    if (!*path)
        return json_object_set_new(saml, "idp_metadata_signing_certificate", json_null()) != 0
                   ? ssoctl_fail(ctx, "out of memory")
                   : 0;
    json_t *pem = NULL;
    int rc = s_read_text(ctx, path, CERT_MAX, &pem);
    if (rc == 0)
        rc = s_check_pem(ctx, path, json_string_value(pem), json_string_length(pem));
    if (rc == 0 && json_object_set(saml, "idp_metadata_signing_certificate", pem) != 0)
        rc = ssoctl_fail(ctx, "out of memory");
    json_decref(pem);
    return rc;
}

static int s_create_saml(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *org_id = args->pos[0];
    const char *metadata_file = ssoctl_args_get(args, "metadata-file");
    const char *metadata_url = ssoctl_args_get(args, "metadata-url");
    const char *entity_id = ssoctl_args_get(args, "entity-id");
    const char *sso_url = ssoctl_args_get(args, "sso-url");
    size_t ncerts = ssoctl_args_count(args, "cert-file");
    bool manual = entity_id || sso_url || ncerts > 0;
    int modes = (metadata_file != NULL) + (metadata_url != NULL) + manual;
    int rc = ssoctl_nonempty(ctx, "ORG_ID", org_id);
    if (rc != 0)
        return rc;
    if (modes != 1)
        return ssoctl_usage_error(ctx, "give exactly one of --metadata-file, --metadata-url, or "
                                       "--entity-id with --sso-url and --cert-file");
    if (manual && ssoctl_args_get(args, "metadata-signing-cert"))
        return ssoctl_usage_error(ctx, "--metadata-signing-cert goes with --metadata-file or "
                                       "--metadata-url");
    if (manual && (!entity_id || !sso_url || ncerts == 0))
        return ssoctl_usage_error(ctx, "--entity-id, --sso-url and --cert-file go together; "
                                       "missing %s",
                                  !entity_id ? "--entity-id" : !sso_url ? "--sso-url"
                                                                        : "--cert-file");
    json_t *settings = NULL;
    rc = s_settings(ctx, args, false, &settings);
    if (rc != 0)
        return rc;
    json_t *saml = json_object();
    if (!saml) {
        json_decref(settings);
        return ssoctl_fail(ctx, "out of memory");
    }
    rc = s_metadata_signing_cert(ctx, args, saml);
    if (rc == 0 && metadata_file) {
        json_t *xml = NULL;
        rc = s_read_text(ctx, metadata_file, METADATA_MAX, &xml);
        if (rc == 0 && json_object_set_new(saml, "idp_metadata_xml", xml) != 0)
            rc = ssoctl_fail(ctx, "out of memory");
    }
    else if (rc == 0 && metadata_url) {
        rc = ssoctl_nonempty(ctx, "--metadata-url", metadata_url);
        if (rc == 0 && json_object_set_new(saml, "idp_metadata_url", json_string(metadata_url)))
            rc = ssoctl_fail(ctx, "--metadata-url must be UTF-8 text");
    }
    else if (rc == 0) {
        rc = ssoctl_nonempty(ctx, "--entity-id", entity_id);
        if (rc == 0)
            rc = ssoctl_nonempty(ctx, "--sso-url", sso_url);
        json_t *certs = json_array();
        for (size_t i = 0; rc == 0 && i < ncerts; i++) {
            const char *path = ssoctl_args_nth(args, "cert-file", i);
            json_t *pem = NULL;
            rc = s_read_text(ctx, path, CERT_MAX, &pem);
            if (rc == 0)
                rc = s_check_pem(ctx, path, json_string_value(pem), json_string_length(pem));
            if (rc == 0 && json_array_append(certs, pem) != 0)
                rc = ssoctl_fail(ctx, "out of memory");
            json_decref(pem);
        }
        if (rc == 0
            && (!certs || json_object_set_new(saml, "idp_entity_id", json_string(entity_id))
                || json_object_set_new(saml, "idp_sso_url", json_string(sso_url))
                || json_object_set(saml, "idp_certificates", certs)))
            rc = ssoctl_fail(ctx, "--entity-id and --sso-url must be UTF-8 text");
        json_decref(certs);
    }
    if (rc == 0) {
        json_t *body = json_pack("{s:s, s:O}", "type", "saml", "saml", saml);
        rc = s_create(ctx, org_id, body, settings);
        json_decref(body);
    }
    json_decref(saml);
    json_decref(settings);
    return rc;
}

/* The secret from --client-secret or a file ("-" is stdin), trailing newline dropped.
   Caller wipes and frees. */
static int s_oidc_secret(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, char **out)
{
    *out = NULL;
    const char *inline_secret = ssoctl_args_get(args, "client-secret");
    const char *file = ssoctl_args_get(args, "client-secret-file");
    if (!!inline_secret + !!file != 1)
        return ssoctl_usage_error(ctx, "give one of --client-secret-file or --client-secret, "
                                       "not both");
    if (inline_secret) {
        *out = strdup(inline_secret);
        if (!*out)
            return ssoctl_fail(ctx, "out of memory");
    }
    else {
        size_t len = 0;
        char err[1200];
        if (ssoctl_read_file(file, SECRET_MAX, out, &len, err, sizeof err) != 0)
            return ssoctl_fail(ctx, "%s", err);
        while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
            (*out)[--len] = '\0';
        if (strlen(*out) != len) {
            OPENSSL_cleanse(*out, len);
            free(*out);
            *out = NULL;
            return ssoctl_fail(ctx, "%s holds a NUL byte", file);
        }
    }
    if (!**out) {
        free(*out);
        *out = NULL;
        return ssoctl_usage_error(ctx, "the client secret is empty");
    }
    return 0;
}

static void s_wipe(char *secret)
{
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
}

/* Scrubs the copy of the secret in a request's "oidc" object, before it is freed. */
static void s_wipe_oidc(json_t *oidc)
{
    json_t *secret_json = json_object_get(oidc, "client_secret");
    if (json_is_string(secret_json))
        OPENSSL_cleanse((char *) json_string_value(secret_json), json_string_length(secret_json));
}

/* --scope "S1 S2" as the array the API takes; openid must be among them. */
static int s_scopes(ssoctl_ctx_t *ctx, const char *scope, json_t **out)
{
    *out = NULL;
    json_t *scopes = json_array();
    if (!scopes)
        return ssoctl_fail(ctx, "out of memory");
    bool has_openid = false;
    for (const char *p = scope; *p;) {
        size_t len = strcspn(p, " \t");
        if (len > 0) {
            has_openid |= len == 6 && memcmp(p, "openid", 6) == 0;
            if (json_array_append_new(scopes, json_stringn(p, len)) != 0) {
                json_decref(scopes);
                return ssoctl_fail(ctx, "--scope must be UTF-8 text");
            }
        }
        p += len;
        p += strspn(p, " \t");
    }
    if (!has_openid) {
        json_decref(scopes);
        return ssoctl_usage_error(ctx, "--scope must include openid");
    }
    *out = scopes;
    return 0;
}

static int s_create_oidc(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *org_id = args->pos[0];
    const char *issuer = ssoctl_args_get(args, "issuer");
    const char *client_id = ssoctl_args_get(args, "client-id");
    const char *scope = ssoctl_args_get(args, "scope");
    if (!scope)
        scope = DEFAULT_SCOPE;
    int rc = ssoctl_nonempty(ctx, "ORG_ID", org_id);
    if (rc == 0)
        rc = ssoctl_nonempty(ctx, "--issuer", issuer);
    if (rc == 0)
        rc = ssoctl_nonempty(ctx, "--client-id", client_id);
    json_t *scopes = NULL, *settings = NULL;
    if (rc == 0)
        rc = s_scopes(ctx, scope, &scopes);
    if (rc == 0)
        rc = s_settings(ctx, args, false, &settings);
    /* No secret at all is the broker's to judge: a connection that authenticates with
       private_key_jwt (--option token_endpoint_auth_method=private_key_jwt) needs none. */
    bool has_secret = ssoctl_args_get(args, "client-secret") || ssoctl_args_get(args,
                                                                               "client-secret-file");
    char *secret = NULL;
    if (rc == 0 && has_secret)
        rc = s_oidc_secret(ctx, args, &secret);
    if (rc != 0) {
        json_decref(scopes);
        json_decref(settings);
        return rc;
    }
    json_t *body = json_pack("{s:s, s:{s:s, s:s, s:o}}", "type", "oidc", "oidc", "issuer",
                             issuer, "client_id", client_id, "scopes", scopes);
    if (body && secret
        && json_object_set_new(json_object_get(body, "oidc"), "client_secret",
                               json_string(secret)) != 0) {
        json_decref(body);
        body = NULL;
    }
    s_wipe(secret);
    rc = s_create(ctx, org_id, body, settings);
    s_wipe_oidc(json_object_get(body, "oidc"));
    json_decref(body);
    json_decref(settings);
    return rc;
}

/* PATCH /connections/{id}: only what is given changes; options and the mapping merge key by
   key at the broker, which also checks them against the connection's type. */
static int s_update(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *id = args->pos[0];
    const char *name = ssoctl_args_get(args, "name");
    const char *issuer = ssoctl_args_get(args, "issuer");
    const char *client_id = ssoctl_args_get(args, "client-id");
    const char *scope = ssoctl_args_get(args, "scope");
    bool new_secret = ssoctl_args_get(args, "client-secret") != NULL
                      || ssoctl_args_get(args, "client-secret-file") != NULL;
    int rc = ssoctl_nonempty(ctx, "ID", id);
    if (rc == 0 && name)
        rc = ssoctl_nonempty(ctx, "--name", name);
    if (rc == 0 && issuer)
        rc = ssoctl_nonempty(ctx, "--issuer", issuer);
    if (rc == 0 && client_id)
        rc = ssoctl_nonempty(ctx, "--client-id", client_id);
    json_t *body = NULL, *oidc = NULL, *scopes = NULL, *saml = json_object();
    if (rc == 0 && !saml)
        rc = ssoctl_fail(ctx, "out of memory");
    if (rc == 0 && scope)
        rc = s_scopes(ctx, scope, &scopes);
    if (rc == 0)
        rc = s_settings(ctx, args, true, &body);
    if (rc == 0)
        rc = s_metadata_signing_cert(ctx, args, saml);
    if (rc == 0 && json_object_size(saml) > 0 && json_object_set(body, "saml", saml) != 0)
        rc = ssoctl_fail(ctx, "out of memory");
    if (rc == 0 && !name && !issuer && !client_id && !scope && !new_secret
        && json_object_size(body) == 0)
        rc = ssoctl_usage_error(ctx, "nothing to change: give --name, --option, --map, "
                                     "--metadata-signing-cert (SAML) or an OIDC setting "
                                     "(--issuer, --client-id, --client-secret-file, --scope)");
    if (rc == 0 && !(oidc = json_object()))
        rc = ssoctl_fail(ctx, "out of memory");
    if (rc == 0
        && ((name && json_object_set_new(body, "name", json_string(name)) != 0)
            || (issuer && json_object_set_new(oidc, "issuer", json_string(issuer)) != 0)
            || (client_id && json_object_set_new(oidc, "client_id", json_string(client_id)) != 0)
            || (scopes && json_object_set(oidc, "scopes", scopes) != 0)))
        rc = ssoctl_fail(ctx, "the arguments must be UTF-8 text");
    char *secret = NULL;
    if (rc == 0 && new_secret) {
        rc = s_oidc_secret(ctx, args, &secret);
        if (rc == 0 && json_object_set_new(oidc, "client_secret", json_string(secret)) != 0)
            rc = ssoctl_fail(ctx, "the client secret must be UTF-8 text");
        s_wipe(secret);
    }
    if (rc == 0 && json_object_size(oidc) > 0 && json_object_set(body, "oidc", oidc) != 0)
        rc = ssoctl_fail(ctx, "out of memory");
    if (rc == 0) {
        char *path = ssoctl_path("/connections/", id, NULL);
        json_t *result = NULL;
        rc = ssoctl_call(ctx, "PATCH", path, body, &result);
        free(path);
        if (rc == 0)
            rc = s_show(ctx, result, false);
        json_decref(result);
    }
    s_wipe_oidc(oidc);
    json_decref(body);
    json_decref(oidc);
    json_decref(saml);
    json_decref(scopes);
    return rc;
}

/* POST /connections/{id}/<action>, showing the connection when the answer carries it. */
static int s_action(ssoctl_ctx_t *ctx, const char *id, const char *suffix, const char *done)
{
    int rc = ssoctl_nonempty(ctx, "ID", id);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path("/connections/", id, suffix, NULL);
    json_t *result = NULL;
    rc = ssoctl_call(ctx, "POST", path, NULL, &result);
    free(path);
    if (rc == 0 && json_is_object(result))
        rc = s_show(ctx, result, false);
    else if (rc == 0 && ctx->json)
        rc = ssoctl_print_json(ctx, result);
    else if (rc == 0)
        fprintf(ctx->out, "Connection %s %s.\n", id, done);
    json_decref(result);
    return rc;
}

/* One line per connection; a SAML connection's IdP certificates by when each expires (OIDC
   connections have none: "-"). */
static const ssoctl_column_t s_list_columns[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"TYPE", "type"},
    {"STATUS", "status"},
    {"CERTIFICATE EXPIRES", "saml.idp_certificate_details.not_after"},
};

static int s_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_org_list(ctx, args, "/connections", s_list_columns,
                           sizeof s_list_columns / sizeof s_list_columns[0]);
}

static int s_get(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    /* s_show adds to the rows only for a connection just created. */
    return ssoctl_get_id(ctx, "ID", "/connections/", args->pos[0], s_rows, NROWS);
}

static int s_enable(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return s_action(ctx, args->pos[0], "/enable", "enabled");
}

static int s_disable(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return s_action(ctx, args->pos[0], "/disable", "disabled");
}

static int s_rotate_sp_key(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return s_action(ctx, args->pos[0], "/sp_key/rotate", "has a new SP key pair");
}

static int s_retire_sp_key(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return s_action(ctx, args->pos[0], "/sp_key/retire_previous",
                    "no longer has its previous SP key pair");
}

/* The last successful login: its time and subject, then one line per attribute or claim as
   the IdP sent it (arrays joined with ", "); an object nested once (a SAML response's
   attributes, an ID token's and userinfo's claims) gives lines named "outer / inner", as the
   portal shows them. */
static const ssoctl_column_t s_last_login_rows[] = {
    {"COMPLETED", "completed_at"},
    {"SUBJECT", "subject"},
};
static const ssoctl_column_t s_raw_columns[] = {
    {"ATTRIBUTE", "name"},
    {"VALUE", "value"},
};

/* Appends {name: outer[ / inner], value} to list; 0, or -1 when out of memory. */
static int s_raw_row(json_t *list, const char *outer, const char *inner, json_t *value)
{
    size_t len = strlen(outer) + (inner ? strlen(inner) + 3 : 0) + 1;
    char *name = malloc(len);
    if (!name)
        return -1;
    snprintf(name, len, "%s%s%s", outer, inner ? " / " : "", inner ? inner : "");
    int rc = json_array_append_new(list, json_pack("{s:s, s:O}", "name", name, "value", value));
    free(name);
    return rc;
}

/* raw's members as a list of {name, value} (new reference), or NULL when out of memory. */
static json_t *s_raw_list(const json_t *raw)
{
    json_t *list = json_array();
    const char *name, *inner;
    json_t *value, *inner_value;
    int rc = list ? 0 : -1;
    json_object_foreach((json_t *) raw, name, value)
    {
        if (!json_is_object(value))
            rc = rc ? rc : s_raw_row(list, name, NULL, value);
        else
            json_object_foreach(value, inner, inner_value)
                rc = rc ? rc : s_raw_row(list, name, inner, inner_value);
    }
    if (rc != 0)
        json_decref(list);
    return rc ? NULL : list;
}

static int s_last_login(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *id = args->pos[0];
    int rc = ssoctl_nonempty(ctx, "ID", id);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path("/connections/", id, "/last_login", NULL);
    json_t *result = NULL;
    rc = path ? ssoctl_call(ctx, "GET", path, NULL, &result) : ssoctl_fail(ctx, "out of memory");
    free(path);
    if (rc == 0)
        rc = ssoctl_show_object(ctx, result, s_last_login_rows,
                                sizeof s_last_login_rows / sizeof s_last_login_rows[0]);
    const json_t *raw = json_object_get(result, "raw");
    if (rc == 0 && !ctx->json && !json_is_object(raw))
        fprintf(ctx->out, "\nThe identity provider's attributes were not kept for this sign-in.\n");
    else if (rc == 0 && !ctx->json) {
        json_t *list = s_raw_list(raw);
        if (!list)
            rc = ssoctl_fail(ctx, "out of memory");
        else if (fputc('\n', ctx->out) == EOF
                 || ssoctl_print_list(ctx->out, s_raw_columns,
                                      sizeof s_raw_columns / sizeof s_raw_columns[0], list) != 0)
            rc = ssoctl_fail(ctx, "cannot write the output");
        json_decref(list);
    }
    json_decref(result);
    return rc;
}

static int s_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_delete_id(ctx, "ID", "/connections/", args->pos[0], "connection");
}

static const char *const s_saml_opts[] = {"metadata-file", "metadata-url",
                                          "metadata-signing-cert", "entity-id", "sso-url",
                                          "cert-file", "option", "map", NULL};
static const char *const s_oidc_opts[] = {"issuer", "client-id", "client-secret",
                                          "client-secret-file", "scope", "option", "map", NULL};
static const char *const s_update_opts[] = {"name", "option", "map", "metadata-signing-cert",
                                            "issuer", "client-id", "client-secret",
                                            "client-secret-file", "scope", NULL};

/* The help of --option and --map, the same for every command that takes them. */
#define SETTINGS_HELP                                                                          \
    "  --option KEY=VALUE      a connection option, e.g. response_mode=form_post (OIDC); repeat\n" \
    "                          for more. true and false are booleans, any other VALUE a\n"     \
    "                          string. The broker checks them and names the options and\n"    \
    "                          values a connection of its type takes\n"                        \
    "  --map FIELD=NAME        take the profile field (email, name, given_name, family_name,\n" \
    "                          groups) from the IdP's attribute or claim NAME, e.g. email=upn;\n" \
    "                          repeat for more. Unmapped fields use the defaults. SAML:\n"   \
    "                          NAME $nameid is the NameID, e.g. email='$nameid'\n"

const ssoctl_cmd_t ssoctl_connections_cmds[] = {
    {"connections", "create-saml",
     "connections create-saml ORG_ID (--metadata-file F | --metadata-url U | "
     "--entity-id E --sso-url U --cert-file F [--cert-file F2]) [--metadata-signing-cert F] "
     "[--option KEY=VALUE]... [--map FIELD=NAME]...",
     "Create a SAML connection (the broker is the Service Provider).",
     "Give the IdP's settings in one of three ways:\n"
     "  --metadata-file F   the IdP's metadata XML, read from F ('-' for stdin)\n"
     "  --metadata-url U    where the broker fetches the IdP's metadata\n"
     "  --entity-id E --sso-url U --cert-file F\n"
     "                      the IdP's entity ID, its HTTP-Redirect/POST SSO URL and its\n"
     "                      signing certificate as PEM; repeat --cert-file while rotating\n"
     "\n"
     "Options:\n"
     "  --metadata-signing-cert F\n"
     "                          the certificate (PEM) that signs the IdP's metadata: the\n"
     "                          metadata, now and at every refresh of its URL, must carry a\n"
     "                          valid signature by it (ADFS and Entra ID sign theirs)\n" SETTINGS_HELP
     "\n"
     "The connection starts as a draft; the output shows the SP entity ID, ACS URL and\n"
     "metadata URL to configure at the IdP. Then: ssoctl connections enable ID.\n"
     "\n"
     "Examples:\n"
     "  ssoctl connections create-saml org_123 --metadata-file okta.xml\n"
     "  ssoctl connections create-saml org_123 --metadata-url https://idp.acme.com/metadata\n"
     "  ssoctl connections create-saml org_123 --entity-id http://www.okta.com/exk1 \\\n"
     "      --sso-url https://acme.okta.com/app/x/sso/saml --cert-file okta.pem\n"
     "  ssoctl connections create-saml org_123 --metadata-file adfs.xml \\\n"
     "      --map email=http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn\n",
     s_saml_opts, 1, 1, s_create_saml},
    {"connections", "create-oidc",
     "connections create-oidc ORG_ID --issuer U --client-id C "
     "[--client-secret-file F | --client-secret S] [--scope \"" DEFAULT_SCOPE "\"] "
     "[--option KEY=VALUE]... [--map FIELD=NAME]...",
     "Create an OIDC connection (the broker is the Relying Party).",
     "Options:\n"
     "  --issuer U              the IdP's issuer; discovery is at U/.well-known/...\n"
     "  --client-id C           the client registered for the broker at the IdP\n"
     "  --client-secret-file F  its secret, read from F ('-' for stdin); preferred\n"
     "  --client-secret S       its secret on the command line (visible in ps/history);\n"
     "                          none with --option token_endpoint_auth_method=private_key_jwt\n"
     "                          (the broker signs with a key of its own; give the IdP the\n"
     "                          CLIENT JWKS URI the output shows)\n"
     "  --scope \"S1 S2\"         scopes to ask for; must include openid\n"
     "                          (default: \"" DEFAULT_SCOPE "\")\n" SETTINGS_HELP
     "\n"
     "The broker checks the IdP's discovery document first. Each connection has its own\n"
     "redirect URI, <broker URL>/sso/oidc/callback/<connection id>: register the REDIRECT URI\n"
     "the output shows at the IdP, then: ssoctl connections enable ID.\n"
     "\n"
     "Examples:\n"
     "  ssoctl connections create-oidc org_123 --issuer https://acme.okta.com \\\n"
     "      --client-id 0oa1b2c3 --client-secret-file okta-secret.txt\n"
     "  ssoctl connections create-oidc org_123 \\\n"
     "      --issuer https://login.microsoftonline.com/TENANT_ID/v2.0 \\\n"
     "      --client-id 9f2c... --client-secret-file entra-secret.txt \\\n"
     "      --option response_mode=form_post --map email=upn\n",
     s_oidc_opts, 1, 1, s_create_oidc},
    {"connections", "update",
     "connections update ID [--name N] [--option KEY=VALUE|KEY=]... [--map FIELD=NAME|FIELD=]... "
     "[--metadata-signing-cert F|''] [--issuer U] [--client-id C] [--client-secret-file F | --client-secret S] "
     "[--scope \"S1 S2\"]",
     "Change a connection's name, options, attribute mapping or OIDC settings.",
     "Only what is given changes; give at least one.\n"
     "  --name N                the connection's display name\n" SETTINGS_HELP
     "  --option KEY=           put the option back to its default\n"
     "  --map FIELD=            remove the field's mapping (back to the defaults)\n"
     "SAML connections:\n"
     "  --metadata-signing-cert F   require the IdP's metadata to be signed by the PEM\n"
     "                          certificate in F from the next import or refresh; '' stops\n"
     "                          requiring it\n"
     "OIDC connections (the broker checks the IdP's discovery again):\n"
     "  --issuer U, --client-id C, --scope \"S1 S2\"   as for create-oidc\n"
     "  --client-secret-file F  a new client secret, read from F ('-' for stdin)\n"
     "  --client-secret S       a new client secret on the command line\n"
     "\n"
     "Examples:\n"
     "  ssoctl connections update conn_123 --option response_mode=form_post --map email=upn\n"
     "  ssoctl connections update conn_123 --option response_mode= --map groups=\n"
     "  ssoctl connections update conn_123 --client-secret-file new-secret.txt\n",
     s_update_opts, 1, 1, s_update},
    {"connections", "list", "connections list ORG_ID",
     "List an organization's connections, with when their IdP certificates expire.",
     "Columns: ID, NAME, TYPE (saml or oidc), STATUS (draft, active or inactive),\n"
     "CERTIFICATE EXPIRES (each IdP signing certificate of a SAML connection, as the\n"
     "broker read it; rotate it at the IdP and update the connection before then).\n"
     "'ssoctl connections get ID' shows one connection in full.\n"
     "\n"
     "Examples:\n"
     "  ssoctl connections list org_123\n"
     "  ssoctl connections list org_123 --json\n",
     NULL, 1, 1, s_list},
    {"connections", "get", "connections get ID",
     "Show a connection: its settings, options, SP details or discovered endpoints.",
     "Examples:\n"
     "  ssoctl connections get conn_123\n",
     NULL, 1, 1, s_get},
    {"connections", "enable", "connections enable ID",
     "Make a connection active, so logins use it.",
     "Examples:\n"
     "  ssoctl connections enable conn_123\n",
     NULL, 1, 1, s_enable},
    {"connections", "disable", "connections disable ID",
     "Make a connection inactive; logins through it stop.",
     "Examples:\n"
     "  ssoctl connections disable conn_123\n",
     NULL, 1, 1, s_disable},
    {"connections", "rotate-sp-key", "connections rotate-sp-key ID",
     "Roll a SAML connection's SP key pair over: a new one, the old one kept until retired.",
     "The new certificate signs AuthnRequests at once and is published in the SP\n"
     "metadata for encryption beside the old one; assertions encrypted to either\n"
     "decrypt. Re-import the SP metadata at the IdP, then run retire-sp-key. Refused\n"
     "while the previous key pair of the last rotation is not retired yet.\n"
     "SP CERTIFICATES lists the new certificate first, then the previous one.\n"
     "\n"
     "Examples:\n"
     "  ssoctl connections rotate-sp-key conn_123\n",
     NULL, 1, 1, s_rotate_sp_key},
    {"connections", "retire-sp-key", "connections retire-sp-key ID",
     "Retire the SP key pair that rotate-sp-key replaced.",
     "Run it once the IdP encrypts to the new certificate: the old one leaves the SP\n"
     "metadata, and a response encrypted to it is refused (the event log says why).\n"
     "\n"
     "Examples:\n"
     "  ssoctl connections retire-sp-key conn_123\n",
     NULL, 1, 1, s_retire_sp_key},
    {"connections", "last-login", "connections last-login ID",
     "Show a connection's last successful sign-in, with the attributes the IdP sent.",
     "COMPLETED and SUBJECT (the SAML NameID or the OIDC sub), then one line per SAML\n"
     "attribute or OIDC claim (ID token and userinfo) as the IdP sent it: what to map\n"
     "with 'connections update ID --map FIELD=NAME'. Only the last sign-in of a client's\n"
     "login is kept (not a portal test's): replaced by the next, deleted with the\n"
     "connection. Exit status 1 when the connection has had none yet.\n"
     "\n"
     "Examples:\n"
     "  ssoctl connections last-login conn_123\n"
     "  ssoctl connections last-login conn_123 --json\n",
     NULL, 1, 1, s_last_login},
    {"connections", "delete", "connections delete ID", "Delete a connection.",
     "Examples:\n"
     "  ssoctl connections delete conn_123\n",
     NULL, 1, 1, s_delete},
    {0},
};
