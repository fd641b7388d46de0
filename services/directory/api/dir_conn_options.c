/* dir_conn_options: a connection's options and attribute mapping. */
#include "api/dir_conn_options.h"
#include "api/dir_api.h"
#include "dir_rpc.h"
#include "dir_seed.h"
#include "sso_test.h"
#include "sso_upstream.h"

/* An option: the connection type it applies to, and its values (NULL: a boolean, unless
   s_ranges gives it a range: then a whole number in it). */
typedef struct {
    const char *name;
    const char *type;
    const char *const *values;
} s_option_t;

/* The integer options' ranges (kept apart so that s_options' rows stay three fields). */
typedef struct {
    const char *name;
    json_int_t min, max;
} s_range_t;

static const s_range_t s_ranges[] = {
    {"clock_skew_s", 0, 600},
};

static const char *const s_response_modes[] = {"query", "form_post", NULL};
static const char *const s_auth_methods[] = {"client_secret_basic", "client_secret_post",
                                             "private_key_jwt", NULL};

/* SAML 2.0 core 8.3: the NameID formats a connection may ask its IdP for. */
static const char *const s_nameid_formats[] = {
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient", NULL};
static const char *const s_bindings[] = {"http-redirect", "http-post", NULL};
/* A client id: any string here, checked against the clients by dir_conn_options_check_client
   (which has the store). */
static const char *const s_any_client[] = {NULL};

static const s_option_t s_options[] = {
    /* How the IdP returns the code: in the callback's query, or in a POSTed form (which keeps
       it out of the browser's history and of proxies' logs). */
    {"response_mode", "oidc", s_response_modes},
    /* The client authentication at the token endpoint; absent: the first of
       client_secret_basic and client_secret_post that the discovery offers. */
    {"token_endpoint_auth_method", "oidc", s_auth_methods},
    /* An email the IdP marks unverified (email_verified false) may log in; off by default,
       because the email domain guard would then trust an address nobody checked. */
    {"allow_unverified_email", "oidc", NULL},
    /* A Response whose assertion is not encrypted is refused. */
    {"require_encryption", "saml", NULL},
    /* 3DES-CBC may encrypt the assertion (64-bit blocks: only for IdPs that lack AES). */
    {"allow_3des", "saml", NULL},
    /* The AuthnRequest is signed (RSA-SHA256 with the connection's SP key), for IdPs that
       require it; the SP metadata says AuthnRequestsSigned. */
    {"sign_authn_requests", "saml", NULL},
    /* The NameIDPolicy Format asked for; absent: unspecified. */
    {"nameid_format", "saml", s_nameid_formats},
    /* How the AuthnRequest reaches the IdP; absent: http-redirect. */
    {"binding", "saml", s_bindings},
    /* Seconds of clock difference tolerated with the IdP (time window, IssueInstant,
       max_age); absent: DIR_CONN_CLOCK_SKEW_DEFAULT. At most 10 minutes. */
    {"clock_skew_s", "saml", NULL},
    /* An unsolicited Response (the IdP's app tile) is accepted and sent to the client named
       by idp_initiated_client_id, at its initiate_login_uri, to start a login of its own. */
    {"allow_idp_initiated", "saml", NULL},
    {"idp_initiated_client_id", "saml", s_any_client},
};

/* The profile fields a mapping may set. */
static const char *const s_fields[] = {"email", "name", "given_name", "family_name", "groups",
                                       NULL};

static const s_option_t *s_option(const char *name, const char *type)
{
    for (size_t i = 0; i < sizeof s_options / sizeof *s_options; i++)
        if (!strcmp(s_options[i].name, name) && !strcmp(s_options[i].type, type))
            return &s_options[i];
    return NULL;
}

static const s_range_t *s_range(const s_option_t *option)
{
    for (size_t i = 0; option && i < sizeof s_ranges / sizeof *s_ranges; i++)
        if (!strcmp(s_ranges[i].name, option->name))
            return &s_ranges[i];
    return NULL;
}

/* value when it is a whole number in range, else fallback. */
static json_int_t s_in_range(const s_range_t *range, const json_t *value, json_int_t fallback)
{
    return range && json_is_integer(value) && json_integer_value(value) >= range->min
                   && json_integer_value(value) <= range->max
               ? json_integer_value(value)
               : fallback;
}

static bool s_listed(const char *const *list, const char *value)
{
    for (; *list; list++)
        if (!strcmp(*list, value))
            return true;
    return false;
}

/* "a, b, c" of list into out. */
static void s_join(const char *const *list, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (; *list && len < size; list++)
        len += (size_t) snprintf(out + len, size - len, "%s%s", len ? ", " : "", *list);
}

/* The names of type's options, for a message. */
static void s_option_names(const char *type, char *out, size_t size)
{
    const char *names[sizeof s_options / sizeof *s_options + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof s_options / sizeof *s_options; i++)
        if (!strcmp(s_options[i].type, type))
            names[n++] = s_options[i].name;
    names[n] = NULL;
    if (n)
        s_join(names, out, size);
    else
        snprintf(out, size, "none yet");
}

static int s_check_option(const char *key, const json_t *value, const char *type,
                          dir_error_t *err)
{
    const s_option_t *option = s_option(key, type);
    char list[280];
    if (!option) {
        s_option_names(type, list, sizeof list);
        dir_bad_request(err, "options.%.64s is not an option of %s connections (theirs: %s)",
                        key, type, list);
        return -1;
    }
    const s_range_t *range = s_range(option);
    if (range) {
        /* JSON has one number type: 120.0 and "120" are refused, so a client's float or
           string bug shows at once. */
        if (s_in_range(range, value, range->min - 1) >= range->min)
            return 0;
        char got[64];
        if (json_is_integer(value))
            snprintf(got, sizeof got, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        else if (json_is_real(value))
            snprintf(got, sizeof got, "%.15g", json_real_value(value));
        else
            snprintf(got, sizeof got, "%s", json_is_string(value)    ? "a string"
                                            : json_is_boolean(value) ? "a boolean"
                                                                     : "an object or array");
        dir_bad_request(err, "options.%s must be a whole number from %" JSON_INTEGER_FORMAT
                             " to %" JSON_INTEGER_FORMAT ", got %s",
                        key, range->min, range->max, got);
        return -1;
    }
    if (!option->values) {
        if (!json_is_boolean(value)) {
            dir_bad_request(err, "options.%s must be true or false", key);
            return -1;
        }
        return 0;
    }
    if (option->values == s_any_client) {
        size_t len = json_is_string(value) ? strlen(json_string_value(value)) : 0;
        if (!len || len > DIR_API_ID_MAX || len != json_string_length(value)) {
            dir_bad_request(err, "options.%s must be a client id (cli_...)", key);
            return -1;
        }
        return 0;
    }
    /* A NUL inside the value would make it compare equal to a listed one. */
    if (!json_is_string(value) || strlen(json_string_value(value)) != json_string_length(value)
        || !s_listed(option->values, json_string_value(value))) {
        s_join(option->values, list, sizeof list);
        dir_bad_request(err, "options.%s must be one of %s", key, list);
        return -1;
    }
    return 0;
}

static int s_check_mapping(const char *key, const json_t *value, const char *type,
                           dir_error_t *err)
{
    char list[120];
    if (!s_listed(s_fields, key)) {
        s_join(s_fields, list, sizeof list);
        dir_bad_request(err, "attribute_mapping.%.64s is not a profile field (fields: %s)", key,
                        list);
        return -1;
    }
    const char *name = json_string_value(value);
    size_t len = name ? strlen(name) : 0;
    if (!json_is_string(value) || len == 0 || len > DIR_CONN_MAPPING_NAME_MAX
        || len != json_string_length(value)) {
        dir_bad_request(err, "attribute_mapping.%s must be an attribute or claim name of 1 to %d "
                             "characters", key, DIR_CONN_MAPPING_NAME_MAX);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *) name; *p; p++)
        if (*p <= 0x20 || *p == 0x7f) {
            dir_bad_request(err, "attribute_mapping.%s must not contain spaces or control "
                                 "characters", key);
            return -1;
        }
    /* '$' names are sources that are not attributes: only the SAML NameID so far. */
    if (name[0] == '$'
        && (strcmp(name, SSO_UPSTREAM_NAMEID_SOURCE) != 0 || strcmp(type, "saml") != 0)) {
        dir_bad_request(err, "attribute_mapping.%s: names starting with $ are reserved; the "
                             "only one is %s (the NameID), for saml connections",
                        key, SSO_UPSTREAM_NAMEID_SOURCE);
        return -1;
    }
    return 0;
}

/* Merges body[key] into *stored (RFC 7396 for one level: null removes a key, and a null
   body[key] removes them all), each key checked by option (true) or mapping (false). */
static int s_merge(const json_t *body, const char *key, bool option, const char *type,
                   json_t **stored, dir_error_t *err)
{
    json_t *patch = json_object_get(body, key);
    if (!patch)
        return 0;
    if (!json_is_object(patch) && !json_is_null(patch)) {
        dir_bad_request(err, "%s must be an object", key);
        return -1;
    }
    json_t *merged = json_is_null(patch) || !json_is_object(*stored) ? json_object()
                                                                     : json_deep_copy(*stored);
    const char *name;
    json_t *value;
    json_object_foreach(patch, name, value) {
        if (json_is_null(value))
            json_object_del(merged, name);
        else if ((option ? s_check_option(name, value, type, err)
                         : s_check_mapping(name, value, type, err)) != 0
                 || json_object_set(merged, name, value) != 0) {
            if (!err->code)
                dir_server_error(err);
            json_decref(merged);
            return -1;
        }
    }
    json_decref(*stored);
    *stored = merged;
    return 0;
}

int dir_conn_options_merge(const json_t *body, const char *type, json_t **options,
                           json_t **mapping, dir_error_t *err)
{
    json_t *new_options = *options ? json_deep_copy(*options) : json_object();
    json_t *new_mapping = *mapping ? json_deep_copy(*mapping) : json_object();
    if (!new_options || !new_mapping || s_merge(body, "options", true, type, &new_options, err) != 0
        || s_merge(body, "attribute_mapping", false, type, &new_mapping, err) != 0) {
        if (!err->code)
            dir_server_error(err);
        json_decref(new_options);
        json_decref(new_mapping);
        return -1;
    }
    json_decref(*options);
    json_decref(*mapping);
    *options = new_options;
    *mapping = new_mapping;
    return 0;
}

int dir_conn_options_fill(Sso__Connection *conn, const char *options_text,
                          const char *mapping_text)
{
    json_t *options = json_loads(options_text ? options_text : "{}", 0, NULL);
    json_t *mapping = json_loads(mapping_text ? mapping_text : "{}", 0, NULL);
    const char *type = conn->type ? conn->type : "";
    const s_option_t *option;
    int rc = 0;
    json_t *value;
    if ((value = json_object_get(options, "response_mode")) && s_option("response_mode", type)
        && json_is_string(value))
        rc |= !(conn->oidc_response_mode = dir_rpc_dup(json_string_value(value)));
    if ((value = json_object_get(options, "token_endpoint_auth_method"))
        && (option = s_option("token_endpoint_auth_method", type)) && json_is_string(value))
        rc |= !(conn->oidc_token_auth_method = dir_rpc_dup(json_string_value(value)));
    conn->allow_unverified_email = s_option("allow_unverified_email", type)
                                   && json_is_true(json_object_get(options,
                                                                   "allow_unverified_email"));
    conn->saml_require_encryption = s_option("require_encryption", type)
                                    && json_is_true(json_object_get(options,
                                                                    "require_encryption"));
    conn->saml_allow_3des = s_option("allow_3des", type)
                            && json_is_true(json_object_get(options, "allow_3des"));
    /* SAML's AuthnRequest and validation options (proto: the saml_* fields). */
    bool saml = !strcmp(type, "saml");
    conn->sign_authn_requests = saml && json_is_true(json_object_get(options,
                                                                     "sign_authn_requests"));
    if (saml && json_is_string(value = json_object_get(options, "nameid_format")))
        rc |= !(conn->saml_nameid_format = dir_rpc_dup(json_string_value(value)));
    if (saml && json_is_string(value = json_object_get(options, "binding")))
        rc |= !(conn->saml_binding = dir_rpc_dup(json_string_value(value)));
    conn->saml_allow_idp_initiated = saml && json_is_true(json_object_get(options,
                                                                          "allow_idp_initiated"));
    /* Always filled for a SAML connection (proto3 cannot tell 0 from absent). */
    conn->saml_clock_skew_s =
        saml ? (int32_t) s_in_range(s_range(s_option("clock_skew_s", type)),
                                    json_object_get(options, "clock_skew_s"),
                                    DIR_CONN_CLOCK_SKEW_DEFAULT)
             : 0;
    size_t count = json_is_object(mapping) ? json_object_size(mapping) : 0;
    if (count && !(conn->attribute_mapping = calloc(count, sizeof *conn->attribute_mapping)))
        rc = 1;
    const char *field;
    json_object_foreach(count && !rc ? mapping : NULL, field, value) {
        if (!s_listed(s_fields, field) || !json_is_string(value))
            continue;
        Sso__AttributeMapping *map = malloc(sizeof *map);
        if (!map) {
            rc = 1;
            break;
        }
        sso__attribute_mapping__init(map);
        map->field = dir_rpc_dup(field);
        map->name = dir_rpc_dup(json_string_value(value));
        conn->attribute_mapping[conn->n_attribute_mapping++] = map;
        if (!map->field || !map->name) {
            rc = 1;
            break;
        }
    }
    json_decref(options);
    json_decref(mapping);
    return rc ? -1 : 0;
}

int dir_conn_options_check_client(dir_t *dir, const json_t *options, dir_error_t *err)
{
    const char *id = json_string_value(json_object_get(options, "idp_initiated_client_id"));
    if (!json_is_true(json_object_get(options, "allow_idp_initiated")) && !id)
        return 0;
    if (!id) {
        dir_bad_request(err, "options.allow_idp_initiated needs options.idp_initiated_client_id: "
                             "the client whose initiate_login_uri starts the login");
        return -1;
    }
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT is_admin, coalesce(initiate_login_uri, "
                                                "'') FROM clients WHERE id = ?", "s", id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_ERROR)
        dir_server_error(err);
    else if (step != DIR_DB_ROW)
        dir_bad_request(err, "options.idp_initiated_client_id: no client %.128s", id);
    else if (dir_db_int64(stmt, 0) != 0 || !strcmp(id, DIR_SEED_TRY_CLIENT_ID))
        dir_bad_request(err, "options.idp_initiated_client_id: %.128s is a built-in client", id);
    else if (!*dir_db_text(stmt, 1))
        dir_bad_request(err, "options.idp_initiated_client_id: client %.128s has no "
                             "initiate_login_uri (set it with PATCH /api/v1/clients/%.128s)",
                        id, id);
    if (stmt)
        dir_db_release(stmt);
    return err->code ? -1 : 0;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* Merges body (JSON text) into the stored texts; the result as compact text, or NULL when
   refused (with the reason in why). */
static char *s_try(const char *type, const char *stored_options, const char *stored_mapping,
                   const char *body_text, bool want_mapping, char *why, size_t why_size)
{
    json_t *body = json_loads(body_text, JSON_ALLOW_NUL, NULL);
    json_t *options = json_loads(stored_options, 0, NULL);
    json_t *mapping = json_loads(stored_mapping, 0, NULL);
    dir_error_t err = {0};
    char *out = NULL;
    if (dir_conn_options_merge(body, type, &options, &mapping, &err) == 0)
        out = json_dumps(want_mapping ? mapping : options, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(why, why_size, "%s", err.description);
    json_decref(body);
    json_decref(options);
    json_decref(mapping);
    return out;
}

static bool s_is(char *got, const char *want)
{
    bool same = got && !strcmp(got, want);
    free(got);
    return same;
}

void dir_conn_options_test(bool verbose)
{
    (void) verbose;
    char why[320];
    /* Absent: what is stored stays. */
    SSO_CHECK(s_is(s_try("oidc", "{\"response_mode\":\"form_post\"}", "{}", "{}", false, why,
                         sizeof why),
                   "{\"response_mode\":\"form_post\"}"));
    /* Set, merge, remove one with null, remove all with null. */
    SSO_CHECK(s_is(s_try("oidc", "{\"response_mode\":\"form_post\"}", "{}",
                         "{\"options\":{\"allow_unverified_email\":true}}", false, why,
                         sizeof why),
                   "{\"allow_unverified_email\":true,\"response_mode\":\"form_post\"}"));
    SSO_CHECK(s_is(s_try("oidc", "{\"response_mode\":\"form_post\"}", "{}",
                         "{\"options\":{\"response_mode\":null}}", false, why, sizeof why),
                   "{}"));
    SSO_CHECK(s_is(s_try("oidc", "{\"response_mode\":\"form_post\"}", "{}",
                         "{\"options\":null}", false, why, sizeof why),
                   "{}"));
    SSO_CHECK(s_is(s_try("oidc", "{}", "{\"email\":\"mail\"}",
                         "{\"attribute_mapping\":{\"groups\":\"roles\",\"email\":null}}", true,
                         why, sizeof why),
                   "{\"groups\":\"roles\"}"));
    SSO_CHECK(s_is(s_try("saml", "{}", "{}",
                         "{\"attribute_mapping\":{\"email\":"
                         "\"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress\"}}",
                         true, why, sizeof why),
                   "{\"email\":\"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
                   "emailaddress\"}"));
    /* A SAML field from the NameID. */
    SSO_CHECK(s_is(s_try("saml", "{}", "{\"email\":\"mail\"}",
                         "{\"attribute_mapping\":{\"name\":\"$nameid\"}}", true, why,
                         sizeof why),
                   "{\"email\":\"mail\",\"name\":\"$nameid\"}"));
    /* Refused, each with its reason, and nothing changes. */
    static const struct {
        const char *type, *body, *reason;
    } refused[] = {
        {"oidc", "{\"options\":[]}", "options must be an object"},
        {"oidc", "{\"options\":\"form_post\"}", "options must be an object"},
        {"oidc", "{\"options\":{\"response_mode\":\"fragment\"}}",
         "options.response_mode must be one of query, form_post"},
        {"oidc", "{\"options\":{\"response_mode\":\"\"}}", "options.response_mode must be one of"},
        {"oidc", "{\"options\":{\"response_mode\":1}}", "options.response_mode must be one of"},
        {"oidc", "{\"options\":{\"token_endpoint_auth_method\":\"none\"}}",
         "options.token_endpoint_auth_method must be one of client_secret_basic, "
         "client_secret_post, private_key_jwt"},
        {"oidc", "{\"options\":{\"allow_unverified_email\":\"yes\"}}",
         "options.allow_unverified_email must be true or false"},
        {"oidc", "{\"options\":{\"bogus\":true}}",
         "options.bogus is not an option of oidc connections (theirs: response_mode, "
         "token_endpoint_auth_method, allow_unverified_email)"},
        {"saml", "{\"options\":{\"response_mode\":\"query\"}}",
         "options.response_mode is not an option of saml connections (theirs: "
         "require_encryption, allow_3des, sign_authn_requests, nameid_format, binding, "
         "clock_skew_s, allow_idp_initiated, idp_initiated_client_id)"},
        {"saml", "{\"options\":{\"idp_initiated_client_id\":\"\"}}",
         "options.idp_initiated_client_id must be a client id"},
        {"saml", "{\"options\":{\"allow_idp_initiated\":1}}",
         "options.allow_idp_initiated must be true or false"},
        {"saml", "{\"options\":{\"allow_3des\":\"true\"}}",
         "options.allow_3des must be true or false"},
        {"saml", "{\"options\":{\"require_encryption\":1}}",
         "options.require_encryption must be true or false"},
        {"oidc", "{\"options\":{\"allow_3des\":true}}",
         "options.allow_3des is not an option of oidc connections"},
        {"oidc", "{\"options\":{\"clock_skew_s\":120}}",
         "options.clock_skew_s is not an option of oidc connections"},
        /* clock_skew_s: a whole number of seconds, 0 to 600. */
        {"saml", "{\"options\":{\"clock_skew_s\":-1}}",
         "options.clock_skew_s must be a whole number from 0 to 600, got -1"},
        {"saml", "{\"options\":{\"clock_skew_s\":601}}",
         "options.clock_skew_s must be a whole number from 0 to 600, got 601"},
        {"saml", "{\"options\":{\"clock_skew_s\":1.5}}",
         "options.clock_skew_s must be a whole number from 0 to 600, got 1.5"},
        {"saml", "{\"options\":{\"clock_skew_s\":120.0}}",
         "options.clock_skew_s must be a whole number from 0 to 600, got 120"},
        {"saml", "{\"options\":{\"clock_skew_s\":\"120\"}}",
         "options.clock_skew_s must be a whole number from 0 to 600, got a string"},
        {"saml", "{\"options\":{\"clock_skew_s\":true}}",
         "options.clock_skew_s must be a whole number from 0 to 600, got a boolean"},
        {"saml", "{\"options\":{\"clock_skew_s\":[120]}}",
         "options.clock_skew_s must be a whole number from 0 to 600, got an object or array"},
        {"saml", "{\"options\":{\"clock_skew_s\":-9223372036854775808}}",
         "options.clock_skew_s must be a whole number from 0 to 600, got -9223372036854775808"},
        /* The other SAML options: absent values, empty and hostile ones. */
        {"saml", "{\"options\":{\"sign_authn_requests\":\"true\"}}",
         "options.sign_authn_requests must be true or false"},
        {"saml", "{\"options\":{\"sign_authn_requests\":1}}",
         "options.sign_authn_requests must be true or false"},
        {"saml", "{\"options\":{\"nameid_format\":\"\"}}",
         "options.nameid_format must be one of urn:oasis:names:tc:SAML:1.1:nameid-format:"
         "unspecified, urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress, "
         "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent, "
         "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"},
        {"saml", "{\"options\":{\"nameid_format\":"
                 "\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\"}}",
         "options.nameid_format must be one of"},
        {"saml", "{\"options\":{\"nameid_format\":\"\\\"><x/>\"}}",
         "options.nameid_format must be one of"},
        {"saml", "{\"options\":{\"nameid_format\":"
                 "\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\\u0000\"}}",
         "options.nameid_format must be one of"},
        {"saml", "{\"options\":{\"nameid_format\":null,\"binding\":\"HTTP-POST\"}}",
         "options.binding must be one of http-redirect, http-post"},
        {"saml", "{\"options\":{\"binding\":\"\"}}", "options.binding must be one of"},
        {"saml", "{\"options\":{\"binding\":\"soap\"}}", "options.binding must be one of"},
        {"saml", "{\"options\":{\"binding\":false}}", "options.binding must be one of"},
        {"oidc", "{\"attribute_mapping\":[]}", "attribute_mapping must be an object"},
        {"oidc", "{\"attribute_mapping\":{\"sub\":\"oid\"}}",
         "attribute_mapping.sub is not a profile field (fields: email, name, given_name, "
         "family_name, groups)"},
        {"oidc", "{\"attribute_mapping\":{\"email\":\"\"}}",
         "attribute_mapping.email must be an attribute or claim name of 1 to 256"},
        {"oidc", "{\"attribute_mapping\":{\"email\":true}}",
         "attribute_mapping.email must be an attribute or claim name"},
        {"oidc", "{\"attribute_mapping\":{\"email\":\"a b\"}}",
         "attribute_mapping.email must not contain spaces or control characters"},
        {"oidc", "{\"attribute_mapping\":{\"email\":\"a\\u0000b\"}}",
         "attribute_mapping.email must be an attribute or claim name"},
        {"oidc", "{\"attribute_mapping\":{\"email\":\"a\\tb\"}}",
         "attribute_mapping.email must not contain spaces or control characters"},
        /* The NameID source: SAML only; every other '$' name is reserved. */
        {"oidc", "{\"attribute_mapping\":{\"email\":\"$nameid\"}}",
         "attribute_mapping.email: names starting with $ are reserved; the only one is $nameid "
         "(the NameID), for saml connections"},
        {"saml", "{\"attribute_mapping\":{\"name\":\"$NameID\"}}",
         "attribute_mapping.name: names starting with $ are reserved"},
        {"saml", "{\"attribute_mapping\":{\"name\":\"$nameid.x\"}}",
         "attribute_mapping.name: names starting with $ are reserved"},
        {"saml", "{\"attribute_mapping\":{\"name\":\"$\"}}",
         "attribute_mapping.name: names starting with $ are reserved"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char *got = s_try(refused[i].type, "{\"response_mode\":\"query\"}", "{}",
                          refused[i].body, false, why, sizeof why);
        SSO_CHECK(!got);
        free(got);
        SSO_CHECK(strncmp(why, refused[i].reason, strlen(refused[i].reason)) == 0);
        if (strncmp(why, refused[i].reason, strlen(refused[i].reason)) != 0)
            fprintf(stderr, "  got: %s\n", why);
    }
    /* The SAML options: set at their bounds, merged, and back to the default with null. */
    static const struct {
        const char *stored, *body, *merged;
    } saml_merges[] = {
        {"{}",
         "{\"options\":{\"sign_authn_requests\":true,\"clock_skew_s\":0,\"binding\":"
         "\"http-post\",\"nameid_format\":\"urn:oasis:names:tc:SAML:2.0:nameid-format:"
         "persistent\"}}",
         "{\"binding\":\"http-post\",\"clock_skew_s\":0,\"nameid_format\":"
         "\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\",\"sign_authn_requests\":true}"},
        {"{\"clock_skew_s\":0,\"binding\":\"http-post\"}",
         "{\"options\":{\"clock_skew_s\":600,\"binding\":null}}", "{\"clock_skew_s\":600}"},
        {"{\"clock_skew_s\":30}", "{\"options\":{\"clock_skew_s\":null}}", "{}"},
    };
    for (size_t i = 0; i < sizeof saml_merges / sizeof *saml_merges; i++)
        SSO_CHECK(s_is(s_try("saml", saml_merges[i].stored, "{}", saml_merges[i].body, false,
                             why, sizeof why),
                       saml_merges[i].merged));
    char long_name[DIR_CONN_MAPPING_NAME_MAX + 40];
    snprintf(long_name, sizeof long_name, "{\"attribute_mapping\":{\"name\":\"%0*d\"}}",
             DIR_CONN_MAPPING_NAME_MAX + 1, 0);
    SSO_CHECK(!s_try("oidc", "{}", "{}", long_name, true, why, sizeof why));

    /* The typed form: known keys of the type only. */
    Sso__Connection conn;
    sso__connection__init(&conn);
    conn.type = "oidc";
    SSO_CHECK(dir_conn_options_fill(&conn,
                                    "{\"response_mode\":\"form_post\",\"allow_unverified_email\":"
                                    "true,\"token_endpoint_auth_method\":\"private_key_jwt\"}",
                                    "{\"email\":\"mail\",\"bogus\":\"x\"}")
              == 0);
    SSO_CHECK(conn.oidc_response_mode && !strcmp(conn.oidc_response_mode, "form_post"));
    SSO_CHECK(conn.oidc_token_auth_method
              && !strcmp(conn.oidc_token_auth_method, "private_key_jwt"));
    SSO_CHECK(conn.allow_unverified_email);
    SSO_CHECK(conn.n_attribute_mapping == 1 && !strcmp(conn.attribute_mapping[0]->field, "email")
              && !strcmp(conn.attribute_mapping[0]->name, "mail"));
    free(conn.oidc_response_mode);
    free(conn.oidc_token_auth_method);
    for (size_t i = 0; i < conn.n_attribute_mapping; i++) {
        free(conn.attribute_mapping[i]->field);
        free(conn.attribute_mapping[i]->name);
        free(conn.attribute_mapping[i]);
    }
    free(conn.attribute_mapping);
    /* A SAML connection takes none of the OIDC options, whatever is stored. */
    sso__connection__init(&conn);
    conn.type = "saml";
    SSO_CHECK(dir_conn_options_fill(&conn, "{\"response_mode\":\"form_post\","
                                           "\"allow_unverified_email\":true}", "not json")
              == 0);
    SSO_CHECK(!*conn.oidc_response_mode && !conn.allow_unverified_email
              && conn.n_attribute_mapping == 0 && !conn.saml_require_encryption
              && !conn.saml_allow_3des);
    /* ... and nothing set: the defaults (unsigned, redirect, no format, 120 s). */
    SSO_CHECK(!conn.sign_authn_requests && !*conn.saml_nameid_format && !*conn.saml_binding
              && conn.saml_clock_skew_s == DIR_CONN_CLOCK_SKEW_DEFAULT
              && !conn.saml_allow_idp_initiated);
    /* Its own options, typed; a stored value out of range (never written by the API) is the
       default. */
    sso__connection__init(&conn);
    conn.type = "saml";
    SSO_CHECK(dir_conn_options_fill(&conn, "{\"sign_authn_requests\":true,\"clock_skew_s\":0,"
                                           "\"allow_idp_initiated\":true,"
                                           "\"binding\":\"http-post\",\"nameid_format\":"
                                           "\"urn:oasis:names:tc:SAML:2.0:nameid-format:"
                                           "transient\"}", "{}")
              == 0);
    SSO_CHECK(conn.sign_authn_requests && conn.saml_clock_skew_s == 0
              && conn.saml_allow_idp_initiated
              && !strcmp(conn.saml_binding, "http-post")
              && !strcmp(conn.saml_nameid_format,
                         "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"));
    /* Unset (a failed fill) they are protobuf-c's shared empty string, never freed. */
    if (*conn.saml_binding)
        free(conn.saml_binding);
    if (*conn.saml_nameid_format)
        free(conn.saml_nameid_format);
    sso__connection__init(&conn);
    conn.type = "saml";
    SSO_CHECK(dir_conn_options_fill(&conn, "{\"clock_skew_s\":601}", "{}") == 0
              && conn.saml_clock_skew_s == DIR_CONN_CLOCK_SKEW_DEFAULT);
    /* An OIDC connection takes none of the SAML ones. */
    sso__connection__init(&conn);
    conn.type = "oidc";
    SSO_CHECK(dir_conn_options_fill(&conn, "{\"sign_authn_requests\":true,\"clock_skew_s\":5,"
                                           "\"binding\":\"http-post\"}", "{}")
              == 0);
    SSO_CHECK(!conn.sign_authn_requests && conn.saml_clock_skew_s == 0 && !*conn.saml_binding);
    sso__connection__init(&conn);
    conn.type = "saml";
    /* The SAML options: absent, false, true; an OIDC connection takes neither. */
    SSO_CHECK(dir_conn_options_fill(&conn, "{\"require_encryption\":true,\"allow_3des\":false}",
                                    NULL) == 0
              && conn.saml_require_encryption && !conn.saml_allow_3des);
    SSO_CHECK(dir_conn_options_fill(&conn, "{\"allow_3des\":true}", NULL) == 0
              && !conn.saml_require_encryption && conn.saml_allow_3des);
    SSO_CHECK(s_is(s_try("saml", "{}", "{}", "{\"options\":{\"allow_3des\":true,"
                         "\"require_encryption\":true}}", false, why, sizeof why),
                   "{\"allow_3des\":true,\"require_encryption\":true}"));
    sso__connection__init(&conn);
    conn.type = "oidc";
    SSO_CHECK(dir_conn_options_fill(&conn, "{\"require_encryption\":true,\"allow_3des\":true}",
                                    NULL) == 0
              && !conn.saml_require_encryption && !conn.saml_allow_3des);
}
