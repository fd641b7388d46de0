/* ssoctl_cmd: the command table, dispatch and help, and what every command shares: the lazy
   API client, error reporting with the CLI's exit codes, output as tables or JSON. */
#ifndef SSOCTL_CMD_H
#define SSOCTL_CMD_H
#include "ssoctl_args.h"
#include "ssoctl_env.h"
#include "ssoctl_http.h"
#include "ssoctl_table.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum { SSOCTL_EXIT_OK = 0, SSOCTL_EXIT_FAIL = 1, SSOCTL_EXIT_USAGE = 2 };

#define SSOCTL_DEFAULT_URL "http://localhost:8080"
#define SSOCTL_DEFAULT_DATA_DIR "./var"

typedef struct ssoctl_cmd ssoctl_cmd_t;

typedef struct {
    ssoctl_env_t env;     /* the environment, read once at the start */
    const char *url;      /* --url, SSO_PUBLIC_URL, or the default */
    const char *data_dir; /* --data-dir, SSO_DATA_DIR, or the default */
    bool json;            /* --json: print the raw response */
    FILE *out;
    FILE *err;
    const ssoctl_cmd_t *cmd; /* the running command, for usage hints */
    ssoctl_http_t *http;     /* made at the first API call, so --help needs no credentials */
    char creds_source[1100]; /* where the credentials came from, for token errors */
} ssoctl_ctx_t;

typedef int (*ssoctl_run_fn)(ssoctl_ctx_t *ctx, const ssoctl_args_t *args);

struct ssoctl_cmd {
    const char *group;          /* "orgs"; NULL ends a table */
    const char *name;           /* "list", or NULL when the group is the command ("events") */
    const char *usage;          /* the synopsis after "ssoctl " */
    const char *summary;        /* one line */
    const char *details;        /* options and examples, for --help */
    const char *const *options; /* accepted beyond the global ones; NULL-terminated */
    size_t min_args, max_args;  /* positionals after the command words */
    ssoctl_run_fn run;
};

extern const ssoctl_cmd_t ssoctl_clients_cmds[];
extern const ssoctl_cmd_t ssoctl_orgs_cmds[];
extern const ssoctl_cmd_t ssoctl_domains_cmds[];
extern const ssoctl_cmd_t ssoctl_connections_cmds[];
extern const ssoctl_cmd_t ssoctl_events_cmds[];
extern const ssoctl_cmd_t ssoctl_keys_cmds[];
extern const ssoctl_cmd_t ssoctl_portal_links_cmds[];
extern const ssoctl_cmd_t ssoctl_directories_cmds[];
extern const ssoctl_cmd_t ssoctl_webhooks_cmds[];
extern const ssoctl_cmd_t ssoctl_completion_cmds[];

/* Every command group, in the order help lists them (*count of them). */
const ssoctl_cmd_t *const *ssoctl_cmd_groups(size_t *count);

/* The bash completion script (ssoctl_cmd_completion.c); caller frees. 0, or -1 when out of
   memory. */
int ssoctl_completion_bash(char **out);
extern const ssoctl_cmd_t ssoctl_admins_cmds[];
extern const ssoctl_cmd_t ssoctl_audit_cmds[];

/* The whole CLI: parses argv, dispatches, returns the exit status. */
int ssoctl_run(int argc, char **argv, FILE *out, FILE *err);

/* "ssoctl: <message>" plus a hint to the command's --help; returns SSOCTL_EXIT_USAGE. */
int ssoctl_usage_error(ssoctl_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "ssoctl: <message>"; returns SSOCTL_EXIT_FAIL. */
int ssoctl_fail(ssoctl_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An API path: literal segments alternate with ids, which are percent-encoded; NULL ends the
   list. ssoctl_path("/organizations/", id, "/domains", NULL). Caller frees; NULL on OOM. */
char *ssoctl_path(const char *literal, ...);

/* Calls the API. 2xx: returns 0 with *out the body (NULL when empty; caller decrefs).
   Otherwise prints the error (`ssoctl: <status> <error>: <error_description>`, or what could
   not be reached) and returns SSOCTL_EXIT_FAIL. */
int ssoctl_call(ssoctl_ctx_t *ctx, const char *method, const char *path, const json_t *body,
                json_t **out);

/* GETs a paginated list ({"data": [...], "next_page_token"}). page_size 0 leaves it to the
   server; all follows every page; limit > 0 stops after that many items. *out is the raw
   response when one page was fetched, else {"data": [...]} with every item (and the token to
   go on with when stopped early). *next is the token for more, or NULL (lent from *out).
   0 or SSOCTL_EXIT_FAIL (reported). */
int ssoctl_list(ssoctl_ctx_t *ctx, const char *path, long page_size, const char *page_token,
                bool all, size_t limit, json_t **out, const char **next);

/* Output: pretty JSON with --json, else the table/key-value view. Return 0 or EXIT_FAIL. */
int ssoctl_print_json(ssoctl_ctx_t *ctx, const json_t *json);
int ssoctl_show_object(ssoctl_ctx_t *ctx, const json_t *json, const ssoctl_column_t *rows,
                       size_t nrows);
int ssoctl_show_list(ssoctl_ctx_t *ctx, const json_t *json, const ssoctl_column_t *cols,
                     size_t ncols);

/* Reads a positive integer option in [min, max]; *value untouched when absent. 0, or a usage
   error (EXIT_USAGE, reported). */
int ssoctl_int_option(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *name, long min,
                      long max, long *value);

/* 0, or a usage error (reported) when value is NULL or empty; what names it ("--name"). */
int ssoctl_nonempty(ssoctl_ctx_t *ctx, const char *what, const char *value);

/* DELETE path; prints "Deleted <what> <id>." (or the body, if any, with --json). */
int ssoctl_delete(ssoctl_ctx_t *ctx, const char *path, const char *what, const char *id);

/* The skeleton most commands share, written once. */
/* Calls the API and shows the object it answers with rows (ssoctl_call, ssoctl_show_object). */
int ssoctl_call_show(ssoctl_ctx_t *ctx, const char *method, const char *path,
                     const json_t *body, const ssoctl_column_t *rows, size_t nrows);
/* GET prefix + id (label names the id in usage errors when it is empty) and show it. */
int ssoctl_get_id(ssoctl_ctx_t *ctx, const char *label, const char *prefix, const char *id,
                  const ssoctl_column_t *rows, size_t nrows);
/* DELETE prefix + id as ssoctl_delete does (label as for ssoctl_get_id). */
int ssoctl_delete_id(ssoctl_ctx_t *ctx, const char *label, const char *prefix, const char *id,
                     const char *what);

/* A filter option of a log's command (events, audit): the query parameter it sets, and
   whether its value is a WHEN (ssoctl_when), sent as Unix seconds. */
typedef struct {
    const char *option;
    const char *param;
    bool when;
} ssoctl_filter_t;

/* What --since and --until must be, for usage errors and help. */
#define SSOCTL_WHEN_HELP                                                                       \
    "a duration back from now (30m, 24h, 7d) or an RFC 3339 UTC time (2026-12-06T21:00:00Z)"

/* Shows the newest --limit (1-10000, default 50) items of a log (events, audit) at base as a
   table, with a hint when there are more, filtered by each option of filters given on the
   command line (ending with {NULL}). 0, or an exit status (reported): a usage error for an
   empty value or a WHEN that is not one. */
int ssoctl_show_newest(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *base,
                       const ssoctl_filter_t *filters, const ssoctl_column_t *cols,
                       size_t ncols);

/* The collections under an organization (domains, portal links), written once. */
/* Lists every page of /organizations/ORG_ID<collection> (ORG_ID: args->pos[0]) as a table. */
int ssoctl_org_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *collection,
                    const ssoctl_column_t *cols, size_t ncols);
/* A credential's rotation (clients rotate-secret, directories rotate-token): POST
   <prefix>ID<action> (ID: args->pos[0]) with overlap_seconds from --overlap, a duration
   (ssoctl_duration) of at most max_seconds (max_text says it in words; absent: the broker's
   default), and shows the answer with rows. *out is the answer (caller decrefs), for the
   caller's note on the new credential. 0, or an exit status (reported). */
int ssoctl_rotate(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *prefix,
                  const char *action, long max_seconds, const char *max_text,
                  const ssoctl_column_t *rows, size_t nrows, json_t **out);
/* Lists every page of path as a table. */
int ssoctl_show_all(ssoctl_ctx_t *ctx, const char *path, const ssoctl_column_t *cols,
                    size_t ncols);
/* Lists every page of <prefix>ID<collection> (label names ID in usage errors) as a table. */
int ssoctl_sub_list(ssoctl_ctx_t *ctx, const char *label, const char *prefix, const char *id,
                    const char *collection, const ssoctl_column_t *cols, size_t ncols);
/* DELETE /organizations/ORG_ID<collection>/ID (args->pos[0], [1]; label names the id in usage
   errors) as ssoctl_delete does. */
int ssoctl_org_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *collection,
                      const char *label, const char *what);

void ssoctl_cmd_test(bool verbose);
#endif
