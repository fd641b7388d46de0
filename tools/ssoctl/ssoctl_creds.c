#include "ssoctl_creds.h"
#include "ssoctl_util.h"
#include "sso_test.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDS_FILE_MAX 16384
#define CREDS_VALUE_MAX 512

static void s_wipe(char **text)
{
    if (*text) {
        OPENSSL_cleanse(*text, strlen(*text));
        free(*text);
        *text = NULL;
    }
}

void ssoctl_creds_free(ssoctl_creds_t *creds)
{
    free(creds->client_id);
    creds->client_id = NULL;
    s_wipe(&creds->client_secret);
}

static bool s_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int ssoctl_creds_parse(const char *text, size_t len, ssoctl_creds_t *creds, char *err,
                       size_t errlen)
{
    ssoctl_creds_free(creds);
    const char *end = text + len;
    const char *line = text;
    size_t lineno = 0;
    while (line < end) {
        lineno++;
        const char *nl = memchr(line, '\n', (size_t) (end - line));
        const char *stop = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        while (line < stop && s_blank(*line))
            line++;
        while (stop > line && s_blank(stop[-1]))
            stop--;
        if (line == stop || *line == '#') {
            line = next;
            continue;
        }
        const char *eq = memchr(line, '=', (size_t) (stop - line));
        if (!eq) {
            snprintf(err, errlen, "line %zu is not KEY=VALUE", lineno);
            goto fail;
        }
        size_t key_len = (size_t) (eq - line);
        const char *value = eq + 1;
        size_t value_len = (size_t) (stop - value);
        /* Tolerate shell-style quoting, as people edit this file by hand. */
        if (value_len >= 2 && (value[0] == '"' || value[0] == '\'')
            && value[value_len - 1] == value[0]) {
            value++;
            value_len -= 2;
        }
        char **slot = NULL;
        if (key_len == 19 && memcmp(line, "SSO_ADMIN_CLIENT_ID", 19) == 0)
            slot = &creds->client_id;
        else if (key_len == 23 && memcmp(line, "SSO_ADMIN_CLIENT_SECRET", 23) == 0)
            slot = &creds->client_secret;
        if (slot) {
            if (*slot) {
                snprintf(err, errlen, "line %zu repeats %.*s", lineno, (int) key_len, line);
                goto fail;
            }
            if (value_len == 0 || value_len > CREDS_VALUE_MAX || memchr(value, '\0', value_len)) {
                snprintf(err, errlen, "line %zu: %.*s is empty or too long", lineno,
                         (int) key_len, line);
                goto fail;
            }
            *slot = strndup(value, value_len);
            if (!*slot) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
        }
        line = next;
    }
    if (!creds->client_id || !creds->client_secret) {
        snprintf(err, errlen, "%s is missing",
                 !creds->client_id ? "SSO_ADMIN_CLIENT_ID" : "SSO_ADMIN_CLIENT_SECRET");
        goto fail;
    }
    return 0;
fail:
    ssoctl_creds_free(creds);
    return -1;
}

int ssoctl_creds_load(const ssoctl_env_t *env, const char *data_dir, ssoctl_creds_t *creds,
                      char *err, size_t errlen)
{
    memset(creds, 0, sizeof *creds);
    const char *id = env->admin_client_id;
    const char *secret = env->admin_client_secret;
    bool have_id = id && *id, have_secret = secret && *secret;
    if (have_id && have_secret) {
        creds->client_id = strdup(id);
        creds->client_secret = strdup(secret);
        if (!creds->client_id || !creds->client_secret) {
            ssoctl_creds_free(creds);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        snprintf(creds->source, sizeof creds->source, "SSO_ADMIN_CLIENT_ID/SECRET");
        return 0;
    }
    /* Half a pair in the environment is a mistake; silently using the file would hide it. */
    if (have_id != have_secret) {
        snprintf(err, errlen, "%s is set but %s is not", have_id ? "SSO_ADMIN_CLIENT_ID"
                                                                 : "SSO_ADMIN_CLIENT_SECRET",
                 have_id ? "SSO_ADMIN_CLIENT_SECRET" : "SSO_ADMIN_CLIENT_ID");
        return -1;
    }
    char path[1100];
    if (snprintf(path, sizeof path, "%s/admin-credentials", data_dir) >= (int) sizeof path) {
        snprintf(err, errlen, "data dir path is too long");
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    char why[256];
    if (ssoctl_read_file(path, CREDS_FILE_MAX, &text, &len, why, sizeof why) != 0) {
        snprintf(err, errlen,
                 "no admin credentials: set SSO_ADMIN_CLIENT_ID and SSO_ADMIN_CLIENT_SECRET, "
                 "or point --data-dir/SSO_DATA_DIR at the broker's data dir (%s)",
                 why);
        return -1;
    }
    char perr[200];
    int rc = ssoctl_creds_parse(text, len, creds, perr, sizeof perr);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, perr);
        return -1;
    }
    snprintf(creds->source, sizeof creds->source, "%s", path);
    return 0;
}

void ssoctl_creds_test(bool verbose)
{
    (void) verbose;
    ssoctl_creds_t creds = {0};
    char err[256] = "";
    const char *good = "SSO_ADMIN_CLIENT_ID=cli_admin\nSSO_ADMIN_CLIENT_SECRET=s3cr=t\n";
    SSO_CHECK(ssoctl_creds_parse(good, strlen(good), &creds, err, sizeof err) == 0);
    SSO_CHECK(creds.client_id && !strcmp(creds.client_id, "cli_admin"));
    SSO_CHECK(creds.client_secret && !strcmp(creds.client_secret, "s3cr=t"));

    const char *messy = "# written by the broker\r\n\r\n  SSO_ADMIN_CLIENT_SECRET=\"x y\"\r\n"
                        "OTHER=1\nSSO_ADMIN_CLIENT_ID=id";
    SSO_CHECK(ssoctl_creds_parse(messy, strlen(messy), &creds, err, sizeof err) == 0);
    SSO_CHECK(creds.client_id && !strcmp(creds.client_id, "id"));
    SSO_CHECK(creds.client_secret && !strcmp(creds.client_secret, "x y"));

    const char *missing = "SSO_ADMIN_CLIENT_ID=id\n";
    SSO_CHECK(ssoctl_creds_parse(missing, strlen(missing), &creds, err, sizeof err) == -1);
    SSO_CHECK(strstr(err, "SSO_ADMIN_CLIENT_SECRET") && !creds.client_id);
    const char *twice = "SSO_ADMIN_CLIENT_ID=a\nSSO_ADMIN_CLIENT_ID=b\nSSO_ADMIN_CLIENT_SECRET=c";
    SSO_CHECK(ssoctl_creds_parse(twice, strlen(twice), &creds, err, sizeof err) == -1);
    const char *junk = "SSO_ADMIN_CLIENT_ID=a\ngarbage\nSSO_ADMIN_CLIENT_SECRET=topsecret";
    SSO_CHECK(ssoctl_creds_parse(junk, strlen(junk), &creds, err, sizeof err) == -1);
    SSO_CHECK(strstr(err, "line 2") != NULL);
    const char *empty = "SSO_ADMIN_CLIENT_ID=\nSSO_ADMIN_CLIENT_SECRET=topsecret";
    SSO_CHECK(ssoctl_creds_parse(empty, strlen(empty), &creds, err, sizeof err) == -1);
    SSO_CHECK(strstr(err, "topsecret") == NULL);
    /* An embedded NUL must not silently truncate a value. */
    const char nul[] = "SSO_ADMIN_CLIENT_ID=a\0b\nSSO_ADMIN_CLIENT_SECRET=c";
    SSO_CHECK(ssoctl_creds_parse(nul, sizeof nul - 1, &creds, err, sizeof err) == -1);
    SSO_CHECK(ssoctl_creds_parse("", 0, &creds, err, sizeof err) == -1);
    ssoctl_creds_free(&creds);
}
