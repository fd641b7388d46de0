/* saml_cases: the corpus runner behind `test-saml --cases DIR`. */
#include "saml_cases.h"
#include "saml_response.h"
#include "saml_xml.h"
#include "sso_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_FILE (8 * 1024 * 1024)
#define S_MAX_FIELDS 5

static char *s_read(const char *dir, const char *name)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int) sizeof path || strstr(name, ".."))
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = malloc(S_MAX_FILE + 1);
    size_t len = data ? fread(data, 1, S_MAX_FILE, f) : 0;
    fclose(f);
    if (!data)
        return NULL;
    data[len] = '\0';
    return data;
}

/* Splits line in place at tabs into at most S_MAX_FIELDS fields (empty fields kept). */
static int s_split(char *line, char **fields)
{
    int n = 0;
    fields[n++] = line;
    for (char *p = line; *p && n < S_MAX_FIELDS; p++)
        if (*p == '\t') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    return n;
}

/* A manifest's attribute_mapping: "field=name" pairs separated by spaces (the directory
   refuses spaces in names), at most one per profile field. */
#define S_MAX_MAPPING 5

typedef struct {
    char *idp_entity_id, *idp_cert, *sp_entity_id, *acs_url, *in_response_to, *sp_key;
    char *mapping; /* the pairs as written; NULL: none */
    time_t now;
} s_config_t;

static void s_config_free(s_config_t *c)
{
    free(c->idp_entity_id);
    free(c->idp_cert);
    free(c->sp_entity_id);
    free(c->acs_url);
    free(c->in_response_to);
    free(c->sp_key);
    free(c->mapping);
}

/* The entries of a manifest's attribute_mapping, pointing into pairs (cut at the spaces and
   '='; NULL: none). 0, or -1 for a pair without '=' or too many pairs. */
static int s_mapping(char *pairs, Sso__AttributeMapping *entries,
                     Sso__AttributeMapping **pointers, size_t *n)
{
    *n = 0;
    char *save = NULL;
    for (char *pair = pairs ? strtok_r(pairs, " ", &save) : NULL; pair;
         pair = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq || *n == S_MAX_MAPPING)
            return -1;
        *eq = '\0';
        sso__attribute_mapping__init(&entries[*n]);
        entries[*n].field = pair;
        entries[*n].name = eq + 1;
        pointers[*n] = &entries[*n];
        (*n)++;
    }
    return 0;
}

static int s_config_set(s_config_t *c, const char *dir, const char *key, const char *value)
{
    char **slot = strcmp(key, "idp_entity_id") == 0    ? &c->idp_entity_id
                  : strcmp(key, "sp_entity_id") == 0   ? &c->sp_entity_id
                  : strcmp(key, "acs_url") == 0        ? &c->acs_url
                  : strcmp(key, "in_response_to") == 0 ? &c->in_response_to
                  : strcmp(key, "attribute_mapping") == 0 ? &c->mapping
                                                       : NULL;
    if (slot) {
        free(*slot);
        return (*slot = strdup(value)) ? 0 : -1;
    }
    if (strcmp(key, "idp_certificate") == 0) {
        free(c->idp_cert);
        return (c->idp_cert = s_read(dir, value)) ? 0 : -1;
    }
    if (strcmp(key, "sp_private_key") == 0) {
        free(c->sp_key);
        return (c->sp_key = s_read(dir, value)) ? 0 : -1;
    }
    if (strcmp(key, "now") == 0)
        return saml_time_parse(value, &c->now);
    return -1;
}

static void s_run_case(saml_response_t *v, const char *dir, char **f, bool verbose)
{
    const char *name = f[1], *expect = f[2], *substring = f[3];
    char *b64 = s_read(dir, f[4]);
    if (!b64) {
        sso_test_failed++;
        printf("FAIL %s: cannot read %s\n", name, f[4]);
        return;
    }
    saml_error_t rc = saml_response_validate(v, b64);
    free(b64);
    char *summary = rc == SAML_OK ? saml_profile_summary(saml_response_profile(v)) : NULL;
    const char *got = rc == SAML_OK ? (summary ? summary : "") : saml_response_reason(v);
    bool want_ok = strcmp(expect, "ok") == 0;
    bool pass = (rc == SAML_OK) == want_ok && strstr(got, substring) != NULL;
    if (pass)
        sso_test_passed++;
    else
        sso_test_failed++;
    if (!pass || verbose)
        printf("%s %s: expected %s containing \"%s\"; got %s: %s\n", pass ? "ok  " : "FAIL", name,
               expect, substring, rc == SAML_OK ? "ok" : saml_error_name(rc), got);
    free(summary);
}

int saml_cases_run(const char *dir, bool verbose)
{
    char *manifest = s_read(dir, "manifest.tsv");
    if (!manifest) {
        fprintf(stderr, "cannot read %s/manifest.tsv\n", dir);
        return -1;
    }
    s_config_t config = {0};
    saml_response_t *v = NULL;
    int rc = 0;
    char *save = NULL;
    for (char *line = strtok_r(manifest, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[S_MAX_FIELDS] = {0};
        if (line[0] == '#' || line[0] == '\0')
            continue;
        int n = s_split(line, f);
        if (n == 3 && strcmp(f[0], "config") == 0) {
            if (s_config_set(&config, dir, f[1], f[2]) != 0) {
                fprintf(stderr, "bad config line: %s\n", f[1]);
                rc = -1;
                break;
            }
            saml_response_destroy(&v); /* rebuilt with the new configuration */
            continue;
        }
        if (n != 5 || strcmp(f[0], "case") != 0) {
            fprintf(stderr, "bad manifest line: %s\n", f[0]);
            rc = -1;
            break;
        }
        if (!v) {
            /* The manifest's connection, through the ACS's own mapping. */
            char *certs[] = {config.idp_cert ? config.idp_cert : ""};
            Sso__Connection connection = SSO__CONNECTION__INIT;
            connection.idp_entity_id = config.idp_entity_id;
            connection.idp_certificates = certs;
            connection.n_idp_certificates = 1;
            connection.sp_entity_id = config.sp_entity_id;
            connection.sp_acs_url = config.acs_url;
            connection.sp_private_key_pem = config.sp_key;
            /* As the directory fills it when the option is not set. */
            connection.saml_clock_skew_s = SAML_DEFAULT_CLOCK_SKEW;
            Sso__AttributeMapping entries[S_MAX_MAPPING], *pointers[S_MAX_MAPPING];
            char *pairs = config.mapping ? strdup(config.mapping) : NULL;
            if ((config.mapping && !pairs)
                || s_mapping(pairs, entries, pointers, &connection.n_attribute_mapping) != 0) {
                fprintf(stderr, "bad attribute_mapping line\n");
                free(pairs);
                rc = -1;
                break;
            }
            connection.attribute_mapping = pointers;
            saml_response_config_t c;
            saml_response_config_from_connection(&c, &connection, config.in_response_to);
            c.now = config.now;
            v = saml_response_new(&c); /* it keeps copies of the mapping's names */
            free(pairs);
            if (!v) {
                rc = -1;
                break;
            }
        }
        s_run_case(v, dir, f, verbose);
    }
    saml_response_destroy(&v);
    s_config_free(&config);
    free(manifest);
    return rc;
}
