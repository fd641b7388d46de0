#include "oidc_claims.h"
#include "sso_email.h"
#include "sso_jose.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include "sso_log.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The claim as shown in a reason: its text, its number or literal, or what kind it is. */
static void s_shown(const json_t *value, char *out, size_t size)
{
    if (!value)
        snprintf(out, size, "none");
    else if (json_is_string(value))
        sso_log_printable(json_string_value(value), out, size < 201 ? size : 201);
    else if (json_is_integer(value))
        snprintf(out, size, "%lld", (long long) json_integer_value(value));
    else if (json_is_boolean(value) || json_is_null(value))
        snprintf(out, size, "%s", json_is_true(value) ? "true" : json_is_false(value) ? "false"
                                                                                      : "null");
    else
        snprintf(out, size, "a JSON %s", json_is_array(value)    ? "array"
                                         : json_is_object(value) ? "object"
                                                                 : "number with a fraction");
}

/* A NumericDate claim: 0 with *out, 1 when absent, -1 when not an integer. */
static int s_date(const json_t *claims, const char *name, int64_t *out)
{
    const json_t *value = json_object_get(claims, name);
    if (!value)
        return 1;
    if (!json_is_integer(value))
        return -1;
    *out = (int64_t) json_integer_value(value);
    return 0;
}

static int s_fail(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(char *why, size_t why_size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(why, why_size, fmt, args);
    va_end(args);
    return -1;
}

/* aud as a list check: contains client_id; *count the number of audiences. -1 when aud is
   neither a string nor an array of strings. */
static int s_audience(const json_t *aud, const char *client_id, bool *ours, size_t *count)
{
    *ours = false;
    *count = 0;
    if (json_is_string(aud)) {
        *count = 1;
        *ours = !strcmp(json_string_value(aud), client_id);
        return 0;
    }
    if (!json_is_array(aud) || json_array_size(aud) == 0)
        return -1;
    size_t i;
    const json_t *item;
    json_array_foreach(aud, i, item)
    {
        if (!json_is_string(item))
            return -1;
        *ours |= !strcmp(json_string_value(item), client_id);
        (*count)++;
    }
    return 0;
}

int oidc_claims_check(const json_t *claims, const oidc_claims_expect_t *expect, char *why,
                      size_t why_size)
{
    char got[256];
    if (!json_is_object(claims))
        return s_fail(why, why_size, "id_token: the claims are not a JSON object");
    const json_t *iss = json_object_get(claims, "iss");
    if (!json_is_string(iss) || strcmp(json_string_value(iss), expect->issuer) != 0) {
        s_shown(iss, got, sizeof got);
        return s_fail(why, why_size, "id_token iss: expected %.300s, got %s", expect->issuer,
                      got);
    }
    const json_t *aud = json_object_get(claims, "aud");
    bool ours = false;
    size_t audiences = 0;
    if (s_audience(aud, expect->client_id, &ours, &audiences) != 0 || !ours) {
        s_shown(aud, got, sizeof got);
        return s_fail(why, why_size, "id_token aud: expected %.200s among the audiences, got %s",
                      expect->client_id, got);
    }
    const json_t *azp = json_object_get(claims, "azp");
    if (azp && (!json_is_string(azp) || strcmp(json_string_value(azp), expect->client_id))) {
        s_shown(azp, got, sizeof got);
        return s_fail(why, why_size, "id_token azp: expected %.200s, got %s", expect->client_id,
                      got);
    }
    if (!azp && audiences > 1)
        return s_fail(why, why_size, "id_token azp: expected %.200s (the token has %zu "
                      "audiences), got none", expect->client_id, audiences);
    /* exp, nbf, iat: the one reading of JWT dates (sso_jose). */
    char dates[SSO_JOSE_WHY_SIZE];
    if (sso_jose_check_dates(claims, expect->now, OIDC_CLAIMS_SKEW, dates, sizeof dates) != 0)
        return s_fail(why, why_size, "id_token %s", dates);
    int64_t auth_time = 0;
    const json_t *nonce = json_object_get(claims, "nonce");
    if (!json_is_string(nonce) || strcmp(json_string_value(nonce), expect->nonce) != 0) {
        s_shown(nonce, got, sizeof got);
        return s_fail(why, why_size, "id_token nonce: expected %.200s, got %s", expect->nonce,
                      got);
    }
    if (expect->max_age >= 0) {
        int has = s_date(claims, "auth_time", &auth_time);
        if (has != 0)
            return s_fail(why, why_size, "id_token auth_time: expected one (max_age was "
                          "asked), got %s", has > 0 ? "none" : "another type");
        /* Subtracted from now: an IdP's auth_time near INT64_MAX must not overflow. */
        if (auth_time < expect->now - expect->max_age - OIDC_CLAIMS_SKEW)
            return s_fail(why, why_size, "id_token auth_time: expected after %lld (max_age "
                          "%lld), got %lld", (long long) (expect->now - expect->max_age),
                          (long long) expect->max_age, (long long) auth_time);
    }
    return 0;
}

/* The claim the connection maps field to (its attribute_mapping), or NULL: the defaults. */
static const char *s_mapped(const Sso__Connection *conn, const char *field)
{
    for (size_t i = 0; i < conn->n_attribute_mapping; i++) {
        const Sso__AttributeMapping *m = conn->attribute_mapping[i];
        if (m && m->field && m->name && *m->name && !strcmp(m->field, field))
            return m->name;
    }
    return NULL;
}

const char *oidc_claims_email_claim(const Sso__Connection *conn)
{
    const char *mapped = conn ? s_mapped(conn, "email") : NULL;
    return mapped ? mapped : "email";
}

/* A copy of the string claim name ("" when absent or null); NULL (with why) when it is there
   but not text or too long. field: the profile field it is mapped to, for the reason (NULL:
   not mapped). */
static char *s_text(const json_t *claims, const char *name, const char *field, char *why,
                    size_t why_size)
{
    const json_t *value = json_object_get(claims, name);
    if (!value || json_is_null(value))
        return strdup("");
    if (!json_is_string(value) || json_string_length(value) > OIDC_CLAIMS_TEXT_MAX
        || strlen(json_string_value(value)) != json_string_length(value)) {
        snprintf(why, why_size, "id_token %.100s%s%s%s: expected text of at most %d bytes",
                 name, field ? " (mapped to " : "", field ? field : "", field ? ")" : "",
                 OIDC_CLAIMS_TEXT_MAX);
        return NULL;
    }
    return strdup(json_string_value(value));
}

/* The profile field from its mapped claim, else from the claim of its own name. */
static char *s_field(const json_t *claims, const Sso__Connection *conn, const char *field,
                     char *why, size_t why_size)
{
    const char *mapped = s_mapped(conn, field);
    return s_text(claims, mapped ? mapped : field, mapped ? field : NULL, why, why_size);
}

/* The groups of claims: the mapped claim (a list, or one name), else "groups", else "roles"
   (a list); names (numbers as text). A mapped claim of another type is refused, as the
   defaults are: its groups would otherwise vanish without a word. -1 with why. */
static int s_groups(const json_t *claims, const Sso__Connection *conn, Sso__Profile *profile,
                    char *why, size_t why_size)
{
    const char *mapped = s_mapped(conn, "groups");
    const json_t *list = json_object_get(claims, mapped ? mapped : "groups");
    if (!list && !mapped)
        list = json_object_get(claims, "roles");
    if (!list || json_is_null(list) || (mapped && json_is_string(list)
                                        && !*json_string_value(list)))
        return 0;
    bool one = mapped && json_is_string(list);
    char label[160];
    snprintf(label, sizeof label, "id_token %.100s%s", mapped ? mapped : "groups",
             mapped ? " (mapped to groups)" : "");
    if (!one && (!json_is_array(list) || json_array_size(list) > OIDC_CLAIMS_GROUPS_MAX)) {
        char got[64];
        s_shown(list, got, sizeof got);
        snprintf(why, why_size, "%s: expected a list of at most %d names%s, got %s", label,
                 OIDC_CLAIMS_GROUPS_MAX, mapped ? " or one name" : "",
                 json_is_array(list) ? "more" : got);
        return -1;
    }
    size_t count = one ? 1 : json_array_size(list);
    profile->groups = calloc(count + 1, sizeof *profile->groups);
    if (!profile->groups)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const json_t *item = one ? list : json_array_get(list, i);
        char text[64];
        const char *value = json_is_string(item) ? json_string_value(item) : NULL;
        if (json_is_integer(item)) {
            snprintf(text, sizeof text, "%lld", (long long) json_integer_value(item));
            value = text;
        }
        if (!value || !*value || strlen(value) > 512
            || (json_is_string(item) && strlen(value) != json_string_length(item))) {
            snprintf(why, why_size, "%s: expected names or ids of 1 to 512 bytes", label);
            return -1;
        }
        if (!(profile->groups[profile->n_groups] = strdup(value)))
            return -1;
        profile->n_groups++;
    }
    return 0;
}

/* What the IdP says of the profile's email, into profile->email_verified: its email_verified
   speaks of its "email" claim, so of the email used when that is the email claim's value
   (not of an upn, a preferred_username or a mapped claim with another address). True only
   for a JSON true or the string "true"; anything else said of it (false, "false", ...) is a
   refusal unless the connection allows unverified emails. 0, or -1 with why. */
static int s_email_verified(const json_t *claims, const Sso__Connection *conn,
                            Sso__Profile *profile, char *why, size_t why_size)
{
    const json_t *email = json_object_get(claims, "email");
    const json_t *said = json_object_get(claims, "email_verified");
    bool about = *profile->email && json_is_string(email)
                 && !strcasecmp(json_string_value(email), profile->email);
    profile->email_verified = about && (json_is_true(said)
                                        || (json_is_string(said)
                                            && !strcmp(json_string_value(said), "true")));
    if (!about || !said || json_is_null(said) || profile->email_verified
        || conn->allow_unverified_email)
        return 0;
    char got[256];
    s_shown(said, got, sizeof got);
    return s_fail(why, why_size, "email_verified: expected true, got %.60s for %.320s (the "
                  "connection's options.allow_unverified_email accepts it)", got,
                  profile->email);
}

Sso__Profile *oidc_claims_profile(const json_t *claims, const Sso__Connection *conn, char *why,
                                  size_t why_size)
{
    Sso__Profile *profile = calloc(1, sizeof *profile);
    if (!profile) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    sso__profile__init(profile);
    profile->subject = profile->email = profile->name = NULL;
    profile->given_name = profile->family_name = NULL;
    const char *email_claim = s_mapped(conn, "email");
    bool ok = (profile->subject = s_text(claims, "sub", NULL, why, why_size)) != NULL
              && (profile->email = s_field(claims, conn, "email", why, why_size)) != NULL
              && (profile->name = s_field(claims, conn, "name", why, why_size)) != NULL
              && (profile->given_name = s_field(claims, conn, "given_name", why, why_size))
                     != NULL
              && (profile->family_name = s_field(claims, conn, "family_name", why, why_size))
                     != NULL;
    if (ok && !*profile->subject) {
        snprintf(why, why_size, "id_token sub: expected the user's identifier, got none");
        ok = false;
    }
    /* The token service's sub is "<connection id>;<sub>": refused here, before the login
       completes, rather than at /oauth/token. */
    if (ok && sso_upstream_subject_check(conn->id, profile->subject, why, why_size) != 0)
        ok = false;
    /* No email claim (Entra ID without the optional claim) and no mapping: upn, else
       preferred_username, when it reads as an address; never verified by that alone. */
    const char *alternatives[] = {"upn", "preferred_username"};
    for (size_t i = 0; ok && !email_claim && !*profile->email && i < 2; i++) {
        char *alt = s_text(claims, alternatives[i], NULL, why, why_size);
        char domain[256];
        if (!alt)
            ok = false;
        else if (sso_email_domain(alt, domain, sizeof domain) == 0) {
            free(profile->email);
            profile->email = alt;
            alt = NULL;
        }
        free(alt);
    }
    ok = ok && s_email_verified(claims, conn, profile, why, why_size) == 0
         && s_groups(claims, conn, profile, why, why_size) == 0;
    if (!ok) {
        /* init left the shared "" in the fields not set yet; free_unpacked skips those. */
        const char **fields[] = {(const char **) &profile->subject, (const char **) &profile->email,
                                 (const char **) &profile->name,
                                 (const char **) &profile->given_name,
                                 (const char **) &profile->family_name};
        for (size_t i = 0; i < 5; i++)
            if (!*fields[i])
                *fields[i] = protobuf_c_empty_string;
        sso__profile__free_unpacked(profile, NULL);
        return NULL;
    }
    return profile;
}

void oidc_claims_explain_email(const json_t *claims, const Sso__Connection *conn, char *why,
                               size_t why_size)
{
    const char *mapped = s_mapped(conn, "email");
    size_t len = strlen(why);
    if (!mapped || len + 1 >= why_size)
        return;
    const json_t *value = json_object_get(claims, mapped);
    snprintf(why + len, why_size - len, "; attribute_mapping.email names the claim %.100s%s",
             mapped, !value || json_is_null(value) ? ", which the IdP did not send" : "");
}

int oidc_claims_merge(json_t *claims, const json_t *userinfo, char *why, size_t why_size)
{
    char got[256];
    if (!json_is_object(claims) || !json_is_object(userinfo))
        return s_fail(why, why_size, "userinfo: expected a JSON object, got another value");
    const json_t *sub = json_object_get(userinfo, "sub"), *ours = json_object_get(claims, "sub");
    if (!json_is_string(sub) || !json_is_string(ours)
        || strcmp(json_string_value(sub), json_string_value(ours)) != 0) {
        s_shown(sub, got, sizeof got);
        return s_fail(why, why_size, "userinfo sub: expected %.200s, got %s",
                      json_is_string(ours) ? json_string_value(ours) : "none", got);
    }
    static const char *const id_token_only[] = {"iss",   "aud",       "azp",     "exp",
                                                "iat",   "nbf",       "nonce",   "auth_time",
                                                "at_hash", "c_hash"};
    /* An email and its email_verified are one statement: when the email comes from
       userinfo, so does what is said of it (the ID token's email_verified: true speaks of no
       address it gave, and must not vouch for userinfo's). */
    const json_t *info_email = json_object_get(userinfo, "email");
    if (!json_object_get(claims, "email") && info_email) {
        json_t *verified = json_object_get(userinfo, "email_verified");
        if (verified ? json_object_set(claims, "email_verified", verified) != 0
                     : json_object_get(claims, "email_verified")
                           && json_object_del(claims, "email_verified") != 0)
            return s_fail(why, why_size, "out of memory");
    }
    const char *name;
    json_t *value;
    json_object_foreach((json_t *) userinfo, name, value)
    {
        bool skip = json_object_get(claims, name) != NULL;
        for (size_t i = 0; !skip && i < sizeof id_token_only / sizeof *id_token_only; i++)
            skip = !strcmp(name, id_token_only[i]);
        if (!skip && json_object_set(claims, name, value) != 0)
            return s_fail(why, why_size, "out of memory");
    }
    return 0;
}

/* ---- self-test ------------------------------------------------------------------------- */

static bool s_refused(const char *claims_json, const oidc_claims_expect_t *expect,
                      const char *reason)
{
    json_t *claims = json_loads(claims_json, 0, NULL);
    char why[400] = "";
    bool ok = claims && oidc_claims_check(claims, expect, why, sizeof why) == -1
              && strstr(why, reason);
    if (!ok)
        fprintf(stderr, "claims %s: wanted \"%s\", got \"%s\"\n", claims_json, reason, why);
    json_decref(claims);
    return ok;
}

/* The profile of claims_json for conn, or NULL with why. */
static Sso__Profile *s_profile(const char *claims_json, const Sso__Connection *conn, char *why,
                               size_t why_size)
{
    json_t *claims = json_loads(claims_json, 0, NULL);
    snprintf(why, why_size, claims ? "accepted" : "the test's JSON does not parse");
    Sso__Profile *p = claims ? oidc_claims_profile(claims, conn, why, why_size) : NULL;
    json_decref(claims);
    return p;
}

/* claims_json refused for conn with a reason containing reason. */
static bool s_profile_refused(const char *claims_json, const Sso__Connection *conn,
                              const char *reason)
{
    char why[600] = "";
    Sso__Profile *p = s_profile(claims_json, conn, why, sizeof why);
    bool ok = !p && strstr(why, reason);
    if (!ok)
        fprintf(stderr, "profile %s: wanted \"%s\", got \"%s\"\n", claims_json, reason, why);
    sso__profile__free_unpacked(p, NULL);
    return ok;
}

/* attribute_mapping: a mapped field from its claim only; the others keep the defaults. */
static void s_test_mapping(const Sso__Connection *defaults)
{
    Sso__AttributeMapping email = SSO__ATTRIBUTE_MAPPING__INIT, groups = email, name = email,
                          blank = email, twice = email;
    email.field = "email", email.name = "mail";
    groups.field = "groups", groups.name = "teams";
    name.field = "name", name.name = "displayName";
    blank.field = "given_name", blank.name = "";     /* no claim named: the default */
    twice.field = "email", twice.name = "email";     /* a second entry: the first wins */
    Sso__AttributeMapping *entries[] = {&blank, &email, &groups, &name, &twice};
    Sso__Connection conn = *defaults;
    conn.attribute_mapping = entries;
    conn.n_attribute_mapping = 5;
    char why[600] = "";
    Sso__Profile *p = s_profile("{\"sub\":\"m1\",\"email\":\"other@x.test\",\"email_verified\":"
                                "true,\"mail\":\"ann@corp.test\",\"teams\":[\"a\",7],\"groups\":"
                                "[\"x\"],\"displayName\":\"Ann L\",\"name\":\"n\",\"given_name\":"
                                "\"Ann\",\"upn\":\"u@x.test\"}", &conn, why, sizeof why);
    /* The mapped email is not the one email_verified speaks of: unverified, not refused. */
    SSO_CHECK(p && !strcmp(p->email, "ann@corp.test") && !p->email_verified
              && !strcmp(p->name, "Ann L") && !strcmp(p->given_name, "Ann") && p->n_groups == 2
              && !strcmp(p->groups[0], "a") && !strcmp(p->groups[1], "7"));
    sso__profile__free_unpacked(p, NULL);
    /* The mapped claim absent: the field empty, no default (neither email nor upn, nor
       groups or roles). */
    p = s_profile("{\"sub\":\"m2\",\"email\":\"e@x.test\",\"upn\":\"u@x.test\",\"groups\":"
                  "[\"g\"],\"roles\":[\"r\"],\"name\":\"n\"}", &conn, why, sizeof why);
    SSO_CHECK(p && !*p->email && !p->email_verified && p->n_groups == 0 && !*p->name);
    sso__profile__free_unpacked(p, NULL);
    /* groups as one name; an empty one or null is none. */
    p = s_profile("{\"sub\":\"m3\",\"teams\":\"solo\"}", &conn, why, sizeof why);
    SSO_CHECK(p && p->n_groups == 1 && !strcmp(p->groups[0], "solo"));
    sso__profile__free_unpacked(p, NULL);
    p = s_profile("{\"sub\":\"m4\",\"teams\":\"\",\"mail\":null}", &conn, why, sizeof why);
    SSO_CHECK(p && p->n_groups == 0 && !*p->email);
    sso__profile__free_unpacked(p, NULL);
    /* The same email as the email claim: what email_verified says of it holds. */
    p = s_profile("{\"sub\":\"m5\",\"email\":\"Ann@Corp.test\",\"email_verified\":true,"
                  "\"mail\":\"ann@corp.test\"}", &conn, why, sizeof why);
    SSO_CHECK(p && !strcmp(p->email, "ann@corp.test") && p->email_verified);
    sso__profile__free_unpacked(p, NULL);
    const char *hostile[][2] = {
        {"{\"sub\":\"h\",\"teams\":{\"a\":1}}",
         "id_token teams (mapped to groups): expected a list of at most 256 names or one name, "
         "got a JSON object"},
        {"{\"sub\":\"h\",\"teams\":5}", "id_token teams (mapped to groups): expected a list of "
                                         "at most 256 names or one name, got 5"},
        {"{\"sub\":\"h\",\"teams\":true}", "got true"},
        {"{\"sub\":\"h\",\"teams\":[true]}", "id_token teams (mapped to groups): expected names "
                                            "or ids of 1 to 512 bytes"},
        {"{\"sub\":\"h\",\"teams\":[\"\"]}", "id_token teams (mapped to groups)"},
        {"{\"sub\":\"h\",\"displayName\":[\"x\"]}",
         "id_token displayName (mapped to name): expected text of at most 1024 bytes"},
        {"{\"sub\":\"h\",\"mail\":5}", "id_token mail (mapped to email): expected text"},
        /* The mapped email is the email claim's (case aside), which the IdP says is unverified. */
        {"{\"sub\":\"h\",\"email\":\"bob@acme.com\",\"email_verified\":false,\"mail\":"
         "\"BOB@acme.com\"}", "email_verified: expected true, got false for BOB@acme.com"},
    };
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++)
        SSO_CHECK(s_profile_refused(hostile[i][0], &conn, hostile[i][1]));
    /* Defaults still refuse one string as groups (Keycloak and Entra send lists). */
    SSO_CHECK(s_profile_refused("{\"sub\":\"h\",\"groups\":\"admins\"}", defaults,
                                "id_token groups: expected a list of at most 256 names, got "
                                "admins"));

    /* The domain guard's reason names the mapped claim. */
    json_t *claims = json_loads("{\"sub\":\"m6\",\"mail\":\"x@y.test\"}", 0, NULL);
    snprintf(why, sizeof why, "invalid_user_domain: x");
    oidc_claims_explain_email(claims, &conn, why, sizeof why);
    SSO_CHECK(!strcmp(why, "invalid_user_domain: x; attribute_mapping.email names the claim mail"));
    json_object_del(claims, "mail");
    snprintf(why, sizeof why, "invalid_user_domain: x");
    oidc_claims_explain_email(claims, &conn, why, sizeof why);
    SSO_CHECK(!strcmp(why, "invalid_user_domain: x; attribute_mapping.email names the claim "
                           "mail, which the IdP did not send"));
    snprintf(why, sizeof why, "invalid_user_domain: x");
    oidc_claims_explain_email(claims, defaults, why, sizeof why);
    SSO_CHECK(!strcmp(why, "invalid_user_domain: x"));
    json_decref(claims);
}

/* email_verified as the IdP says it; said false of the email used: refused unless the
   connection allows it. */
static void s_test_email_verified(const Sso__Connection *defaults)
{
    const char *refused[][2] = {
        {"{\"sub\":\"v\",\"email\":\"bob@acme.com\",\"email_verified\":false}",
         "email_verified: expected true, got false for bob@acme.com (the connection's "
         "options.allow_unverified_email accepts it)"},
        {"{\"sub\":\"v\",\"email\":\"bob@acme.com\",\"email_verified\":\"false\"}",
         "email_verified: expected true, got false for bob@acme.com"},
        {"{\"sub\":\"v\",\"email\":\"bob@acme.com\",\"email_verified\":0}", "got 0 for"},
        {"{\"sub\":\"v\",\"email\":\"bob@acme.com\",\"email_verified\":\"\"}", "got  for"},
        {"{\"sub\":\"v\",\"email\":\"bob@acme.com\",\"email_verified\":{}}",
         "got a JSON object for"},
    };
    Sso__Connection allowing = *defaults;
    allowing.allow_unverified_email = true;
    char why[600];
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        SSO_CHECK(s_profile_refused(refused[i][0], defaults, refused[i][1]));
        Sso__Profile *p = s_profile(refused[i][0], &allowing, why, sizeof why);
        SSO_CHECK(p && !strcmp(p->email, "bob@acme.com") && !p->email_verified);
        sso__profile__free_unpacked(p, NULL);
    }
    /* Not said (absent, null), or said of an email that is not used (the upn is): passes,
       unverified; true or "true": verified. */
    const char *passing[][2] = {
        {"{\"sub\":\"v\",\"email\":\"bob@acme.com\"}", "0"},
        {"{\"sub\":\"v\",\"email\":\"bob@acme.com\",\"email_verified\":null}", "0"},
        {"{\"sub\":\"v\",\"upn\":\"bob@acme.com\",\"email_verified\":false}", "0"},
        {"{\"sub\":\"v\",\"email\":\"\",\"preferred_username\":\"bob@acme.com\","
         "\"email_verified\":\"false\"}", "0"},
        {"{\"sub\":\"v\",\"email\":\"bob@acme.com\",\"email_verified\":true}", "1"},
        {"{\"sub\":\"v\",\"email\":\"bob@acme.com\",\"email_verified\":\"true\"}", "1"},
    };
    for (size_t i = 0; i < sizeof passing / sizeof *passing; i++) {
        Sso__Profile *p = s_profile(passing[i][0], defaults, why, sizeof why);
        SSO_CHECK(p && !strcmp(p->email, "bob@acme.com")
                  && p->email_verified == (passing[i][1][0] == '1'));
        if (!p)
            fprintf(stderr, "profile %s: refused: %s\n", passing[i][0], why);
        sso__profile__free_unpacked(p, NULL);
    }
    /* No email at all: nothing to refuse. */
    Sso__Profile *p = s_profile("{\"sub\":\"v\",\"email_verified\":false}", defaults, why,
                                sizeof why);
    SSO_CHECK(p && !*p->email && !p->email_verified);
    sso__profile__free_unpacked(p, NULL);
}

/* The subject makes the token service's sub ("conn_t;" + it, 255 at most, printable ASCII). */
static void s_test_subject(const Sso__Connection *conn)
{
    char claims_json[400], subject[300];
    memset(subject, 's', 248);
    subject[248] = '\0';
    snprintf(claims_json, sizeof claims_json, "{\"sub\":\"%s\"}", subject);
    char why[600];
    Sso__Profile *p = s_profile(claims_json, conn, why, sizeof why);
    SSO_CHECK(p && strlen(p->subject) == 248);
    sso__profile__free_unpacked(p, NULL);
    memset(subject, 's', 299);
    subject[299] = '\0';
    snprintf(claims_json, sizeof claims_json, "{\"sub\":\"%s\"}", subject);
    SSO_CHECK(s_profile_refused(claims_json, conn,
                                "sub: at most 248 characters for this connection, got 299"));
    subject[249] = '\0';
    snprintf(claims_json, sizeof claims_json, "{\"sub\":\"%s\"}", subject);
    SSO_CHECK(s_profile_refused(claims_json, conn,
                                "sub: at most 248 characters for this connection, got 249"));
    const char *odd[] = {"{\"sub\":\"zo\\u00eb\"}", "{\"sub\":\"a\\tb\"}",
                         "{\"sub\":\"a\\u007f\"}", "{\"sub\":\"\\u2028\"}"};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
        SSO_CHECK(s_profile_refused(odd[i], conn, "sub: expected printable ASCII, got the byte"));
    p = s_profile("{\"sub\":\"a b~\"}", conn, why, sizeof why);
    SSO_CHECK(p && !strcmp(p->subject, "a b~"));
    sso__profile__free_unpacked(p, NULL);
}

void oidc_claims_test(bool verbose)
{
    (void) verbose;
    oidc_claims_expect_t expect = {"https://idp.test", "cli-1", "n-1", -1, 1700000000};
    json_t *good = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "https://idp.test", "sub",
                             "u1", "aud", "cli-1", "exp", (json_int_t) 1700000300, "iat",
                             (json_int_t) 1700000000, "nonce", "n-1");
    char why[400] = "";
    SSO_CHECK(good && oidc_claims_check(good, &expect, why, sizeof why) == 0);
    json_decref(good);
    const char *base = "\"sub\":\"u1\",\"exp\":1700000300,\"iat\":1700000000,\"nonce\":\"n-1\"";
    char text[600];
#define S_CASE(extra, reason)                                                                  \
    snprintf(text, sizeof text, "{%s,%s}", base, extra);                                       \
    SSO_CHECK(s_refused(text, &expect, reason))
    S_CASE("\"iss\":\"https://evil\",\"aud\":\"cli-1\"",
           "id_token iss: expected https://idp.test, got https://evil");
    S_CASE("\"iss\":\"https://idp.test/\",\"aud\":\"cli-1\"", "got https://idp.test/");
    S_CASE("\"iss\":\"https://IDP.test\",\"aud\":\"cli-1\"", "id_token iss");
    S_CASE("\"aud\":\"cli-1\"", "id_token iss: expected https://idp.test, got none");
    S_CASE("\"iss\":5,\"aud\":\"cli-1\"", "got 5");
    S_CASE("\"iss\":\"https://idp.test\",\"aud\":\"other\"",
           "id_token aud: expected cli-1 among the audiences, got other");
    S_CASE("\"iss\":\"https://idp.test\"", "id_token aud");
    S_CASE("\"iss\":\"https://idp.test\",\"aud\":[]", "id_token aud");
    S_CASE("\"iss\":\"https://idp.test\",\"aud\":[\"cli-1\",5]", "id_token aud");
    S_CASE("\"iss\":\"https://idp.test\",\"aud\":[\"cli-1\",\"other\"]",
           "id_token azp: expected cli-1 (the token has 2 audiences), got none");
    S_CASE("\"iss\":\"https://idp.test\",\"aud\":[\"cli-1\",\"other\"],\"azp\":\"other\"",
           "id_token azp: expected cli-1, got other");
    S_CASE("\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"azp\":\"x\"", "id_token azp");
#undef S_CASE
    /* Dates, nonce, auth_time. */
    const char *dated[][2] = {
        {"{\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"nonce\":\"n-1\",\"iat\":1700000000}",
         "id_token exp: absent"},
        {"{\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"nonce\":\"n-1\",\"iat\":1700000000,"
         "\"exp\":\"soon\"}", "id_token exp"},
        {"{\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"nonce\":\"n-1\",\"iat\":1699990000,"
         "\"exp\":1699999800}", "id_token exp: expired at 1699999800, now 1700000000"},
        {"{\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"nonce\":\"n-1\","
         "\"exp\":1700000300}", "id_token iat: absent"},
        {"{\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"nonce\":\"n-1\",\"iat\":1700003600,"
         "\"exp\":1700007200}", "id_token iat: issued in the future at 1700003600"},
        {"{\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"nonce\":\"n-1\",\"iat\":1700000000,"
         "\"exp\":1700007200,\"nbf\":1700003600}", "id_token nbf: not valid before 1700003600"},
        {"{\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"iat\":1700000000,"
         "\"exp\":1700000300}", "id_token nonce: expected n-1, got none"},
        {"{\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"nonce\":\"n-2\",\"iat\":1700000000,"
         "\"exp\":1700000300}", "id_token nonce: expected n-1, got n-2"},
        {"[1]", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof dated / sizeof *dated; i++)
        SSO_CHECK(s_refused(dated[i][0], &expect, dated[i][1]));
    /* Within the skew: an exp just past, an nbf just ahead pass. */
    json_t *skewed = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", "https://idp.test",
                               "sub", "u1", "aud", "cli-1", "exp", (json_int_t) 1699999950,
                               "iat", (json_int_t) 1699999000, "nbf", (json_int_t) 1700000060,
                               "nonce", "n-1");
    SSO_CHECK(oidc_claims_check(skewed, &expect, why, sizeof why) == 0);
    /* max_age asked: auth_time must be there and recent enough. */
    expect.max_age = 300;
    SSO_CHECK(oidc_claims_check(skewed, &expect, why, sizeof why) == -1
              && strstr(why, "id_token auth_time: expected one (max_age was asked), got none"));
    json_object_set_new(skewed, "auth_time", json_integer(1699999000));
    SSO_CHECK(oidc_claims_check(skewed, &expect, why, sizeof why) == -1
              && strstr(why, "id_token auth_time: expected after 1699999700 (max_age 300), got "
                             "1699999000"));
    json_object_set_new(skewed, "auth_time", json_integer(1699999800));
    SSO_CHECK(oidc_claims_check(skewed, &expect, why, sizeof why) == 0);
    /* An auth_time at the end of the range: no overflow (UBSan), and recent enough. */
    json_object_set_new(skewed, "auth_time", json_integer(INT64_MAX));
    SSO_CHECK(oidc_claims_check(skewed, &expect, why, sizeof why) == 0);
    json_decref(skewed);
    /* The IdP's words in a reason are one printable line: no forged log line. */
    SSO_CHECK(s_refused("{\"iss\":\"https://idp.test\",\"aud\":\"cli-1\",\"nonce\":"
                        "\"n\\n2026 forged line\",\"iat\":1700000000,\"exp\":1700000300}",
                        &expect, "id_token nonce: expected n-1, got n?2026 forged line"));

    /* Profiles: Keycloak-style, Entra-style (no email: upn; groups as ids), hostile. */
    Sso__Connection conn = SSO__CONNECTION__INIT;
    conn.id = "conn_t";
    json_t *keycloak = json_loads("{\"sub\":\"kc-1\",\"email\":\"ann@example.com\","
                                  "\"email_verified\":true,\"name\":\"Ann Lee\",\"given_name\":"
                                  "\"Ann\",\"family_name\":\"Lee\",\"preferred_username\":\"ann\","
                                  "\"groups\":[\"admins\",\"staff\"]}", 0, NULL);
    Sso__Profile *p = oidc_claims_profile(keycloak, &conn, why, sizeof why);
    SSO_CHECK(p && !strcmp(p->subject, "kc-1") && !strcmp(p->email, "ann@example.com")
              && p->email_verified && !strcmp(p->given_name, "Ann")
              && !strcmp(p->family_name, "Lee") && p->n_groups == 2
              && !strcmp(p->groups[1], "staff"));
    sso__profile__free_unpacked(p, NULL);
    json_decref(keycloak);
    json_t *entra = json_loads("{\"sub\":\"AAAA-sub\",\"oid\":\"0000\",\"upn\":\"bo@contoso.com\","
                               "\"preferred_username\":\"bo@contoso.com\",\"name\":\"Bo\","
                               "\"groups\":[\"6d6e1e4d-0000\",42]}", 0, NULL);
    p = oidc_claims_profile(entra, &conn, why, sizeof why);
    SSO_CHECK(p && !strcmp(p->email, "bo@contoso.com") && !p->email_verified && p->n_groups == 2
              && !strcmp(p->groups[0], "6d6e1e4d-0000") && !strcmp(p->groups[1], "42"));
    sso__profile__free_unpacked(p, NULL);
    json_decref(entra);
    json_t *roles = json_loads("{\"sub\":\"s\",\"preferred_username\":\"bo\",\"email_verified\":"
                               "\"true\",\"roles\":[\"r1\"]}", 0, NULL);
    p = oidc_claims_profile(roles, &conn, why, sizeof why);
    SSO_CHECK(p && !*p->email && !p->email_verified && p->n_groups == 1);
    sso__profile__free_unpacked(p, NULL);
    json_decref(roles);
    json_t *string_true = json_loads("{\"sub\":\"s\",\"email\":\"a@b.test\",\"email_verified\":"
                                     "\"true\"}", 0, NULL);
    p = oidc_claims_profile(string_true, &conn, why, sizeof why);
    SSO_CHECK(p && p->email_verified);
    sso__profile__free_unpacked(p, NULL);
    json_decref(string_true);
    const char *hostile[][2] = {
        {"{\"email\":\"a@b.test\"}", "id_token sub: expected the user's identifier, got none"},
        {"{\"sub\":\"\"}", "id_token sub"},
        {"{\"sub\":5}", "id_token sub: expected text"},
        {"{\"sub\":\"s\",\"email\":[\"a@b.test\"]}", "id_token email: expected text"},
        {"{\"sub\":\"s\",\"name\":\"a\\u0000b\"}", "id_token name: expected text"},
        {"{\"sub\":\"s\",\"groups\":\"admins\"}", "id_token groups"},
        {"{\"sub\":\"s\",\"groups\":[\"\"]}", "id_token groups"},
        {"{\"sub\":\"s\",\"groups\":[{}]}", "id_token groups"},
    };
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        json_t *claims = json_loads(hostile[i][0], JSON_ALLOW_NUL, NULL);
        p = claims ? oidc_claims_profile(claims, &conn, why, sizeof why) : NULL;
        SSO_CHECK(claims && !p && strstr(why, hostile[i][1]));
        if (!claims || p || !strstr(why, hostile[i][1]))
            fprintf(stderr, "profile %s: got \"%s\"\n", hostile[i][0], why);
        sso__profile__free_unpacked(p, NULL);
        json_decref(claims);
    }
    char *longer = malloc(OIDC_CLAIMS_TEXT_MAX + 20);
    if (longer) {
        memset(longer, 'x', OIDC_CLAIMS_TEXT_MAX + 1);
        longer[OIDC_CLAIMS_TEXT_MAX + 1] = '\0';
        json_t *claims = json_pack("{s:s}", "sub", longer);
        p = oidc_claims_profile(claims, &conn, why, sizeof why);
        SSO_CHECK(!p && strstr(why, "id_token sub: expected text of at most"));
        json_decref(claims);
        free(longer);
    }

    s_test_mapping(&conn);
    s_test_email_verified(&conn);
    s_test_subject(&conn);

    /* userinfo merged: what the ID token lacks, never over it, never the ID token's own. */
    json_t *claims = json_loads("{\"sub\":\"u1\",\"name\":\"From token\",\"iss\":\"https://idp.test\"}",
                                0, NULL);
    json_t *info = json_loads("{\"sub\":\"u1\",\"name\":\"From userinfo\",\"email\":\"u@x.test\","
                              "\"groups\":[\"g\"],\"iss\":\"https://evil\",\"nonce\":\"n\"}", 0, NULL);
    SSO_CHECK(oidc_claims_merge(claims, info, why, sizeof why) == 0
              && !strcmp(json_string_value(json_object_get(claims, "name")), "From token")
              && !strcmp(json_string_value(json_object_get(claims, "email")), "u@x.test")
              && json_array_size(json_object_get(claims, "groups")) == 1
              && !strcmp(json_string_value(json_object_get(claims, "iss")), "https://idp.test")
              && !json_object_get(claims, "nonce"));
    json_decref(info);
    /* The email and its email_verified come from one source. */
    static const char *const pairs[][3] = {
        /* ID token, userinfo, the email_verified merged ("-": none) */
        {"{\"sub\":\"u1\",\"email_verified\":true}",
         "{\"sub\":\"u1\",\"email\":\"x@corp.test\",\"email_verified\":false}", "false"},
        {"{\"sub\":\"u1\",\"email_verified\":true}", "{\"sub\":\"u1\",\"email\":\"x@corp.test\"}",
         "-"},
        {"{\"sub\":\"u1\",\"email\":\"a@corp.test\",\"email_verified\":true}",
         "{\"sub\":\"u1\",\"email\":\"x@corp.test\",\"email_verified\":false}", "true"},
        {"{\"sub\":\"u1\"}", "{\"sub\":\"u1\",\"email\":\"x@corp.test\",\"email_verified\":true}",
         "true"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        json_t *token = json_loads(pairs[i][0], 0, NULL), *answer = json_loads(pairs[i][1], 0, NULL);
        SSO_CHECK(token && answer && oidc_claims_merge(token, answer, why, sizeof why) == 0);
        json_t *verified = json_object_get(token, "email_verified");
        SSO_CHECK(!strcmp(pairs[i][2], "-") ? !verified
                                            : json_is_boolean(verified)
                                                  && json_is_true(verified)
                                                         == !strcmp(pairs[i][2], "true"));
        json_decref(token);
        json_decref(answer);
    }
    const char *mismatched[][2] = {{"{\"sub\":\"u2\",\"email\":\"a@b.test\"}",
                                    "userinfo sub: expected u1, got u2"},
                                   {"{\"email\":\"a@b.test\"}", "userinfo sub: expected u1, got none"},
                                   {"{\"sub\":1}", "userinfo sub: expected u1, got 1"},
                                   {"[1]", "userinfo: expected a JSON object"}};
    for (size_t i = 0; i < sizeof mismatched / sizeof *mismatched; i++) {
        info = json_loads(mismatched[i][0], 0, NULL);
        SSO_CHECK(info && oidc_claims_merge(claims, info, why, sizeof why) == -1
                  && strstr(why, mismatched[i][1]));
        json_decref(info);
    }
    json_decref(claims);
}
