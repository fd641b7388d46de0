/* sso_oidc_discovery: upstream OIDC discovery and JWKS, checked and fetched. */
#include "sso_oidc_discovery.h"
#include "sso_fetch.h"
#include "sso_oidc_test_idp.h"
#include "sso_test.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S_QUOTE_MAX 160 /* bytes of a document's value quoted in a reason */

static const struct {
    const char *name;
    unsigned bit;
} s_algs[] = {
    {"RS256", SSO_OIDC_ALG_RS256}, {"RS384", SSO_OIDC_ALG_RS384}, {"RS512", SSO_OIDC_ALG_RS512},
    {"PS256", SSO_OIDC_ALG_PS256}, {"PS384", SSO_OIDC_ALG_PS384}, {"PS512", SSO_OIDC_ALG_PS512},
    {"ES256", SSO_OIDC_ALG_ES256}, {"ES384", SSO_OIDC_ALG_ES384}, {"ES512", SSO_OIDC_ALG_ES512},
};

static const struct {
    const char *name;
    unsigned bit;
} s_auth_methods[] = {
    {"client_secret_basic", SSO_OIDC_AUTH_CLIENT_SECRET_BASIC},
    {"client_secret_post", SSO_OIDC_AUTH_CLIENT_SECRET_POST},
    {"private_key_jwt", SSO_OIDC_AUTH_PRIVATE_KEY_JWT},
};

/* text as printable ASCII (anything else becomes '?'), cut to S_QUOTE_MAX bytes with "...":
   what a document says may be shown in a reason, but not as it is. */
static const char *s_quote(char *out, size_t size, const char *text)
{
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *) (text ? text : ""); *p; p++) {
        if (len + 4 >= size || len >= S_QUOTE_MAX) {
            snprintf(out + len, size - len, "...");
            return out;
        }
        out[len++] = *p >= 0x20 && *p < 0x7f ? (char) *p : '?';
    }
    out[len] = '\0';
    return out;
}

void sso_oidc_discovery_free(sso_oidc_discovery_t *discovery)
{
    if (!discovery)
        return;
    free(discovery->issuer);
    free(discovery->authorization_endpoint);
    free(discovery->token_endpoint);
    free(discovery->jwks_uri);
    free(discovery->userinfo_endpoint);
    memset(discovery, 0, sizeof *discovery);
}

static int s_dup(char **field, const char *value)
{
    *field = value ? strdup(value) : NULL;
    return value && !*field ? -1 : 0;
}

int sso_oidc_discovery_copy(sso_oidc_discovery_t *dst, const sso_oidc_discovery_t *src)
{
    *dst = *src;
    if (s_dup(&dst->issuer, src->issuer) != 0
        || s_dup(&dst->authorization_endpoint, src->authorization_endpoint) != 0
        || s_dup(&dst->token_endpoint, src->token_endpoint) != 0
        || s_dup(&dst->jwks_uri, src->jwks_uri) != 0
        || s_dup(&dst->userinfo_endpoint, src->userinfo_endpoint) != 0) {
        sso_oidc_discovery_free(dst);
        return -1;
    }
    return 0;
}

bool sso_oidc_discovery_alg_ok(const sso_oidc_discovery_t *discovery, const char *alg)
{
    for (size_t i = 0; alg && i < sizeof s_algs / sizeof s_algs[0]; i++)
        if (strcmp(alg, s_algs[i].name) == 0)
            return (discovery->algs & s_algs[i].bit) != 0;
    return false;
}

void sso_oidc_discovery_algs(const sso_oidc_discovery_t *discovery,
                             const char *algs[SSO_OIDC_ALGS_MAX + 1])
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof s_algs / sizeof s_algs[0] && n < SSO_OIDC_ALGS_MAX; i++)
        if (discovery->algs & s_algs[i].bit)
            algs[n++] = s_algs[i].name;
    algs[n] = NULL;
}

const char *sso_oidc_auth_method_name(sso_oidc_token_auth_t method)
{
    for (size_t i = 0; i < sizeof s_auth_methods / sizeof s_auth_methods[0]; i++)
        if (method == s_auth_methods[i].bit)
            return s_auth_methods[i].name;
    return "";
}

int sso_oidc_discovery_auth_method(const sso_oidc_discovery_t *discovery, const char *method,
                                   sso_oidc_token_auth_t *out, char *why, size_t why_size)
{
    unsigned listed = discovery->auth_methods;
    char names[100] = "";
    size_t len = 0;
    for (size_t i = 0; i < sizeof s_auth_methods / sizeof s_auth_methods[0]; i++)
        if (listed & s_auth_methods[i].bit) {
            int n = snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "",
                             s_auth_methods[i].name);
            len += n > 0 && (size_t) n < sizeof names - len ? (size_t) n : 0;
        }
    *out = 0;
    if (!method || !*method) {
        *out = listed & SSO_OIDC_AUTH_CLIENT_SECRET_BASIC  ? SSO_OIDC_AUTH_CLIENT_SECRET_BASIC
               : listed & SSO_OIDC_AUTH_CLIENT_SECRET_POST ? SSO_OIDC_AUTH_CLIENT_SECRET_POST
                                                           : 0;
        if (!*out)
            snprintf(why, why_size, "discovery token_endpoint_auth_methods_supported offers "
                                    "neither client_secret_basic nor client_secret_post (got "
                                    "%s): set options.token_endpoint_auth_method to one it "
                                    "offers", len ? names : "nothing the broker uses");
        return *out ? 0 : -1;
    }
    for (size_t i = 0; i < sizeof s_auth_methods / sizeof s_auth_methods[0]; i++)
        if (!strcmp(method, s_auth_methods[i].name))
            *out = s_auth_methods[i].bit;
    char quoted[S_QUOTE_MAX + 8];
    if (!*out)
        snprintf(why, why_size, "token_endpoint_auth_method %s is none of client_secret_basic, "
                 "client_secret_post, private_key_jwt", s_quote(quoted, sizeof quoted, method));
    else if (!(listed & *out))
        snprintf(why, why_size, "discovery token_endpoint_auth_methods_supported does not list "
                 "%s, the connection's token_endpoint_auth_method (got %s)", method,
                 len ? names : "nothing the broker uses");
    else if (*out == SSO_OIDC_AUTH_PRIVATE_KEY_JWT
             && !(discovery->auth_signing_algs & SSO_OIDC_ALG_RS256))
        snprintf(why, why_size, "discovery token_endpoint_auth_signing_alg_values_supported "
                                "does not list RS256, the algorithm of the broker's client "
                                "assertions");
    else
        return 0;
    *out = 0;
    return -1;
}

/* The list named name: 1 with *list an array of strings, 0 when absent (or null), -1 when it
   is something else. */
static int s_list(json_t *doc, const char *name, json_t **list, char *why, size_t why_size)
{
    json_t *value = json_object_get(doc, name);
    *list = NULL;
    if (!value || json_is_null(value))
        return 0;
    size_t index;
    json_t *item;
    bool strings = json_is_array(value);
    json_array_foreach(value, index, item) strings = strings && json_is_string(item);
    if (!strings) {
        snprintf(why, why_size, "discovery %s is not an array of strings", name);
        return -1;
    }
    *list = value;
    return 1;
}

static bool s_lists(json_t *list, const char *value)
{
    size_t index;
    json_t *item;
    json_array_foreach(list, index, item) if (strcmp(json_string_value(item), value) == 0)
        return true;
    return false;
}

/* The list's values, quoted and comma-separated, for a reason. */
static const char *s_list_text(json_t *list, char *out, size_t size)
{
    char joined[S_QUOTE_MAX * 2] = "";
    size_t len = 0, index;
    json_t *item;
    json_array_foreach(list, index, item) {
        int n = snprintf(joined + len, sizeof joined - len, "%s%s", index ? ", " : "",
                         json_string_value(item));
        if (n < 0 || (size_t) n >= sizeof joined - len)
            break;
        len += (size_t) n;
    }
    return s_quote(out, size, len ? joined : "nothing");
}

/* The string field name: 0 with *value (NULL when absent and optional), or -1. */
static int s_string(json_t *doc, const char *name, bool required, const char **value,
                    char *why, size_t why_size)
{
    json_t *field = json_object_get(doc, name);
    *value = json_string_value(field);
    if (*value || (!required && (!field || json_is_null(field))))
        return 0;
    snprintf(why, why_size, field ? "discovery %s is not a string" : "discovery has no %s", name);
    return -1;
}

/* An endpoint the broker will call or send browsers to: the fetch rule's scheme (https; http
   to loopback only when private upstreams are allowed), no fragment, printable, bounded. */
static int s_endpoint(json_t *doc, const char *name, bool required, bool allow_private,
                      char **out, char *why, size_t why_size)
{
    const char *url;
    if (s_string(doc, name, required, &url, why, why_size) != 0)
        return -1;
    if (!url)
        return 0;
    char quoted[S_QUOTE_MAX + 8], reason[300];
    bool plain_http, clean = strlen(url) <= SSO_OIDC_URL_MAX && !strchr(url, '#');
    for (const unsigned char *p = (const unsigned char *) url; clean && *p; p++)
        clean = *p > 0x20 && *p < 0x7f;
    if (!clean) {
        snprintf(why, why_size, "discovery %s is not a URL without fragment (%s)", name,
                 s_quote(quoted, sizeof quoted, url));
        return -1;
    }
    if (sso_fetch_url_check(url, allow_private, &plain_http, reason, sizeof reason) != 0) {
        snprintf(why, why_size, "discovery %s %s: %s", name, s_quote(quoted, sizeof quoted, url),
                 reason);
        return -1;
    }
    if (!(*out = strdup(url))) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    return 0;
}

static int s_read(json_t *doc, const char *expected_issuer, bool allow_private,
                  sso_oidc_discovery_t *out, char *why, size_t why_size)
{
    const char *issuer;
    char quoted[S_QUOTE_MAX + 8], quoted2[S_QUOTE_MAX + 8];
    if (s_string(doc, "issuer", true, &issuer, why, why_size) != 0)
        return -1;
    if (!expected_issuer || strcmp(issuer, expected_issuer) != 0) {
        snprintf(why, why_size, "discovery issuer: expected %s, got %s",
                 s_quote(quoted, sizeof quoted, expected_issuer),
                 s_quote(quoted2, sizeof quoted2, issuer));
        return -1;
    }
    if (s_dup(&out->issuer, issuer) != 0) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    if (s_endpoint(doc, "authorization_endpoint", true, allow_private,
                   &out->authorization_endpoint, why, why_size) != 0
        || s_endpoint(doc, "token_endpoint", true, allow_private, &out->token_endpoint, why,
                      why_size) != 0
        || s_endpoint(doc, "jwks_uri", true, allow_private, &out->jwks_uri, why, why_size) != 0
        || s_endpoint(doc, "userinfo_endpoint", false, allow_private, &out->userinfo_endpoint,
                      why, why_size) != 0)
        return -1;

    json_t *list;
    int found = s_list(doc, "response_types_supported", &list, why, why_size);
    if (found < 0)
        return -1;
    if (found == 0 || !s_lists(list, "code")) {
        snprintf(why, why_size, "discovery response_types_supported does not list \"code\" "
                                "(got %s)", found ? s_list_text(list, quoted, sizeof quoted)
                                                  : "nothing");
        return -1;
    }

    /* Absent: RS256 (OIDC Discovery section 3). */
    if ((found = s_list(doc, "id_token_signing_alg_values_supported", &list, why,
                        why_size)) < 0)
        return -1;
    out->algs = found ? 0 : SSO_OIDC_ALG_RS256;
    for (size_t i = 0; found && i < sizeof s_algs / sizeof s_algs[0]; i++)
        if (s_lists(list, s_algs[i].name))
            out->algs |= s_algs[i].bit;
    if (!out->algs) {
        snprintf(why, why_size, "discovery id_token_signing_alg_values_supported offers none "
                                "of RS256/384/512, PS256/384/512, ES256/384/512 (got %s)",
                 s_list_text(list, quoted, sizeof quoted));
        return -1;
    }

    /* Absent: client_secret_basic (OIDC Discovery section 3). Which one a connection uses is
       sso_oidc_discovery_auth_method's choice. */
    if ((found = s_list(doc, "token_endpoint_auth_methods_supported", &list, why,
                        why_size)) < 0)
        return -1;
    out->auth_methods = found ? 0 : SSO_OIDC_AUTH_CLIENT_SECRET_BASIC;
    for (size_t i = 0; found && i < sizeof s_auth_methods / sizeof s_auth_methods[0]; i++)
        if (s_lists(list, s_auth_methods[i].name))
            out->auth_methods |= s_auth_methods[i].bit;
    if (!out->auth_methods) {
        snprintf(why, why_size, "discovery token_endpoint_auth_methods_supported offers none of "
                                "client_secret_basic, client_secret_post, private_key_jwt (got %s)",
                 s_list_text(list, quoted, sizeof quoted));
        return -1;
    }
    /* Absent: RS256 assumed, as for the ID token (the one algorithm every provider has). */
    if ((found = s_list(doc, "token_endpoint_auth_signing_alg_values_supported", &list, why,
                        why_size)) < 0)
        return -1;
    out->auth_signing_algs = found ? 0 : SSO_OIDC_ALG_RS256;
    for (size_t i = 0; found && i < sizeof s_algs / sizeof s_algs[0]; i++)
        if (s_lists(list, s_algs[i].name))
            out->auth_signing_algs |= s_algs[i].bit;

    if ((found = s_list(doc, "code_challenge_methods_supported", &list, why, why_size)) < 0)
        return -1;
    out->pkce_s256 = found && s_lists(list, "S256");
    if ((found = s_list(doc, "response_modes_supported", &list, why, why_size)) < 0)
        return -1;
    out->form_post = found && s_lists(list, "form_post");
    out->max_age_s = SSO_OIDC_MAX_AGE_DEFAULT_S;
    return 0;
}

/* A JSON document of at most max bytes that must be an object: it, or NULL with why. */
static json_t *s_load_object(const char *what, const char *text, size_t len, size_t max,
                             char *why, size_t why_size)
{
    if (!text || len == 0) {
        snprintf(why, why_size, "%s is empty", what);
        return NULL;
    }
    if (len > max) {
        snprintf(why, why_size, "%s is larger than %zu bytes", what, max);
        return NULL;
    }
    json_error_t error;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
    char quoted[S_QUOTE_MAX + 8];
    if (!doc)
        snprintf(why, why_size, "%s is not JSON: %s (line %d)", what,
                 s_quote(quoted, sizeof quoted, error.text), error.line);
    else if (!json_is_object(doc)) {
        snprintf(why, why_size, "%s is not a JSON object", what);
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

int sso_oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer,
                             bool allow_private, sso_oidc_discovery_t *out, char *why,
                             size_t why_size)
{
    memset(out, 0, sizeof *out);
    json_t *doc = s_load_object("the discovery document", json, len,
                                SSO_OIDC_DISCOVERY_MAX_BYTES, why, why_size);
    if (!doc)
        return -1;
    int rc = s_read(doc, expected_issuer, allow_private, out, why, why_size);
    json_decref(doc);
    if (rc != 0)
        sso_oidc_discovery_free(out);
    return rc;
}

/* ---- Cache-Control ----------------------------------------------------------------------- */

/* Digits (optionally quoted) as seconds, capped; -1 when not a number. */
static int64_t s_seconds(const char *value, size_t len)
{
    if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
        value++;
        len -= 2;
    }
    if (len == 0)
        return -1;
    int64_t seconds = 0;
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return -1;
        if (seconds < SSO_OIDC_MAX_AGE_MAX_S * 10LL)
            seconds = seconds * 10 + (value[i] - '0');
    }
    return seconds;
}

int64_t sso_oidc_max_age(const char *cache_control)
{
    int64_t age = -1;
    const char *p = cache_control ? cache_control : "";
    while (*p) {
        /* One directive: name[=value], the value a token or a quoted string. */
        p += strspn(p, " \t,");
        size_t name_len = strcspn(p, "=, \t");
        const char *name = p, *value = NULL;
        size_t value_len = 0;
        p += name_len;
        p += strspn(p, " \t");
        if (*p == '=') {
            p++;
            p += strspn(p, " \t");
            value = p;
            if (*p == '"') {
                const char *end = strchr(p + 1, '"');
                p = end ? end + 1 : p + strlen(p);
            }
            else
                p += strcspn(p, ", \t");
            value_len = (size_t) (p - value);
        }
        p += strcspn(p, ","); /* anything else up to the next directive is junk */
        if ((name_len == 8 && !strncasecmp(name, "no-store", 8))
            || (name_len == 8 && !strncasecmp(name, "no-cache", 8)))
            return SSO_OIDC_MAX_AGE_MIN_S;
        if (name_len == 7 && !strncasecmp(name, "max-age", 7)) {
            /* A max-age that is no number makes the answer stale at once (RFC 9111 4.2.1);
               several: the shortest. */
            int64_t seconds = value ? s_seconds(value, value_len) : -1;
            if (seconds < 0)
                seconds = 0;
            age = age < 0 || seconds < age ? seconds : age;
        }
    }
    if (age < 0)
        return SSO_OIDC_MAX_AGE_DEFAULT_S;
    return age < SSO_OIDC_MAX_AGE_MIN_S   ? SSO_OIDC_MAX_AGE_MIN_S
           : age > SSO_OIDC_MAX_AGE_MAX_S ? SSO_OIDC_MAX_AGE_MAX_S
                                          : age;
}

/* ---- fetching ---------------------------------------------------------------------------- */

/* application/json or application/<something>+json, with any parameters. */
static bool s_json_type(const char *content_type)
{
    if (!content_type)
        return false;
    size_t len = strcspn(content_type, "; \t");
    if (len == 16 && !strncasecmp(content_type, "application/json", 16))
        return true;
    return len > 17 && !strncasecmp(content_type, "application/", 12)
           && !strncasecmp(content_type + len - 5, "+json", 5);
}

/* GETs what (for reasons) at url: 0 with a 200 JSON answer in response, or -1 with why. */
static int s_get_json(const char *what, const char *url, bool allow_private, long timeout_ms,
                      size_t max_bytes, sso_fetch_response_t *response, char *why,
                      size_t why_size)
{
    sso_fetch_request_t request = {.url = url,
                                   .accept = "application/json",
                                   .allow_private = allow_private,
                                   .timeout_ms = timeout_ms,
                                   .max_bytes = max_bytes};
    char reason[300], quoted[S_QUOTE_MAX + 8];
    s_quote(quoted, sizeof quoted, url);
    if (sso_fetch(&request, response, reason, sizeof reason) != 0)
        snprintf(why, why_size, "%s at %s could not be fetched: %s", what, quoted, reason);
    else if (response->status != 200)
        snprintf(why, why_size, "%s at %s answered HTTP %ld", what, quoted, response->status);
    else if (!s_json_type(response->content_type)) {
        char type[S_QUOTE_MAX + 8];
        snprintf(why, why_size, "%s at %s answered Content-Type %s, not JSON", what, quoted,
                 response->content_type ? s_quote(type, sizeof type, response->content_type)
                                        : "(none)");
    }
    else
        return 0;
    sso_fetch_response_free(response);
    return -1;
}

int sso_oidc_discovery_fetch_within(const char *issuer, bool allow_private, long timeout_ms,
                                    sso_oidc_discovery_t *out, char *why, size_t why_size)
{
    static const char well_known[] = "/.well-known/openid-configuration";
    memset(out, 0, sizeof *out);
    size_t len = issuer ? strlen(issuer) : 0;
    if (len == 0 || len > SSO_OIDC_URL_MAX || strpbrk(issuer, "?#")) {
        snprintf(why, why_size, "the issuer must be a URL of at most %d bytes without query or "
                                "fragment", SSO_OIDC_URL_MAX);
        return -1;
    }
    /* OIDC Discovery section 4: a terminating "/" of the issuer is removed first. */
    while (len > 0 && issuer[len - 1] == '/')
        len--;
    char url[SSO_OIDC_URL_MAX + sizeof well_known];
    snprintf(url, sizeof url, "%.*s%s", (int) len, issuer, well_known);
    sso_fetch_response_t response;
    if (s_get_json("discovery", url, allow_private, timeout_ms, SSO_OIDC_DISCOVERY_MAX_BYTES,
                   &response, why, why_size) != 0)
        return -1;
    int rc = sso_oidc_discovery_parse(response.body, response.len, issuer, allow_private, out,
                                      why, why_size);
    if (rc == 0)
        out->max_age_s = sso_oidc_max_age(response.cache_control);
    sso_fetch_response_free(&response);
    return rc;
}

int sso_oidc_discovery_fetch(const char *issuer, bool allow_private, sso_oidc_discovery_t *out,
                             char *why, size_t why_size)
{
    return sso_oidc_discovery_fetch_within(issuer, allow_private, SSO_OIDC_FETCH_TIMEOUT_MS,
                                           out, why, why_size);
}

int sso_oidc_jwks_fetch_within(const char *jwks_uri, bool allow_private, long timeout_ms,
                               char **json, int64_t *max_age_s, char *why, size_t why_size)
{
    *json = NULL;
    *max_age_s = 0;
    sso_fetch_response_t response;
    if (s_get_json("the JWKS", jwks_uri, allow_private, timeout_ms, SSO_OIDC_JWKS_MAX_BYTES,
                   &response, why, why_size) != 0)
        return -1;
    json_t *doc = s_load_object("the JWKS", response.body, response.len,
                                SSO_OIDC_JWKS_MAX_BYTES, why, why_size);
    int rc = -1;
    if (doc && !json_is_array(json_object_get(doc, "keys")))
        snprintf(why, why_size, "the JWKS has no \"keys\" array");
    else if (doc) {
        *max_age_s = sso_oidc_max_age(response.cache_control);
        *json = response.body;
        response.body = NULL;
        rc = 0;
    }
    json_decref(doc);
    sso_fetch_response_free(&response);
    return rc;
}

int sso_oidc_jwks_fetch(const char *jwks_uri, bool allow_private, char **json,
                        int64_t *max_age_s, char *why, size_t why_size)
{
    return sso_oidc_jwks_fetch_within(jwks_uri, allow_private, SSO_OIDC_FETCH_TIMEOUT_MS, json,
                                      max_age_s, why, why_size);
}

/* ---- self-test --------------------------------------------------------------------------- */

#define S_ISSUER "https://idp.example.com"

/* The test document with field set to value (JSON text; NULL removes the field). */
static char *s_mutated(const char *field, const char *value)
{
    char *base = sso_oidc_test_idp_discovery(S_ISSUER);
    json_t *doc = base ? json_loads(base, 0, NULL) : NULL;
    free(base);
    if (doc && field && value)
        json_object_set_new(doc, field, json_loads(value, JSON_DECODE_ANY, NULL));
    else if (doc && field)
        json_object_del(doc, field);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

static bool s_printable(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return false;
    return true;
}

/* Parses text; true when the outcome is ok (or, when not, why contains want). */
static bool s_parses(const char *text, size_t len, bool allow_private, bool ok,
                     const char *want, sso_oidc_discovery_t *out)
{
    char why[400] = "";
    int rc = sso_oidc_discovery_parse(text, len, S_ISSUER, allow_private, out, why, sizeof why);
    bool good = ok ? rc == 0 : rc == -1 && strstr(why, want) && s_printable(why)
                                   && !out->issuer && !out->token_endpoint;
    if (!good)
        fprintf(stderr, "parse %.80s: rc %d, why %s (wanted %s)\n", text ? text : "(null)", rc,
                why, ok ? "success" : want);
    return good;
}

static void s_test_parse(void)
{
    static const struct {
        const char *field, *value;
        bool allow_private, ok;
        const char *why;
    } cases[] = {
        {NULL, NULL, false, true, NULL},
        {"issuer", "\"https://idp.example.com/\"", false, false,
         "discovery issuer: expected https://idp.example.com, got https://idp.example.com/"},
        {"issuer", "\"https://IDP.example.com\"", false, false, "got https://IDP.example.com"},
        {"issuer", "\"https://evil\\u0001\\u00e9\"", false, false, "got https://evil??"},
        {"issuer", "7", false, false, "discovery issuer is not a string"},
        {"issuer", NULL, false, false, "discovery has no issuer"},
        {"authorization_endpoint", NULL, false, false, "has no authorization_endpoint"},
        {"token_endpoint", NULL, false, false, "has no token_endpoint"},
        {"jwks_uri", NULL, false, false, "has no jwks_uri"},
        {"jwks_uri", "[\"https://idp.example.com/jwks\"]", false, false,
         "jwks_uri is not a string"},
        {"token_endpoint", "\"http://127.0.0.1:9/token\"", false, false, "must use https"},
        {"token_endpoint", "\"http://127.0.0.1:9/token\"", true, true, NULL},
        {"token_endpoint", "\"http://idp.example.com/token\"", true, false, "must use https"},
        {"authorization_endpoint", "\"javascript:alert(1)\"", true, false,
         "authorization_endpoint javascript:alert(1): the URL"},
        {"jwks_uri", "\"https://idp.example.com/jwks#k\"", false, false, "without fragment"},
        {"jwks_uri", "\"https://idp.example.com/j\\nwks\"", false, false, "without fragment"},
        {"jwks_uri", "\"\"", false, false, "jwks_uri"},
        {"userinfo_endpoint", NULL, false, true, NULL},
        {"userinfo_endpoint", "\"file:///etc/passwd\"", true, false, "userinfo_endpoint"},
        {"userinfo_endpoint", "\"http://127.0.0.1/userinfo\"", false, false, "must use https"},
        {"response_types_supported", NULL, false, false, "does not list \"code\""},
        {"response_types_supported", "[\"id_token\", \"code id_token\"]", false, false,
         "does not list \"code\" (got id_token, code id_token)"},
        {"response_types_supported", "\"code\"", false, false, "not an array of strings"},
        {"id_token_signing_alg_values_supported", NULL, false, true, NULL},
        {"id_token_signing_alg_values_supported", "[\"none\"]", false, false,
         "offers none of RS256/384/512, PS256/384/512, ES256/384/512 (got none)"},
        {"id_token_signing_alg_values_supported", "[\"HS256\", \"none\", \"rs256\"]", false,
         false, "(got HS256, none, rs256)"},
        {"id_token_signing_alg_values_supported", "[]", false, false, "(got nothing)"},
        {"id_token_signing_alg_values_supported", "[\"RS256\", 5]", false, false,
         "not an array of strings"},
        {"id_token_signing_alg_values_supported", "[\"HS256\", \"ES384\"]", false, true, NULL},
        {"token_endpoint_auth_methods_supported", NULL, false, true, NULL},
        {"token_endpoint_auth_methods_supported", "[\"none\", \"tls_client_auth\"]", false,
         false, "offers none of client_secret_basic, client_secret_post, private_key_jwt (got "
                "none, tls_client_auth)"},
        {"token_endpoint_auth_methods_supported", "[\"private_key_jwt\"]", false, true, NULL},
        {"token_endpoint_auth_methods_supported", "[]", false, false, "(got nothing)"},
        {"token_endpoint_auth_signing_alg_values_supported", "[\"RS256\", 5]", false, false,
         "token_endpoint_auth_signing_alg_values_supported is not an array of strings"},
        {"token_endpoint_auth_signing_alg_values_supported", "[\"HS256\"]", false, true, NULL},
        {"token_endpoint_auth_methods_supported", "[\"client_secret_post\"]", false, true, NULL},
        {"code_challenge_methods_supported", "[\"plain\"]", false, true, NULL},
        {"code_challenge_methods_supported", "{}", false, false, "not an array"},
        {"response_modes_supported", NULL, false, true, NULL},
    };
    sso_oidc_discovery_t d;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = s_mutated(cases[i].field, cases[i].value);
        SSO_CHECK(text && s_parses(text, strlen(text), cases[i].allow_private, cases[i].ok,
                                   cases[i].why, &d));
        free(text);
        sso_oidc_discovery_free(&d);
    }

    /* What a valid document gives. */
    char *text = s_mutated(NULL, NULL);
    SSO_CHECK(s_parses(text, strlen(text), false, true, NULL, &d));
    SSO_CHECK(d.issuer && !strcmp(d.issuer, S_ISSUER)
              && !strcmp(d.authorization_endpoint, S_ISSUER "/authorize")
              && !strcmp(d.token_endpoint, S_ISSUER "/token")
              && !strcmp(d.jwks_uri, S_ISSUER "/jwks")
              && !strcmp(d.userinfo_endpoint, S_ISSUER "/userinfo")
              && d.algs == SSO_OIDC_ALG_RS256
              && d.auth_methods
                     == (SSO_OIDC_AUTH_CLIENT_SECRET_BASIC | SSO_OIDC_AUTH_CLIENT_SECRET_POST)
              && d.auth_signing_algs == SSO_OIDC_ALG_RS256 && d.pkce_s256 && d.form_post
              && d.max_age_s == SSO_OIDC_MAX_AGE_DEFAULT_S);
    const char *algs[SSO_OIDC_ALGS_MAX + 1];
    sso_oidc_discovery_algs(&d, algs);
    SSO_CHECK(!strcmp(algs[0], "RS256") && !algs[1]);
    SSO_CHECK(sso_oidc_discovery_alg_ok(&d, "RS256") && !sso_oidc_discovery_alg_ok(&d, "ES256")
              && !sso_oidc_discovery_alg_ok(&d, "none") && !sso_oidc_discovery_alg_ok(&d, "HS256")
              && !sso_oidc_discovery_alg_ok(&d, NULL));
    sso_oidc_discovery_t copy;
    SSO_CHECK(sso_oidc_discovery_copy(&copy, &d) == 0 && copy.issuer != d.issuer
              && !strcmp(copy.jwks_uri, d.jwks_uri) && copy.pkce_s256);
    sso_oidc_discovery_free(&copy);
    sso_oidc_discovery_free(&d);
    SSO_CHECK(!d.issuer && !d.algs);
    free(text);
#define S_BASIC_POST (SSO_OIDC_AUTH_CLIENT_SECRET_BASIC | SSO_OIDC_AUTH_CLIENT_SECRET_POST)
    /* Defaults and choices of the optional lists. */
    struct {
        const char *field, *value;
        unsigned algs;
        unsigned auth_methods;
        bool pkce, form_post, userinfo;
    } picks[] = {
        {"id_token_signing_alg_values_supported", NULL, SSO_OIDC_ALG_RS256,
         S_BASIC_POST, true, true, true},
        {"id_token_signing_alg_values_supported", "[\"HS256\", \"ES384\", \"PS512\"]",
         SSO_OIDC_ALG_ES384 | SSO_OIDC_ALG_PS512, S_BASIC_POST, true, true,
         true},
        {"token_endpoint_auth_methods_supported", NULL, SSO_OIDC_ALG_RS256,
         SSO_OIDC_AUTH_CLIENT_SECRET_BASIC, true, true, true},
        {"token_endpoint_auth_methods_supported", "[\"private_key_jwt\", \"none\"]",
         SSO_OIDC_ALG_RS256, SSO_OIDC_AUTH_PRIVATE_KEY_JWT, true, true, true},
        {"token_endpoint_auth_methods_supported", "[\"private_key_jwt\", \"client_secret_post\"]",
         SSO_OIDC_ALG_RS256, SSO_OIDC_AUTH_CLIENT_SECRET_POST | SSO_OIDC_AUTH_PRIVATE_KEY_JWT, true,
         true, true},
        {"code_challenge_methods_supported", "[\"plain\"]", SSO_OIDC_ALG_RS256,
         S_BASIC_POST, false, true, true},
        {"code_challenge_methods_supported", NULL, SSO_OIDC_ALG_RS256,
         S_BASIC_POST, false, true, true},
        {"response_modes_supported", NULL, SSO_OIDC_ALG_RS256, S_BASIC_POST,
         true, false, true},
        {"userinfo_endpoint", NULL, SSO_OIDC_ALG_RS256, S_BASIC_POST, true,
         true, false},
    };
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        text = s_mutated(picks[i].field, picks[i].value);
        SSO_CHECK(s_parses(text, strlen(text), false, true, NULL, &d) && d.algs == picks[i].algs
                  && d.auth_methods == picks[i].auth_methods && d.pkce_s256 == picks[i].pkce
                  && d.form_post == picks[i].form_post
                  && (d.userinfo_endpoint != NULL) == picks[i].userinfo);
        sso_oidc_discovery_free(&d);
        free(text);
    }

    /* The method a connection uses: configured, or the first of basic and post listed. */
    static const struct {
        unsigned listed, signing;
        const char *configured;
        sso_oidc_token_auth_t want; /* 0: refused with why */
        const char *why;
    } methods[] = {
        {S_BASIC_POST, SSO_OIDC_ALG_RS256, NULL, SSO_OIDC_AUTH_CLIENT_SECRET_BASIC, NULL},
        {S_BASIC_POST, SSO_OIDC_ALG_RS256, "", SSO_OIDC_AUTH_CLIENT_SECRET_BASIC, NULL},
        {SSO_OIDC_AUTH_CLIENT_SECRET_POST | SSO_OIDC_AUTH_PRIVATE_KEY_JWT, 0, "",
         SSO_OIDC_AUTH_CLIENT_SECRET_POST, NULL},
        {S_BASIC_POST, 0, "client_secret_post", SSO_OIDC_AUTH_CLIENT_SECRET_POST, NULL},
        {SSO_OIDC_AUTH_PRIVATE_KEY_JWT, SSO_OIDC_ALG_RS256 | SSO_OIDC_ALG_ES256,
         "private_key_jwt", SSO_OIDC_AUTH_PRIVATE_KEY_JWT, NULL},
        {SSO_OIDC_AUTH_PRIVATE_KEY_JWT, SSO_OIDC_ALG_RS256, "", 0,
         "offers neither client_secret_basic nor client_secret_post (got private_key_jwt): set "
         "options.token_endpoint_auth_method"},
        {S_BASIC_POST, SSO_OIDC_ALG_RS256, "private_key_jwt", 0,
         "discovery token_endpoint_auth_methods_supported does not list private_key_jwt, the "
         "connection's token_endpoint_auth_method (got client_secret_basic, client_secret_post)"},
        {SSO_OIDC_AUTH_CLIENT_SECRET_BASIC, SSO_OIDC_ALG_RS256, "client_secret_post", 0,
         "does not list client_secret_post"},
        {SSO_OIDC_AUTH_PRIVATE_KEY_JWT, SSO_OIDC_ALG_ES256 | SSO_OIDC_ALG_PS256,
         "private_key_jwt", 0, "token_endpoint_auth_signing_alg_values_supported does not list "
                               "RS256"},
        {SSO_OIDC_AUTH_PRIVATE_KEY_JWT, 0, "private_key_jwt", 0, "does not list RS256"},
        {S_BASIC_POST, SSO_OIDC_ALG_RS256, "none", 0,
         "token_endpoint_auth_method none is none of"},
        {S_BASIC_POST, SSO_OIDC_ALG_RS256, "Client_Secret_Basic", 0, "is none of"},
        {S_BASIC_POST, SSO_OIDC_ALG_RS256, "client_secret_jwt\x01", 0, "client_secret_jwt?"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        sso_oidc_discovery_t listed = {.auth_methods = methods[i].listed,
                                       .auth_signing_algs = methods[i].signing};
        sso_oidc_token_auth_t got = 99;
        char why[400] = "";
        int rc = sso_oidc_discovery_auth_method(&listed, methods[i].configured, &got, why,
                                                sizeof why);
        bool good = methods[i].want ? rc == 0 && got == methods[i].want
                                    : rc == -1 && got == 0 && strstr(why, methods[i].why)
                                          && s_printable(why);
        SSO_CHECK(good);
        if (!good)
            fprintf(stderr, "auth method %zu: rc %d, got %d, why %s\n", i, rc, (int) got, why);
    }
    SSO_CHECK(!strcmp(sso_oidc_auth_method_name(SSO_OIDC_AUTH_PRIVATE_KEY_JWT), "private_key_jwt")
              && !strcmp(sso_oidc_auth_method_name(SSO_OIDC_AUTH_CLIENT_SECRET_BASIC),
                         "client_secret_basic")
              && !strcmp(sso_oidc_auth_method_name(S_BASIC_POST), ""));

    /* Not a document at all. */
    SSO_CHECK(s_parses("", 0, false, false, "is empty", &d));
    SSO_CHECK(s_parses(NULL, 0, false, false, "is empty", &d));
    SSO_CHECK(s_parses("{\"issuer\":", 10, false, false, "is not JSON", &d));
    SSO_CHECK(s_parses("<html>\x01\xff</html>", 15, false, false, "is not JSON", &d));
    SSO_CHECK(s_parses("[]", 2, false, false, "is not a JSON object", &d));
    SSO_CHECK(s_parses("\"" S_ISSUER "\"", strlen(S_ISSUER) + 2, false, false,
                       "is not a JSON object", &d));
    SSO_CHECK(s_parses("{\"issuer\":\"" S_ISSUER "\",\"issuer\":\"https://evil\"}", 61, false,
                       false, "is not JSON", &d));
    SSO_CHECK(s_parses("{\"issuer\":\"https://idp.example.com\\u0000x\"}", 44, false, false,
                       "is not JSON", &d));
    const char nul[] = "{\"issuer\":\"https://idp.example.com\"}\0{}";
    SSO_CHECK(s_parses(nul, sizeof nul - 1, false, false, "is not JSON", &d));
    /* Deep nesting and the size cap. */
    size_t deep = 60000;
    char *nest = malloc(deep * 2 + 1);
    if (nest) {
        memset(nest, '[', deep);
        memset(nest + deep, ']', deep);
        nest[deep * 2] = '\0';
        SSO_CHECK(s_parses(nest, deep * 2, false, false, "is not JSON", &d));
        free(nest);
    }
    size_t huge_len = SSO_OIDC_DISCOVERY_MAX_BYTES + 64;
    char *huge = malloc(huge_len + 1);
    char *valid = s_mutated(NULL, NULL);
    if (huge && valid) {
        /* The valid document, padded past the cap with one long string field. */
        size_t len = strlen(valid);
        memcpy(huge, valid, len - 1);
        memcpy(huge + len - 1, ",\"x\":\"", 6);
        memset(huge + len + 5, 'a', huge_len - len - 7);
        memcpy(huge + huge_len - 2, "\"}", 3);
        SSO_CHECK(strlen(huge) == huge_len);
        SSO_CHECK(s_parses(huge, huge_len, false, false, "larger than 131072 bytes", &d));
        /* Just under the cap it is fine. */
        size_t cut = SSO_OIDC_DISCOVERY_MAX_BYTES;
        memcpy(huge + cut - 2, "\"}", 3);
        SSO_CHECK(s_parses(huge, cut, false, true, NULL, &d));
        sso_oidc_discovery_free(&d);
    }
    free(huge);
    free(valid);
    SSO_CHECK(sso_oidc_discovery_parse("{}", 2, NULL, false, &d, (char[64]){0}, 64) == -1);
}

static void s_test_max_age(void)
{
    static const struct {
        const char *value;
        int64_t seconds;
    } cases[] = {
        {NULL, 3600},
        {"", 3600},
        {"public", 3600},
        {"public, max-age=300", 300},
        {"MAX-AGE=200, must-revalidate", 200},
        {"max-age=\"120\"", 120},
        {"max-age = 150", 150},
        {"max-age=5", 60},
        {"max-age=0", 60},
        {"max-age=99999999999999999999999", 86400},
        {"max-age=86401", 86400},
        {"max-age=abc", 60},
        {"max-age=", 60},
        {"max-age", 60},
        {"max-age=-5", 60},
        {"max-age=100, max-age=80", 80},
        {"s-maxage=10, max-age=500", 500},
        {"no-store", 60},
        {"max-age=900, No-Cache", 60},
        {"no-cache=\"set-cookie\"", 60},
        {"private=\"a, no-store\", max-age=100", 100},
        {"x-no-store, max-age=400", 400},
        {"private=\"unterminated, max-age=100", 3600},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = sso_oidc_max_age(cases[i].value);
        if (got != cases[i].seconds)
            fprintf(stderr, "max-age of %s: %lld\n", cases[i].value ? cases[i].value : "(null)",
                    (long long) got);
        SSO_CHECK(got == cases[i].seconds);
    }
}

static void s_test_fetch(void)
{
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    SSO_CHECK(idp);
    if (!idp)
        return;
    const char *base = sso_oidc_test_idp_url(idp);
    char issuer[256], why[600], url[300];
    sso_oidc_discovery_t d;
    const char *json_type = "Content-Type: application/json\r\n";

    /* A good provider; Cache-Control gives the lifetime. */
    SSO_CHECK(sso_oidc_test_idp_provider(idp, "/good", issuer, sizeof issuer) == 0);
    SSO_CHECK(sso_oidc_discovery_fetch(issuer, true, &d, why, sizeof why) == 0);
    snprintf(url, sizeof url, "%s/good/jwks", base);
    SSO_CHECK(d.issuer && !strcmp(d.issuer, issuer) && !strcmp(d.jwks_uri, url)
              && d.max_age_s == 3600 && d.pkce_s256);
    sso_oidc_discovery_free(&d);
    /* Loopback is refused without allow_private, before any connection. */
    int hits = sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration");
    SSO_CHECK(sso_oidc_discovery_fetch(issuer, false, &d, why, sizeof why) == -1
              && strstr(why, "could not be fetched") && strstr(why, "must use https")
              && !d.issuer);
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration") == hits);

    char *doc = sso_oidc_test_idp_discovery(issuer);
    char headers[200];
    snprintf(headers, sizeof headers, "%sCache-Control: public, max-age=600\r\n", json_type);
    sso_oidc_test_idp_route(idp, "/good/.well-known/openid-configuration", 200, headers, doc, 0);
    SSO_CHECK(sso_oidc_discovery_fetch(issuer, true, &d, why, sizeof why) == 0
              && d.max_age_s == 600);
    sso_oidc_discovery_free(&d);
    free(doc);

    /* A trailing slash of the issuer is not doubled in the URL, and the document must say
       the issuer as configured, slash included. */
    snprintf(issuer, sizeof issuer, "%s/slash/", base);
    doc = sso_oidc_test_idp_discovery(issuer);
    sso_oidc_test_idp_route(idp, "/slash/.well-known/openid-configuration", 200, json_type, doc,
                            0);
    free(doc);
    SSO_CHECK(sso_oidc_discovery_fetch(issuer, true, &d, why, sizeof why) == 0
              && !strcmp(d.issuer, issuer));
    sso_oidc_discovery_free(&d);
    snprintf(issuer, sizeof issuer, "%s/slash", base);
    SSO_CHECK(sso_oidc_discovery_fetch(issuer, true, &d, why, sizeof why) == -1
              && strstr(why, "discovery issuer: expected"));

    /* Another provider's document. */
    snprintf(issuer, sizeof issuer, "%s/other", base);
    doc = sso_oidc_test_idp_discovery("https://evil.example.com");
    sso_oidc_test_idp_route(idp, "/other/.well-known/openid-configuration", 200, json_type, doc,
                            0);
    free(doc);
    SSO_CHECK(sso_oidc_discovery_fetch(issuer, true, &d, why, sizeof why) == -1
              && strstr(why, "expected http://127.0.0.1") && strstr(why, "got https://evil"));

    /* HTTP 500, invalid JSON, HTML, a redirect to plain http, no such document. */
    sso_oidc_test_idp_route(idp, "/down/.well-known/openid-configuration", 500, json_type,
                            "{\"error\":\"x\"}", 0);
    sso_oidc_test_idp_route(idp, "/junk/.well-known/openid-configuration", 200, json_type,
                            "{\"issuer\": oops", 0);
    sso_oidc_test_idp_route(idp, "/html/.well-known/openid-configuration", 200,
                            "Content-Type: text/html\r\n", "{}", 0);
    sso_oidc_test_idp_route(idp, "/untyped/.well-known/openid-configuration", 200, NULL, "{}",
                            0);
    snprintf(headers, sizeof headers, "Location: %s/good/.well-known/openid-configuration\r\n",
             base);
    sso_oidc_test_idp_route(idp, "/moved/.well-known/openid-configuration", 302, headers, "", 0);
    struct {
        const char *prefix, *want;
        bool names_url; /* the fetch failed (not the document) */
    } failures[] = {
        {"/down", "answered HTTP 500", true},
        {"/junk", "the discovery document is not JSON: invalid token near 'oops'", false},
        {"/html", "answered Content-Type text/html, not JSON", true},
        {"/untyped", "answered Content-Type (none), not JSON", true},
        {"/moved", "redirected to a URL that is not https", true},
        {"/missing", "answered HTTP 404", true},
    };
    for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++) {
        snprintf(issuer, sizeof issuer, "%s%s", base, failures[i].prefix);
        int rc = sso_oidc_discovery_fetch(issuer, true, &d, why, sizeof why);
        bool ok = rc == -1 && strstr(why, failures[i].want) && !d.issuer
                  && (!failures[i].names_url || strstr(why, issuer));
        if (!ok)
            fprintf(stderr, "discovery %s: %d %s\n", failures[i].prefix, rc, why);
        SSO_CHECK(ok);
    }
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/moved/.well-known/openid-configuration") == 1);
    /* Issuers that are no base for discovery. */
    const char *bad_issuers[] = {"", "https://idp.example.com/?tenant=a",
                                 "https://idp.example.com/#x"};
    for (size_t i = 0; i < sizeof bad_issuers / sizeof bad_issuers[0]; i++)
        SSO_CHECK(sso_oidc_discovery_fetch(bad_issuers[i], true, &d, why, sizeof why) == -1
                  && strstr(why, "without query or fragment"));
    SSO_CHECK(sso_oidc_discovery_fetch(NULL, true, &d, why, sizeof why) == -1);

    /* JWKS: the raw text and a lifetime within bounds. */
    struct {
        const char *path, *headers;
        int status;
        const char *body;
        int64_t max_age;
        const char *want;
    } jwks[] = {
        {"/jwks/plain", "Content-Type: application/json\r\n", 200, "{\"keys\":[]}", 3600, NULL},
        {"/jwks/typed", "Content-Type: application/jwk-set+json; charset=utf-8\r\n"
                        "Cache-Control: public, max-age=300\r\n", 200, "{\"keys\":[{}]}", 300,
         NULL},
        {"/jwks/nostore", "Content-Type: application/json\r\nCache-Control: no-store\r\n", 200,
         "{\"keys\":[]}", 60, NULL},
        {"/jwks/two", "Content-Type: application/json\r\nCache-Control: public\r\n"
                      "Cache-Control: no-cache\r\n", 200, "{\"keys\":[]}", 60, NULL},
        {"/jwks/short", "Content-Type: application/json\r\nCache-Control: max-age=5\r\n", 200,
         "{\"keys\":[]}", 60, NULL},
        {"/jwks/long", "Content-Type: application/json\r\nCache-Control: max-age=9999999\r\n",
         200, "{\"keys\":[]}", 86400, NULL},
        {"/jwks/nokeys", "Content-Type: application/json\r\n", 200, "{\"key\":[]}", 0,
         "no \"keys\" array"},
        {"/jwks/keysobject", "Content-Type: application/json\r\n", 200, "{\"keys\":{}}", 0,
         "no \"keys\" array"},
        {"/jwks/array", "Content-Type: application/json\r\n", 200, "[]", 0,
         "not a JSON object"},
        {"/jwks/junk", "Content-Type: application/json\r\n", 200, "keys", 0, "not JSON"},
        {"/jwks/down", "Content-Type: application/json\r\n", 503, "{\"keys\":[]}", 0,
         "answered HTTP 503"},
        {"/jwks/xml", "Content-Type: application/xml\r\n", 200, "{\"keys\":[]}", 0,
         "not JSON"},
    };
    for (size_t i = 0; i < sizeof jwks / sizeof jwks[0]; i++) {
        sso_oidc_test_idp_route(idp, jwks[i].path, jwks[i].status, jwks[i].headers,
                                jwks[i].body, 0);
        snprintf(url, sizeof url, "%s%s", base, jwks[i].path);
        char *text = (char *) "unset";
        int64_t max_age = -1;
        int rc = sso_oidc_jwks_fetch(url, true, &text, &max_age, why, sizeof why);
        bool ok = jwks[i].want ? rc == -1 && !text && strstr(why, jwks[i].want)
                               : rc == 0 && text && !strcmp(text, jwks[i].body)
                                     && max_age == jwks[i].max_age;
        if (!ok)
            fprintf(stderr, "jwks %s: %d %lld %s\n", jwks[i].path, rc, (long long) max_age,
                    rc ? why : text);
        SSO_CHECK(ok);
        free(rc == 0 ? text : NULL);
    }
    snprintf(url, sizeof url, "%s/jwks/plain", base);
    char *text = NULL;
    int64_t max_age = 0;
    SSO_CHECK(sso_oidc_jwks_fetch(url, false, &text, &max_age, why, sizeof why) == -1 && !text
              && strstr(why, "must use https"));
    /* Redirected to plain http: refused. */
    snprintf(headers, sizeof headers, "Location: %s/jwks/plain\r\n", base);
    sso_oidc_test_idp_route(idp, "/jwks/moved", 301, headers, "", 0);
    snprintf(url, sizeof url, "%s/jwks/moved", base);
    SSO_CHECK(sso_oidc_jwks_fetch(url, true, &text, &max_age, why, sizeof why) == -1 && !text
              && strstr(why, "redirected to a URL that is not https"));

    /* A provider slower than the timeout: a clear error in bounded time. */
    snprintf(issuer, sizeof issuer, "%s/slow", base);
    doc = sso_oidc_test_idp_discovery(issuer);
    sso_oidc_test_idp_route(idp, "/slow/.well-known/openid-configuration", 200, json_type, doc,
                            1500);
    sso_oidc_test_idp_route(idp, "/slow/jwks", 200, json_type, "{\"keys\":[]}", 1500);
    free(doc);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    SSO_CHECK(sso_oidc_discovery_fetch_within(issuer, true, 300, &d, why, sizeof why) == -1
              && strstr(why, "did not answer within 300 ms"));
    clock_gettime(CLOCK_MONOTONIC, &end);
    int64_t ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
    SSO_CHECK(ms < 1200);
    snprintf(url, sizeof url, "%s/slow/jwks", base);
    SSO_CHECK(sso_oidc_jwks_fetch_within(url, true, 300, &text, &max_age, why, sizeof why) == -1
              && strstr(why, "did not answer within 300 ms"));
    sso_oidc_test_idp_destroy(&idp);
    SSO_CHECK(!idp);
}

void sso_oidc_discovery_test(bool verbose)
{
    (void) verbose;
    s_test_parse();
    s_test_max_age();
    s_test_fetch();
}
