#include "ssoctl_cmd.h"
#include "ssoctl_creds.h"
#include "ssoctl_util.h"
#include "sso_config.h"
#include "sso_test.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PAGES 10000

static const ssoctl_cmd_t *const s_groups[] = {
    ssoctl_clients_cmds,      ssoctl_orgs_cmds,   ssoctl_domains_cmds,
    ssoctl_connections_cmds,  ssoctl_events_cmds, ssoctl_keys_cmds,
    ssoctl_portal_links_cmds, ssoctl_directories_cmds, ssoctl_webhooks_cmds,
    ssoctl_admins_cmds,
    ssoctl_audit_cmds,        ssoctl_completion_cmds};
#define NGROUPS (sizeof s_groups / sizeof s_groups[0])

const ssoctl_cmd_t *const *ssoctl_cmd_groups(size_t *count)
{
    *count = NGROUPS;
    return s_groups;
}

int ssoctl_selftest(bool verbose); /* ssoctl_cmd_selftest.c; hidden from help */

/* Prints "ssoctl: <message>" with control characters shown as '?': messages quote server
   text and user input, neither of which may drive the terminal. */
static void s_vprint(FILE *stream, const char *fmt, va_list ap)
{
    char text[3072];
    vsnprintf(text, sizeof text, fmt, ap);
    for (char *p = text; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stream, "ssoctl: %s\n", text);
}

static void s_print(FILE *stream, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_print(FILE *stream, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vprint(stream, fmt, ap);
    va_end(ap);
}

static void s_cmd_name(const ssoctl_cmd_t *cmd, char *out, size_t len)
{
    snprintf(out, len, "%s%s%s", cmd->group, cmd->name ? " " : "", cmd->name ? cmd->name : "");
}

int ssoctl_usage_error(ssoctl_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vprint(ctx->err, fmt, ap);
    va_end(ap);
    char name[64] = "";
    if (ctx->cmd)
        s_cmd_name(ctx->cmd, name, sizeof name);
    fprintf(ctx->err, "Try 'ssoctl %s%s--help'.\n", name, *name ? " " : "");
    return SSOCTL_EXIT_USAGE;
}

int ssoctl_fail(ssoctl_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vprint(ctx->err, fmt, ap);
    va_end(ap);
    return SSOCTL_EXIT_FAIL;
}

char *ssoctl_path(const char *literal, ...)
{
    ssoctl_buf_t buf = {0};
    va_list ap;
    va_start(ap, literal);
    while (literal) {
        ssoctl_buf_puts(&buf, literal);
        const char *id = va_arg(ap, const char *);
        if (!id)
            break;
        ssoctl_buf_encoded(&buf, id);
        literal = va_arg(ap, const char *);
    }
    va_end(ap);
    return ssoctl_buf_take(&buf);
}

static int s_connect(ssoctl_ctx_t *ctx)
{
    if (ctx->http)
        return 0;
    ssoctl_creds_t creds;
    char err[1536];
    if (ssoctl_creds_load(&ctx->env, ctx->data_dir, &creds, err, sizeof err) != 0)
        return ssoctl_fail(ctx, "%s", err);
    snprintf(ctx->creds_source, sizeof ctx->creds_source, "%s", creds.source);
    if (ssoctl_http_new(ctx->url, &creds, &ctx->http, err, sizeof err) != 0) {
        ssoctl_creds_free(&creds);
        return ssoctl_fail(ctx, "%s", err);
    }
    return 0;
}

/* Reports a failed call; always returns SSOCTL_EXIT_FAIL. */
static int s_report(ssoctl_ctx_t *ctx, ssoctl_http_rc_t rc, const ssoctl_response_t *resp)
{
    if (rc != SSOCTL_HTTP_OK) {
        s_print(ctx->err, "%s", resp->error);
        if (rc == SSOCTL_HTTP_UNREACHABLE)
            s_print(ctx->err, "is the broker running at %s? (set SSO_PUBLIC_URL or --url)",
                    ctx->url);
    }
    else {
        const char *error = json_string_value(json_object_get(resp->json, "error"));
        const char *description =
            json_string_value(json_object_get(resp->json, "error_description"));
        if (error)
            s_print(ctx->err, "%ld %s: %s", resp->status, error,
                    description && *description ? description : "(no description)");
        else
            s_print(ctx->err, "%ld unexpected_response: %s answered without an API error body",
                    resp->status, resp->url);
    }
    if (resp->token_request && rc != SSOCTL_HTTP_UNREACHABLE)
        s_print(ctx->err, "(while getting the admin token from %s with the credentials from %s)",
                resp->url, ctx->creds_source);
    return SSOCTL_EXIT_FAIL;
}

int ssoctl_call(ssoctl_ctx_t *ctx, const char *method, const char *path, const json_t *body,
                json_t **out)
{
    *out = NULL;
    if (!path)
        return ssoctl_fail(ctx, "out of memory");
    int rc = s_connect(ctx);
    if (rc != 0)
        return rc;
    ssoctl_response_t resp;
    ssoctl_http_rc_t hrc = ssoctl_http_api(ctx->http, method, path, body, &resp);
    if (hrc != SSOCTL_HTTP_OK || resp.status < 200 || resp.status >= 300) {
        rc = s_report(ctx, hrc, &resp);
        ssoctl_response_clear(&resp);
        return rc;
    }
    *out = resp.json;
    resp.json = NULL;
    ssoctl_response_clear(&resp);
    return 0;
}

/* Appends one page's items to all (up to limit) and returns its next_page_token or NULL. */
static int s_page(ssoctl_ctx_t *ctx, const json_t *page, json_t *all, size_t limit,
                  const char **next)
{
    const json_t *data = json_object_get(page, "data");
    if (!json_is_array(data))
        return ssoctl_fail(ctx, "unexpected list response: no \"data\" array");
    size_t i;
    json_t *item;
    json_array_foreach(data, i, item)
    {
        if (limit && json_array_size(all) >= limit)
            break;
        if (json_array_append(all, item) != 0)
            return ssoctl_fail(ctx, "out of memory");
    }
    const char *token = json_string_value(json_object_get(page, "next_page_token"));
    *next = token && *token ? token : NULL;
    return 0;
}

int ssoctl_list(ssoctl_ctx_t *ctx, const char *path, long page_size, const char *page_token,
                bool all, size_t limit, json_t **out, const char **next)
{
    *out = NULL;
    *next = NULL;
    json_t *items = json_array();
    json_t *page = NULL;
    char *token = NULL;
    int rc = 0;
    if (!items || (page_token && *page_token && !(token = strdup(page_token))))
        rc = ssoctl_fail(ctx, "out of memory");
    size_t pages = 0;
    while (rc == 0) {
        if (pages == MAX_PAGES) {
            rc = ssoctl_fail(ctx, "more than %d pages; stopping", MAX_PAGES);
            break;
        }
        ssoctl_buf_t url = {0};
        ssoctl_buf_puts(&url, path);
        const char *sep = strchr(path, '?') ? "&" : "?";
        if (page_size > 0) {
            char number[32];
            snprintf(number, sizeof number, "%spage_size=%ld", sep, page_size);
            ssoctl_buf_puts(&url, number);
            sep = "&";
        }
        if (token) {
            ssoctl_buf_puts(&url, sep);
            ssoctl_buf_puts(&url, "page_token=");
            ssoctl_buf_encoded(&url, token);
        }
        char *url_text = ssoctl_buf_take(&url);
        json_decref(page);
        page = NULL;
        rc = ssoctl_call(ctx, "GET", url_text, NULL, &page);
        free(url_text);
        const char *page_next = NULL;
        if (rc == 0)
            rc = s_page(ctx, page, items, limit, &page_next);
        if (rc != 0)
            break;
        pages++;
        bool want_more = page_next && (all || (limit && json_array_size(items) < limit));
        if (!want_more) {
            *next = page_next;
            break;
        }
        /* A server that hands back the token it was given would loop forever. */
        if (token && strcmp(token, page_next) == 0) {
            rc = ssoctl_fail(ctx, "the server returned the same page token twice");
            break;
        }
        free(token);
        token = strdup(page_next);
        if (!token)
            rc = ssoctl_fail(ctx, "out of memory");
    }
    free(token);
    if (rc != 0) {
        json_decref(page);
        json_decref(items);
        *next = NULL;
        return rc;
    }
    if (pages == 1 && (!limit || json_array_size(json_object_get(page, "data")) <= limit)) {
        /* One page, untouched: --json shows exactly what the server said. */
        json_decref(items);
        *out = page;
        return 0;
    }
    json_t *merged = json_pack("{s:o}", "data", items);
    if (merged && *next)
        json_object_set_new(merged, "next_page_token", json_string(*next));
    json_decref(page);
    if (!merged)
        return ssoctl_fail(ctx, "out of memory");
    *next = json_string_value(json_object_get(merged, "next_page_token"));
    *out = merged;
    return 0;
}

int ssoctl_print_json(ssoctl_ctx_t *ctx, const json_t *json)
{
    if (!json)
        return 0;
    if (json_dumpf(json, ctx->out, JSON_INDENT(2)) != 0 || fputc('\n', ctx->out) == EOF)
        return ssoctl_fail(ctx, "cannot write the output");
    return 0;
}

int ssoctl_show_object(ssoctl_ctx_t *ctx, const json_t *json, const ssoctl_column_t *rows,
                       size_t nrows)
{
    if (ctx->json)
        return ssoctl_print_json(ctx, json);
    if (!json_is_object(json))
        return ssoctl_fail(ctx, "unexpected response: not a JSON object");
    if (ssoctl_print_object(ctx->out, rows, nrows, json) != 0)
        return ssoctl_fail(ctx, "cannot write the output");
    return 0;
}

int ssoctl_show_list(ssoctl_ctx_t *ctx, const json_t *json, const ssoctl_column_t *cols,
                     size_t ncols)
{
    if (ctx->json)
        return ssoctl_print_json(ctx, json);
    const json_t *data = json_object_get(json, "data");
    if (!json_is_array(data))
        return ssoctl_fail(ctx, "unexpected list response: no \"data\" array");
    if (ssoctl_print_list(ctx->out, cols, ncols, data) != 0)
        return ssoctl_fail(ctx, "cannot write the output");
    return 0;
}

int ssoctl_int_option(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *name, long min,
                      long max, long *value)
{
    const char *text = ssoctl_args_get(args, name);
    if (!text)
        return 0;
    if (sso_parse_int(text, min, max, value) != 0)
        return ssoctl_usage_error(ctx, "--%s must be a whole number from %ld to %ld", name, min,
                                  max);
    return 0;
}

int ssoctl_nonempty(ssoctl_ctx_t *ctx, const char *what, const char *value)
{
    if (!value || !*value)
        return ssoctl_usage_error(ctx, "%s must not be empty", what);
    return 0;
}

int ssoctl_delete(ssoctl_ctx_t *ctx, const char *path, const char *what, const char *id)
{
    json_t *body = NULL;
    int rc = ssoctl_call(ctx, "DELETE", path, NULL, &body);
    if (rc == 0) {
        if (ctx->json)
            rc = ssoctl_print_json(ctx, body);
        else
            fprintf(ctx->out, "Deleted %s %s.\n", what, id);
    }
    json_decref(body);
    return rc;
}

int ssoctl_call_show(ssoctl_ctx_t *ctx, const char *method, const char *path,
                     const json_t *body, const ssoctl_column_t *rows, size_t nrows)
{
    json_t *result = NULL;
    int rc = ssoctl_call(ctx, method, path, body, &result);
    if (rc == 0)
        rc = ssoctl_show_object(ctx, result, rows, nrows);
    json_decref(result);
    return rc;
}

int ssoctl_get_id(ssoctl_ctx_t *ctx, const char *label, const char *prefix, const char *id,
                  const ssoctl_column_t *rows, size_t nrows)
{
    int rc = ssoctl_nonempty(ctx, label, id);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path(prefix, id, NULL);
    rc = ssoctl_call_show(ctx, "GET", path, NULL, rows, nrows);
    free(path);
    return rc;
}

int ssoctl_delete_id(ssoctl_ctx_t *ctx, const char *label, const char *prefix, const char *id,
                     const char *what)
{
    int rc = ssoctl_nonempty(ctx, label, id);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path(prefix, id, NULL);
    rc = ssoctl_delete(ctx, path, what, id);
    free(path);
    return rc;
}

int ssoctl_show_newest(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *base,
                       const ssoctl_filter_t *filters, const ssoctl_column_t *cols,
                       size_t ncols)
{
    long limit = 50;
    int rc = ssoctl_int_option(ctx, args, "limit", 1, 10000, &limit);
    ssoctl_buf_t path = {0};
    ssoctl_buf_puts(&path, base);
    const char *sep = "?";
    const int64_t now = (int64_t) time(NULL);
    for (const ssoctl_filter_t *filter = filters; rc == 0 && filter->option; filter++) {
        const char *value = ssoctl_args_get(args, filter->option);
        char label[64], seconds[24];
        snprintf(label, sizeof label, "--%s", filter->option);
        if (!value || (rc = ssoctl_nonempty(ctx, label, value)) != 0)
            continue;
        int64_t when = 0;
        if (filter->when && ssoctl_when(value, now, &when) != 0) {
            rc = ssoctl_usage_error(ctx, "%s must be " SSOCTL_WHEN_HELP, label);
            continue;
        }
        snprintf(seconds, sizeof seconds, "%lld", (long long) when);
        ssoctl_buf_puts(&path, sep);
        ssoctl_buf_puts(&path, filter->param);
        ssoctl_buf_puts(&path, "=");
        ssoctl_buf_encoded(&path, filter->when ? seconds : value);
        sep = "&";
    }
    char *path_text = ssoctl_buf_take(&path);
    if (rc != 0 || !path_text) {
        free(path_text);
        return rc != 0 ? rc : ssoctl_fail(ctx, "out of memory");
    }
    json_t *list = NULL;
    const char *next = NULL;
    /* Pages of at most 100, the API's comfortable size. */
    rc = ssoctl_list(ctx, path_text, limit < 100 ? limit : 100, NULL, false, (size_t) limit,
                     &list, &next);
    free(path_text);
    if (rc == 0)
        rc = ssoctl_show_list(ctx, list, cols, ncols);
    if (rc == 0 && next && !ctx->json)
        fprintf(ctx->err, "Showing the newest %ld; use --limit for more.\n", limit);
    json_decref(list);
    return rc;
}

/* ---- help ------------------------------------------------------------------------------ */

static const char s_global_help[] =
    "Global options:\n"
    "  --url URL        broker base URL (default: $SSO_PUBLIC_URL, else " SSOCTL_DEFAULT_URL ")\n"
    "  --data-dir DIR   data dir holding admin-credentials (default: $SSO_DATA_DIR, else "
    SSOCTL_DEFAULT_DATA_DIR ")\n"
    "  --json           print the raw JSON response instead of a table\n"
    "  -h, --help       show help (also after any command)\n";

static void s_help_top(FILE *stream)
{
    fputs("Usage: ssoctl [--url URL] [--data-dir DIR] [--json] COMMAND [ARGS...]\n"
          "\n"
          "Manage the SSO broker through its management API (/api/v1): applications,\n"
          "organizations, their email domains and identity-provider connections, and the\n"
          "login event log.\n"
          "\n"
          "Commands:\n",
          stream);
    ssoctl_table_t *table = NULL;
    if (ssoctl_table_new(2, NULL, &table) == 0) {
        for (size_t g = 0; g < NGROUPS; g++)
            for (const ssoctl_cmd_t *cmd = s_groups[g]; cmd->group; cmd++) {
                char name[64];
                s_cmd_name(cmd, name, sizeof name);
                char indented[72];
                snprintf(indented, sizeof indented, "  %s", name);
                const char *cells[2] = {indented, cmd->summary};
                ssoctl_table_add(table, cells);
            }
        ssoctl_table_print(table, stream);
        ssoctl_table_free(&table);
    }
    fputs("\n", stream);
    fputs(s_global_help, stream);
    fputs("\n"
          "Credentials: SSO_ADMIN_CLIENT_ID and SSO_ADMIN_CLIENT_SECRET, else the file\n"
          "<data dir>/admin-credentials that the broker writes on first start.\n"
          "\n"
          "Examples:\n"
          "  ssoctl orgs create --name \"Acme Corp\" --external-id acme\n"
          "  ssoctl domains add org_123 acme.com\n"
          "  ssoctl connections create-saml org_123 --metadata-file okta-metadata.xml\n"
          "  ssoctl connections create-oidc org_123 --issuer https://acme.okta.com \\\n"
          "      --client-id 0oa1 --client-secret-file secret.txt\n"
          "  ssoctl connections enable conn_456\n"
          "  ssoctl clients create --name \"My App\" --redirect-uri "
          "https://tenant.auth0.com/login/callback\n"
          "  ssoctl clients rotate-secret cli_123 --overlap 7d\n"
          "  ssoctl events --org org_123 --outcome failure --since 24h\n"
          "  ssoctl --json orgs list --all\n"
          "  source <(ssoctl completion bash)\n"
          "\n"
          "Exit status: 0 success, 1 the broker refused or could not be reached, 2 usage error.\n"
          "Run 'ssoctl COMMAND --help' for a command's options.\n",
          stream);
}

static void s_help_group(FILE *stream, const ssoctl_cmd_t *group)
{
    fprintf(stream, "Usage: ssoctl %s SUBCOMMAND [ARGS...]\n\nSubcommands:\n", group->group);
    for (const ssoctl_cmd_t *cmd = group; cmd->group; cmd++)
        fprintf(stream, "  ssoctl %s\n      %s\n", cmd->usage, cmd->summary);
    fprintf(stream, "\nRun 'ssoctl %s SUBCOMMAND --help' for details.\n", group->group);
}

static void s_help_cmd(FILE *stream, const ssoctl_cmd_t *cmd)
{
    fprintf(stream, "Usage: ssoctl %s\n\n%s\n", cmd->usage, cmd->summary);
    if (cmd->details && *cmd->details)
        fprintf(stream, "\n%s", cmd->details);
    fprintf(stream, "\n%s", s_global_help);
}

/* ---- dispatch -------------------------------------------------------------------------- */

static const ssoctl_cmd_t *s_find_group(const char *name)
{
    for (size_t g = 0; g < NGROUPS; g++)
        if (strcmp(s_groups[g]->group, name) == 0)
            return s_groups[g];
    return NULL;
}

static void s_list_names(const ssoctl_cmd_t *group, char *out, size_t len)
{
    ssoctl_buf_t buf = {0};
    for (const ssoctl_cmd_t *cmd = group; cmd->group; cmd++) {
        if (cmd != group)
            ssoctl_buf_puts(&buf, ", ");
        ssoctl_buf_puts(&buf, cmd->name);
    }
    char *text = ssoctl_buf_take(&buf);
    snprintf(out, len, "%s", text ? text : "");
    free(text);
}

int ssoctl_run(int argc, char **argv, FILE *out, FILE *err)
{
    ssoctl_ctx_t ctx = {.out = out, .err = err};
    ssoctl_env_read(&ctx.env);
    ssoctl_args_t args;
    char why[512];
    if (ssoctl_args_parse(argc, argv, &args, why, sizeof why) != 0) {
        /* Point the hint at the command when the words before the bad option name one. */
        const ssoctl_cmd_t *group = argc > 1 ? s_find_group(argv[1]) : NULL;
        if (group && !group->name)
            ctx.cmd = group;
        for (const ssoctl_cmd_t *cmd = group; group && group->name && argc > 2 && cmd->group;
             cmd++)
            if (strcmp(cmd->name, argv[2]) == 0)
                ctx.cmd = cmd;
        return ssoctl_usage_error(&ctx, "%s", why);
    }
    bool help = ssoctl_args_flag(&args, "help");
    size_t first = 0;
    if (args.npos > 0 && strcmp(args.pos[0], "help") == 0) {
        help = true;
        first = 1;
    }
    if (args.npos == first) {
        s_help_top(help ? out : err);
        return help ? SSOCTL_EXIT_OK : SSOCTL_EXIT_USAGE;
    }
    const char *word = args.pos[first];
    if (strcmp(word, "selftest") == 0 && first == 0 && !help) {
        /* `ssoctl selftest [MODULE...]`: every module's self-test, or those named. */
        for (size_t i = 1; i < args.npos; i++)
            if (sso_test_select(args.pos[i]) != 0)
                return ssoctl_usage_error(&ctx, "too many modules for selftest");
        return ssoctl_selftest(false);
    }
    const ssoctl_cmd_t *group = s_find_group(word);
    if (!group)
        return ssoctl_usage_error(&ctx, "unknown command '%s'", word);
    const ssoctl_cmd_t *cmd = NULL;
    size_t skip = first + 1;
    if (!group->name)
        cmd = group;
    else {
        char names[256];
        s_list_names(group, names, sizeof names);
        if (args.npos == first + 1) {
            if (help) {
                s_help_group(out, group);
                return SSOCTL_EXIT_OK;
            }
            return ssoctl_usage_error(&ctx, "'%s' needs a subcommand: %s", group->group, names);
        }
        const char *action = args.pos[first + 1];
        for (const ssoctl_cmd_t *c = group; c->group && !cmd; c++)
            if (strcmp(c->name, action) == 0)
                cmd = c;
        if (!cmd) {
            fprintf(err, "ssoctl: unknown %s subcommand '%s' (one of: %s)\n", group->group,
                    action, names);
            fprintf(err, "Try 'ssoctl %s --help'.\n", group->group);
            return SSOCTL_EXIT_USAGE;
        }
        skip = first + 2;
    }
    ctx.cmd = cmd;
    if (help) {
        s_help_cmd(out, cmd);
        return SSOCTL_EXIT_OK;
    }
    if (ssoctl_args_check(&args, cmd->options, skip, cmd->min_args, cmd->max_args, why,
                          sizeof why)
        != 0)
        return ssoctl_usage_error(&ctx, "%s (usage: ssoctl %s)", why, cmd->usage);

    const char *url = ssoctl_args_get(&args, "url");
    const char *env_url = ctx.env.public_url;
    ctx.url = url ? url : env_url && *env_url ? env_url : SSOCTL_DEFAULT_URL;
    const char *dir = ssoctl_args_get(&args, "data-dir");
    const char *env_dir = ctx.env.data_dir;
    ctx.data_dir = dir ? dir : env_dir && *env_dir ? env_dir : SSOCTL_DEFAULT_DATA_DIR;
    if (!*ctx.data_dir)
        return ssoctl_usage_error(&ctx, "--data-dir must not be empty");
    ctx.json = ssoctl_args_flag(&args, "json");
    if (ssoctl_http_check_url(ctx.url, why, sizeof why) != 0)
        return ssoctl_usage_error(&ctx, "%s", why);

    /* Commands see their own arguments from pos[0]. */
    ssoctl_args_t own = args;
    memmove(own.pos, own.pos + skip, (own.npos - skip) * sizeof own.pos[0]);
    own.npos -= skip;
    int rc = cmd->run(&ctx, &own);
    ssoctl_http_free(&ctx.http);
    if (fflush(out) != 0 && rc == 0)
        rc = SSOCTL_EXIT_FAIL;
    return rc;
}

int ssoctl_org_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *collection,
                    const ssoctl_column_t *cols, size_t ncols)
{
    return ssoctl_sub_list(ctx, "ORG_ID", "/organizations/", args->pos[0], collection, cols,
                           ncols);
}

int ssoctl_rotate(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *prefix,
                  const char *action, long max_seconds, const char *max_text,
                  const ssoctl_column_t *rows, size_t nrows, json_t **out)
{
    *out = NULL;
    const char *overlap = ssoctl_args_get(args, "overlap");
    long seconds = 0;
    int rc = ssoctl_nonempty(ctx, "ID", args->pos[0]);
    if (rc == 0 && overlap && ssoctl_duration(overlap, false, max_seconds, &seconds) != 0)
        rc = ssoctl_usage_error(ctx, "--overlap must be SECONDS, or a number of minutes, hours "
                                     "or days (90m, 24h, 7d), from 0 to %s", max_text);
    if (rc != 0)
        return rc;
    /* No --overlap: the broker's default. */
    json_t *body = overlap ? json_pack("{s:I}", "overlap_seconds", (json_int_t) seconds)
                           : json_object();
    char *path = ssoctl_path(prefix, args->pos[0], action, NULL);
    rc = body && path ? ssoctl_call(ctx, "POST", path, body, out)
                      : ssoctl_fail(ctx, "out of memory");
    if (rc == 0)
        rc = ssoctl_show_object(ctx, *out, rows, nrows);
    json_decref(body);
    free(path);
    return rc;
}

int ssoctl_sub_list(ssoctl_ctx_t *ctx, const char *label, const char *prefix, const char *id,
                    const char *collection, const ssoctl_column_t *cols, size_t ncols)
{
    int rc = ssoctl_nonempty(ctx, label, id);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path(prefix, id, collection, NULL);
    if (!path)
        return ssoctl_fail(ctx, "out of memory");
    rc = ssoctl_show_all(ctx, path, cols, ncols);
    free(path);
    return rc;
}

int ssoctl_show_all(ssoctl_ctx_t *ctx, const char *path, const ssoctl_column_t *cols,
                    size_t ncols)
{
    json_t *list = NULL;
    const char *next = NULL;
    int rc = ssoctl_list(ctx, path, 0, NULL, true, 0, &list, &next);
    if (rc == 0)
        rc = ssoctl_show_list(ctx, list, cols, ncols);
    json_decref(list);
    return rc;
}

int ssoctl_org_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *collection,
                      const char *label, const char *what)
{
    int rc = ssoctl_nonempty(ctx, "ORG_ID", args->pos[0]);
    if (rc == 0)
        rc = ssoctl_nonempty(ctx, label, args->pos[1]);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path("/organizations/", args->pos[0], collection, args->pos[1], NULL);
    rc = ssoctl_delete(ctx, path, what, args->pos[1]);
    free(path);
    return rc;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* Runs the CLI in-process with output captured; only paths that never reach the network. */
static int s_run_argv(int argc, char **argv, char **out_text, char **err_text)
{
    size_t out_len = 0, err_len = 0;
    *out_text = *err_text = NULL;
    FILE *out = open_memstream(out_text, &out_len);
    FILE *err = open_memstream(err_text, &err_len);
    int rc = -1;
    if (out && err)
        rc = ssoctl_run(argc, argv, out, err);
    if (out)
        fclose(out);
    if (err)
        fclose(err);
    return rc;
}

static int s_run(char **out_text, char **err_text, ...)
{
    char *argv[16] = {"ssoctl"};
    int argc = 1;
    va_list ap;
    va_start(ap, err_text);
    char *word;
    while (argc < 15 && (word = va_arg(ap, char *)) != NULL)
        argv[argc++] = word;
    va_end(ap);
    return s_run_argv(argc, argv, out_text, err_text);
}

static bool s_has(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

void ssoctl_cmd_test(bool verbose)
{
    (void) verbose;
    char *out = NULL, *err = NULL;

    SSO_CHECK(s_run(&out, &err, "--help", NULL) == 0);
    for (size_t g = 0; g < NGROUPS; g++)
        for (const ssoctl_cmd_t *cmd = s_groups[g]; cmd->group; cmd++) {
            char name[64];
            s_cmd_name(cmd, name, sizeof name);
            SSO_CHECK(s_has(out, name));
            SSO_CHECK(cmd->usage && cmd->summary && cmd->details && cmd->run);
            SSO_CHECK(strncmp(cmd->usage, name, strlen(name)) == 0);
        }
    SSO_CHECK(!s_has(out, "selftest"));
    free(out);
    free(err);

    SSO_CHECK(s_run(&out, &err, NULL) == SSOCTL_EXIT_USAGE && s_has(err, "Usage:"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "orgs", "create", "--help", NULL) == 0);
    SSO_CHECK(s_has(out, "Usage: ssoctl orgs create --name") && s_has(out, "--external-id"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "help", "events", NULL) == 0 && s_has(out, "--limit"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "orgs", "list", "--help", NULL) == 0
              && s_has(out, "Usage: ssoctl orgs list [--search TEXT]")
              && s_has(out, "ssoctl orgs list --search acme\n"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "domains", "-h", NULL) == 0 && s_has(out, "domains add"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "portal-links", "create", "--help", NULL) == 0
              && s_has(out, "--expires-in SECONDS") && s_has(out, "works once"));
    free(out);
    free(err);
    /* --expires-in out of the API's bounds or not a number: a usage error before any call. */
    const char *const lifetimes[] = {"299", "2592001", "0", "-5", "1h", ""};
    for (size_t i = 0; i < sizeof lifetimes / sizeof *lifetimes; i++) {
        SSO_CHECK(s_run(&out, &err, "portal-links", "create", "org_1", "--expires-in",
                        lifetimes[i], NULL) == SSOCTL_EXIT_USAGE
                  && s_has(err, "--expires-in must be a whole number from 300 to 2592000")
                  && out && !*out);
        free(out);
        free(err);
    }
    SSO_CHECK(s_run(&out, &err, "portal-links", "revoke", "org_1", NULL) == SSOCTL_EXIT_USAGE);
    free(out);
    free(err);

    /* Usage errors: exit 2, a message, a hint, nothing on stdout. */
    SSO_CHECK(s_run(&out, &err, "frobnicate", NULL) == SSOCTL_EXIT_USAGE);
    SSO_CHECK(s_has(err, "unknown command 'frobnicate'") && out && !*out);
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "orgs", NULL) == SSOCTL_EXIT_USAGE);
    SSO_CHECK(s_has(err, "create, list, get, update, delete"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "orgs", "fly", NULL) == SSOCTL_EXIT_USAGE);
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "orgs", "get", NULL) == SSOCTL_EXIT_USAGE);
    SSO_CHECK(s_has(err, "missing argument") && s_has(err, "ssoctl orgs get --help"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "orgs", "list", "--name", "x", NULL) == SSOCTL_EXIT_USAGE);
    SSO_CHECK(s_has(err, "--name does not apply"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "orgs", "create", "--nmae", "x", NULL) == SSOCTL_EXIT_USAGE);
    SSO_CHECK(s_has(err, "ssoctl orgs create --help"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "orgs", "list", "--url", "localhost:1", NULL)
              == SSOCTL_EXIT_USAGE);
    SSO_CHECK(s_has(err, "http://"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "orgs", "list", "--page-size", "0", "--url", "http://x", NULL)
              == SSOCTL_EXIT_USAGE);
    SSO_CHECK(s_has(err, "--page-size"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "connections", "create-saml", "org_1", "--metadata-url",
                    "https://x", "--entity-id", "e", "--url", "http://x", NULL)
              == SSOCTL_EXIT_USAGE);
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "connections", "create-oidc", "org_1", "--issuer", "https://x",
                    "--client-id", "c", "--client-secret", "s", "--client-secret-file", "f",
                    "--url", "http://x", NULL)
              == SSOCTL_EXIT_USAGE);
    SSO_CHECK(s_has(err, "--client-secret"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "clients", "create", "--name", "x", "--url", "http://x", NULL)
              == SSOCTL_EXIT_USAGE);
    SSO_CHECK(s_has(err, "--redirect-uri"));
    free(out);
    free(err);

    /* --option and --map: KEY=VALUE, a key, a value on create, each key once; a change with
       nothing to change. All refused before any request (the URL would not answer). */
    static const struct {
        const char *argv[12];
        const char *says;
    } settings_refused[] = {
        {{"connections", "create-oidc", "org_1", "--issuer", "https://x", "--client-id", "c",
          "--client-secret", "s", "--option", "response_mode=", NULL},
         "--option response_mode=: the value is empty"},
        {{"connections", "create-saml", "org_1", "--metadata-url", "https://x", "--map", "email=",
          NULL},
         "--map email=: the value is empty"},
        {{"connections", "create-saml", "org_1", "--metadata-url", "https://x", "--option",
          "form_post", NULL},
         "--option form_post: expected KEY=VALUE"},
        {{"connections", "update", "conn_1", "--option", "=form_post", NULL},
         "the key is empty"},
        {{"connections", "update", "conn_1", "--map", "groups", NULL}, "expected KEY=VALUE"},
        {{"connections", "update", "conn_1", "--map", "email=upn", "--map", "email=", NULL},
         "--map email given more than once"},
        {{"connections", "update", "conn_1", NULL}, "nothing to change"},
        {{"connections", "update", "conn_1", "--name", "", NULL}, "--name must not be empty"},
        {{"connections", "update", "conn_1", "--scope", "email", NULL}, "must include openid"},
        {{"connections", "update", "conn_1", "--client-secret", "a", "--client-secret-file", "b",
          NULL},
         "one of --client-secret-file or --client-secret"},
        {{"connections", "update", "conn_1", "--metadata-url", "https://x", NULL},
         "--metadata-url does not apply"},
        {{"orgs", "create", "--name", "x", "--option", "a=b", NULL}, "--option does not apply"},
        /* The commands of issue 20: empty values, nothing to do, wrong durations. */
        {{"clients", "update", "cli_1", NULL}, "nothing to change"},
        {{"clients", "create", "--name", "x", "--redirect-uri", "https://a/cb",
          "--initiate-login-uri=", NULL}, "--initiate-login-uri must not be empty"},
        {{"clients", "update", "", "--name", "x", NULL}, "ID must not be empty"},
        {{"clients", "update", "cli_1", "--name", "", NULL}, "--name must not be empty"},
        {{"clients", "update", "cli_1", "--add-redirect-uri", "", NULL},
         "--add-redirect-uri must not be empty"},
        {{"clients", "update", "cli_1", "--remove-redirect-uri=", NULL},
         "--remove-redirect-uri must not be empty"},
        {{"clients", "update", "cli_1", "--add-redirect-uri", "https://a/cb",
          "--remove-redirect-uri", "https://a/cb", NULL},
         "https://a/cb is given to both --add-redirect-uri and --remove-redirect-uri"},
        {{"clients", "update", "cli_1", "--overlap", "1", NULL}, "--overlap does not apply"},
        {{"clients", "update", "cli_1", "--redirect-uri", "https://a/cb", NULL},
         "--redirect-uri does not apply"},
        {{"clients", "update", NULL}, "missing argument"},
        {{"clients", "rotate-secret", NULL}, "missing argument"},
        {{"clients", "rotate-secret", "cli_1", "cli_2", NULL}, "unexpected argument 'cli_2'"},
        {{"clients", "rotate-secret", "", NULL}, "ID must not be empty"},
        {{"clients", "rotate-secret", "cli_1", "--name", "x", NULL}, "--name does not apply"},
        /* Issue 21: the metadata signing certificate: with metadata only, a readable PEM. */
        {{"connections", "create-saml", "org_1", "--entity-id", "e", "--sso-url", "https://x",
          "--cert-file", "c.pem", "--metadata-signing-cert", "m.pem", NULL},
         "--metadata-signing-cert goes with --metadata-file or --metadata-url"},
        /* Issue 21: the SP key rollover. */
        {{"connections", "rotate-sp-key", NULL}, "missing argument"},
        {{"connections", "rotate-sp-key", "", NULL}, "ID must not be empty"},
        {{"connections", "rotate-sp-key", "conn_1", "conn_2", NULL}, "unexpected argument 'conn_2'"},
        {{"connections", "last-login", NULL}, "missing argument"},
        {{"connections", "last-login", "", NULL}, "ID must not be empty"},
        {{"connections", "last-login", "conn_1", "conn_2", NULL}, "unexpected argument 'conn_2'"},
        {{"connections", "retire-sp-key", NULL}, "missing argument"},
        {{"connections", "retire-sp-key", "", NULL}, "ID must not be empty"},
        {{"connections", "retire-sp-key", "conn_1", "--overlap", "1", NULL},
         "--overlap does not apply"},
        {{"orgs", "update", "org_1", NULL}, "nothing to change: give --name or --external-id"},
        {{"orgs", "update", "org_1", "--name", "", NULL}, "--name must not be empty"},
        {{"orgs", "update", "org_1", "--external-id=", NULL}, "--external-id must not be empty"},
        {{"orgs", "update", "", "--name", "x", NULL}, "ORG_ID must not be empty"},
        {{"orgs", "update", "--name", "x", NULL}, "missing argument"},
        {{"orgs", "list", "--search", "", NULL}, "--search must not be empty"},
        {{"orgs", "list", "--search=", "--all", NULL}, "--search must not be empty"},
        {{"connections", "list", NULL}, "missing argument"},
        {{"connections", "list", "", NULL}, "ORG_ID must not be empty"},
        {{"connections", "list", "org_1", "--all", NULL}, "--all does not apply"},
        {{"completion", "bash", "--json", NULL}, "--json does not apply here"},
        /* The logs' filters: an outcome of the two, a WHEN of the two forms. */
        {{"events", "--outcome", "SUCCESS", NULL}, "--outcome must be success or failure"},
        {{"events", "--outcome", "x", NULL}, "--outcome must be success or failure"},
        {{"events", "--outcome=", NULL}, "--outcome must be success or failure"},
        {{"events", "--outcome", "success,failure", NULL}, "--outcome must be success or failure"},
        {{"events", "--since", "", NULL}, "--since must not be empty"},
        {{"events", "--since", "30", NULL}, "--since must be a duration back from now (30m, "
                                            "24h, 7d) or an RFC 3339 UTC time"},
        {{"events", "--since", "1e9", NULL}, "--since must be a duration back from now"},
        {{"events", "--since", "-1h", NULL}, "--since must be a duration back from now"},
        {{"events", "--since", "99999999999999999999d", NULL},
         "--since must be a duration back from now"},
        {{"events", "--until", "2026-12-06T21:00:00+01:00", NULL},
         "--until must be a duration back from now"},
        {{"events", "--until", "2026-02-30T00:00:00Z", NULL},
         "--until must be a duration back from now"},
        {{"events", "--until", "<script>", NULL}, "--until must be a duration back from now"},
        {{"events", "--since", "1h", "--since", "2h", NULL}, "--since given more than once"},
        {{"audit", "--since", "yesterday", NULL}, "--since must be a duration back from now"},
        {{"audit", "--until", "", NULL}, "--until must not be empty"},
        {{"audit", "--outcome", "failure", NULL}, "--outcome does not apply"},
        {{"completion", "bash", "zsh", NULL}, "unexpected argument 'zsh'"},
        /* Issue 22: SCIM directories. */
        {{"directories", "create", NULL}, "missing argument"},
        {{"directories", "create", "", NULL}, "ORG_ID must not be empty"},
        {{"directories", "create", "org_1", "--name", "", NULL}, "--name must not be empty"},
        {{"directories", "create", "org_1", "org_2", NULL}, "unexpected argument 'org_2'"},
        {{"directories", "create", "org_1", "--overlap", "1h", NULL}, "--overlap does not apply"},
        {{"directories", "list", NULL}, "missing argument"},
        {{"directories", "list", "", NULL}, "ORG_ID must not be empty"},
        {{"directories", "get", "", NULL}, "ID must not be empty"},
        {{"directories", "delete", NULL}, "missing argument"},
        {{"directories", "rotate-token", NULL}, "missing argument"},
        {{"directories", "rotate-token", "", NULL}, "ID must not be empty"},
        {{"directories", "rotate-token", "dir_1", "--name", "x", NULL}, "--name does not apply"},
        {{"directories", "rotate-token", "dir_1", "--overlap", "8d", NULL},
         "--overlap must be SECONDS, or a number of minutes, hours or days (90m, 24h, 7d), from 0 "
         "to 7 days"},
        {{"directories", "rotate-token", "dir_1", "--overlap", "604801", NULL},
         "from 0 to 7 days"},
        {{"directories", "rotate-token", "dir_1", "--overlap", "169h", NULL}, "from 0 to 7 days"},
        {{"directories", "rotate-token", "dir_1", "--overlap", "-1", NULL}, "from 0 to 7 days"},
        {{"directories", "rotate-token", "dir_1", "--overlap", "", NULL}, "from 0 to 7 days"},
        {{"directories", "users", "", NULL}, "ID must not be empty"},
        {{"directories", "groups", "dir_1", "dir_2", NULL}, "unexpected argument 'dir_2'"},
        {{"directories", "events", "dir_1", "--limit", "0", NULL}, "--limit"},
        {{"directories", "events", "", NULL}, "ID must not be empty"},
        {{"directories", "users", "dir_1", "--limit", "5", NULL}, "--limit does not apply"},
    };
    for (size_t i = 0; i < sizeof settings_refused / sizeof settings_refused[0]; i++) {
        char *argv[16] = {"ssoctl"};
        int argc = 1;
        for (const char *const *word = settings_refused[i].argv; *word; word++)
            argv[argc++] = (char *) *word;
        argv[argc++] = "--url";
        argv[argc++] = "http://127.0.0.1:1";
        SSO_CHECK(s_run_argv(argc, argv, &out, &err) == SSOCTL_EXIT_USAGE);
        SSO_CHECK(s_has(err, settings_refused[i].says) && out && !*out);
        if (verbose || !s_has(err, settings_refused[i].says))
            fprintf(stderr, "case %zu: %s", i, err ? err : "(none)\n");
        free(out);
        free(err);
    }

    /* --metadata-signing-cert: a file that is not there, or not a PEM certificate, is refused
       before any request. */
    const char *const not_certs[][2] = {{"/nonexistent.pem", "cannot open /nonexistent.pem"},
                                        {"/etc/hostname", "/etc/hostname is not a PEM"}};
    for (size_t i = 0; i < 2; i++) {
        SSO_CHECK(s_run(&out, &err, "connections", "update", "conn_1", "--metadata-signing-cert",
                        not_certs[i][0], "--url", "http://127.0.0.1:1", NULL)
                  == SSOCTL_EXIT_FAIL);
        SSO_CHECK(s_has(err, not_certs[i][1]) && out && !*out);
        free(out);
        free(err);
    }

    /* --overlap: seconds or m/h/d, 0 to 30 days; anything else is a usage error before any
       request. What it takes goes on to the request (which fails: nothing listens). */
    static const char *const overlaps_refused[] = {
        "", "abc", "-1", "+5", " 5", "5 ", "1.5h", "24hh", "h", "7w", "2592001", "43201m",
        "721h", "31d", "99999999999999999999", "0x10", "1e3"};
    for (size_t i = 0; i < sizeof overlaps_refused / sizeof *overlaps_refused; i++) {
        SSO_CHECK(s_run(&out, &err, "clients", "rotate-secret", "cli_1", "--overlap",
                        overlaps_refused[i], "--url", "http://127.0.0.1:1", NULL)
                  == SSOCTL_EXIT_USAGE
                  && s_has(err, "--overlap must be SECONDS, or a number of minutes, hours or "
                                "days (90m, 24h, 7d), from 0 to 30 days")
                  && out && !*out);
        if (!s_has(err, "--overlap must be"))
            fprintf(stderr, "--overlap '%s': %s", overlaps_refused[i], err ? err : "(none)\n");
        free(out);
        free(err);
    }
    static const char *const overlaps_taken[] = {"0", "86400", "2592000", "90m", "24h", "7d",
                                                 "30d", "43200m", "720h", "60s"};
    for (size_t i = 0; i < sizeof overlaps_taken / sizeof *overlaps_taken; i++) {
        SSO_CHECK(s_run(&out, &err, "clients", "rotate-secret", "cli_1", "--overlap",
                        overlaps_taken[i], "--url", "http://127.0.0.1:1", "--data-dir",
                        "/nonexistent", NULL) == SSOCTL_EXIT_FAIL);
        free(out);
        free(err);
    }

    /* directories rotate-token --overlap: what it takes (up to 7 days) goes on to the request
       (which fails: nothing listens). */
    static const char *const scim_overlaps_taken[] = {"0", "3600", "604800", "10080m", "168h",
                                                      "7d"};
    for (size_t i = 0; i < sizeof scim_overlaps_taken / sizeof *scim_overlaps_taken; i++) {
        SSO_CHECK(s_run(&out, &err, "directories", "rotate-token", "dir_1", "--overlap",
                        scim_overlaps_taken[i], "--url", "http://127.0.0.1:1", "--data-dir",
                        "/nonexistent", NULL) == SSOCTL_EXIT_FAIL);
        free(out);
        free(err);
    }

    /* The logs' filters taken go on to the request (which fails: nothing listens). */
    static const char *const filters_taken[][3] = {
        {"events", "--outcome", "success"}, {"events", "--outcome", "failure"},
        {"events", "--since", "30m"},       {"events", "--until", "2026-12-06T21:00:00Z"},
        {"audit", "--since", "7d"},         {"audit", "--until", "1970-01-01T00:00:00Z"}};
    for (size_t i = 0; i < sizeof filters_taken / sizeof *filters_taken; i++) {
        SSO_CHECK(s_run(&out, &err, filters_taken[i][0], filters_taken[i][1],
                        filters_taken[i][2], "--url", "http://127.0.0.1:1", "--data-dir",
                        "/nonexistent", NULL) == SSOCTL_EXIT_FAIL);
        free(out);
        free(err);
    }
    SSO_CHECK(s_run(&out, &err, "help", "events", NULL) == 0 && s_has(out, "--outcome OUTCOME")
              && s_has(out, "--since WHEN") && s_has(out, "--until WHEN")
              && s_has(out, "RFC 3339 UTC time"));
    free(out);
    free(err);
    SSO_CHECK(s_run(&out, &err, "audit", "--help", NULL) == 0 && s_has(out, "--since WHEN")
              && s_has(out, "--until WHEN"));
    free(out);
    free(err);

    /* The completion script: every command, subcommand and option of the table. */
    char *script = NULL;
    SSO_CHECK(ssoctl_completion_bash(&script) == 0 && script);
    for (size_t g = 0; script && g < NGROUPS; g++) {
        SSO_CHECK(s_has(script, s_groups[g]->group));
        for (const ssoctl_cmd_t *cmd = s_groups[g]; cmd->group; cmd++) {
            char key[80];
            snprintf(key, sizeof key, "'opts:%s%s%s') echo '", cmd->group, cmd->name ? " " : "",
                     cmd->name ? cmd->name : "");
            const char *line = strstr(script, key);
            SSO_CHECK(line != NULL);
            size_t len = line ? strcspn(line + strlen(key), "'") : 0;
            for (size_t o = 0; line && cmd->options && cmd->options[o]; o++) {
                char option[64];
                snprintf(option, sizeof option, " --%s", cmd->options[o]);
                char *words = strndup(line + strlen(key), len);
                SSO_CHECK(words && strstr(words, option));
                free(words);
            }
        }
    }
    SSO_CHECK(s_has(script, "_ssoctl_global='--help --json --url --data-dir'")
              && s_has(script, " overlap") && s_has(script, "complete -F _ssoctl ssoctl")
              && !s_has(script, "selftest"));
    free(script);
    SSO_CHECK(s_run(&out, &err, "completion", "bash", NULL) == 0 && s_has(out, "_ssoctl()")
              && err && !*err);
    free(out);
    free(err);

    char *path = ssoctl_path("/organizations/", "org 1/..", "/domains/", "dom_1", NULL);
    SSO_CHECK(path && !strcmp(path, "/organizations/org%201%2F../domains/dom_1"));
    free(path);
    path = ssoctl_path("/keys/rotate", NULL);
    SSO_CHECK(path && !strcmp(path, "/keys/rotate"));
    free(path);
}
