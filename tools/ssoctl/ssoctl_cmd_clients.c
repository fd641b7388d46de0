/* ssoctl clients: OAuth clients of the broker (the app's Auth0 tenant is one). */
#include "ssoctl_cmd.h"
#include <stdlib.h>
#include <string.h>

/* The API's bounds of rotate_secret's overlap_seconds. */
#define OVERLAP_MAX (30L * 24 * 3600)

static const ssoctl_column_t s_list_columns[] = {
    {"ID", "id"},
    {"CLIENT ID", "client_id"},
    {"NAME", "name"},
    {"REDIRECT URIS", "redirect_uris"},
};

static const ssoctl_column_t s_detail_rows[] = {
    {"ID", "id"},
    {"CLIENT ID", "client_id"},
    /* Only the create response carries it: the secret is shown once, then stored hashed. */
    {"CLIENT SECRET", "client_secret"},
    {"NAME", "name"},
    {"REDIRECT URIS", "redirect_uris"},
    {"INITIATE LOGIN URI", "initiate_login_uri"},
    {"CREATED", "created_at"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int s_create(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *name = ssoctl_args_get(args, "name");
    size_t nuris = ssoctl_args_count(args, "redirect-uri");
    if (!name)
        return ssoctl_usage_error(ctx, "--name is required");
    if (nuris == 0)
        return ssoctl_usage_error(ctx, "at least one --redirect-uri is required");
    int rc = ssoctl_nonempty(ctx, "--name", name);
    for (size_t i = 0; rc == 0 && i < nuris; i++)
        rc = ssoctl_nonempty(ctx, "--redirect-uri", ssoctl_args_nth(args, "redirect-uri", i));
    if (rc == 0 && ssoctl_args_get(args, "initiate-login-uri"))
        rc = ssoctl_nonempty(ctx, "--initiate-login-uri",
                             ssoctl_args_get(args, "initiate-login-uri"));
    if (rc != 0)
        return rc;
    json_t *uris = json_array();
    for (size_t i = 0; uris && i < nuris; i++)
        if (json_array_append_new(uris, json_string(ssoctl_args_nth(args, "redirect-uri", i)))) {
            json_decref(uris);
            uris = NULL;
        }
    json_t *body = uris ? json_pack("{s:s, s:o}", "name", name, "redirect_uris", uris) : NULL;
    const char *initiate = ssoctl_args_get(args, "initiate-login-uri");
    if (body && initiate
        && json_object_set_new(body, "initiate_login_uri", json_string(initiate)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (!body)
        return ssoctl_fail(ctx, "--name, --redirect-uri and --initiate-login-uri must be UTF-8 "
                                "text");
    json_t *result = NULL;
    rc = ssoctl_call(ctx, "POST", "/clients", body, &result);
    json_decref(body);
    if (rc == 0)
        rc = ssoctl_show_object(ctx, result, s_detail_rows, COUNT(s_detail_rows));
    if (rc == 0 && json_object_get(result, "client_secret"))
        fprintf(ctx->err, "Save the client secret now: it is not shown again.\n");
    json_decref(result);
    return rc;
}

static int s_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    (void) args;
    json_t *list = NULL;
    const char *next = NULL;
    int rc = ssoctl_list(ctx, "/clients", 0, NULL, true, 0, &list, &next);
    if (rc == 0)
        rc = ssoctl_show_list(ctx, list, s_list_columns, COUNT(s_list_columns));
    json_decref(list);
    return rc;
}

static int s_get(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_get_id(ctx, "ID", "/clients/", args->pos[0], s_detail_rows,
                         COUNT(s_detail_rows));
}

static int s_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_delete_id(ctx, "ID", "/clients/", args->pos[0], "client");
}


static bool s_has_uri(const json_t *uris, const char *uri)
{
    size_t i;
    const json_t *item;
    json_array_foreach(uris, i, item)
    {
        if (json_is_string(item) && strcmp(json_string_value(item), uri) == 0)
            return true;
    }
    return false;
}

/* The client's redirect URIs as they are now, less each --remove-redirect-uri, plus each
   --add-redirect-uri not already there, in order (new reference in *out). Removing a URI the
   client does not have is a usage error naming it: a typo would otherwise leave it
   registered. 0, or the exit status (reported). */
static int s_uris_after(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const json_t *client,
                        json_t **out)
{
    *out = NULL;
    const json_t *current = json_object_get(client, "redirect_uris");
    if (!json_is_array(current))
        return ssoctl_fail(ctx, "unexpected client response: no \"redirect_uris\" array");
    json_t *removed = json_array(), *uris = json_array();
    int rc = removed && uris ? 0 : ssoctl_fail(ctx, "out of memory");
    size_t nremove = ssoctl_args_count(args, "remove-redirect-uri");
    for (size_t i = 0; rc == 0 && i < nremove; i++) {
        const char *gone = ssoctl_args_nth(args, "remove-redirect-uri", i);
        if (!s_has_uri(current, gone))
            rc = ssoctl_usage_error(ctx, "--remove-redirect-uri %s: not a redirect URI of %s",
                                    gone, args->pos[0]);
        else if (json_array_append_new(removed, json_string(gone)) != 0)
            rc = ssoctl_fail(ctx, "out of memory");
    }
    size_t i;
    const json_t *uri;
    json_array_foreach(current, i, uri)
    {
        if (rc == 0 && json_is_string(uri) && !s_has_uri(removed, json_string_value(uri))
            && json_array_append(uris, (json_t *) uri) != 0)
            rc = ssoctl_fail(ctx, "out of memory");
    }
    size_t nadd = ssoctl_args_count(args, "add-redirect-uri");
    for (i = 0; rc == 0 && i < nadd; i++) {
        const char *added = ssoctl_args_nth(args, "add-redirect-uri", i);
        /* json_array_append_new releases a NULL or the string when it fails. */
        if (!s_has_uri(uris, added) && json_array_append_new(uris, json_string(added)) != 0)
            rc = ssoctl_fail(ctx, "--add-redirect-uri must be UTF-8 text");
    }
    json_decref(removed);
    if (rc != 0)
        json_decref(uris);
    else
        *out = uris;
    return rc;
}

static int s_update(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *id = args->pos[0];
    const char *name = ssoctl_args_get(args, "name");
    /* "" removes it. */
    const char *initiate = ssoctl_args_get(args, "initiate-login-uri");
    size_t nadd = ssoctl_args_count(args, "add-redirect-uri");
    size_t nremove = ssoctl_args_count(args, "remove-redirect-uri");
    int rc = ssoctl_nonempty(ctx, "ID", id);
    if (rc == 0 && name)
        rc = ssoctl_nonempty(ctx, "--name", name);
    for (size_t i = 0; rc == 0 && i < nadd; i++)
        rc = ssoctl_nonempty(ctx, "--add-redirect-uri", ssoctl_args_nth(args, "add-redirect-uri",
                                                                        i));
    for (size_t i = 0; rc == 0 && i < nremove; i++) {
        const char *gone = ssoctl_args_nth(args, "remove-redirect-uri", i);
        rc = ssoctl_nonempty(ctx, "--remove-redirect-uri", gone);
        for (size_t j = 0; rc == 0 && j < nadd; j++)
            if (strcmp(gone, ssoctl_args_nth(args, "add-redirect-uri", j)) == 0)
                rc = ssoctl_usage_error(ctx, "%s is given to both --add-redirect-uri and "
                                             "--remove-redirect-uri", gone);
    }
    if (rc == 0 && !name && !initiate && nadd == 0 && nremove == 0)
        rc = ssoctl_usage_error(ctx, "nothing to change: give --name, --add-redirect-uri, "
                                     "--remove-redirect-uri or --initiate-login-uri");
    if (rc != 0)
        return rc;
    char *path = ssoctl_path("/clients/", id, NULL);
    json_t *body = json_object(), *client = NULL, *uris = NULL, *result = NULL;
    if (!path || !body)
        rc = ssoctl_fail(ctx, "out of memory");
    if (rc == 0 && name && json_object_set_new(body, "name", json_string(name)) != 0)
        rc = ssoctl_fail(ctx, "--name must be UTF-8 text");
    if (rc == 0 && initiate
        && json_object_set_new(body, "initiate_login_uri",
                               *initiate ? json_string(initiate) : json_null()) != 0)
        rc = ssoctl_fail(ctx, "--initiate-login-uri must be UTF-8 text");
    /* The API takes the whole list: start from the one the client has. */
    if (rc == 0 && (nadd || nremove)) {
        rc = ssoctl_call(ctx, "GET", path, NULL, &client);
        if (rc == 0)
            rc = s_uris_after(ctx, args, client, &uris);
        if (rc == 0 && json_object_set(body, "redirect_uris", uris) != 0)
            rc = ssoctl_fail(ctx, "out of memory");
    }
    if (rc == 0)
        rc = ssoctl_call(ctx, "PATCH", path, body, &result);
    if (rc == 0)
        rc = ssoctl_show_object(ctx, result, s_detail_rows, COUNT(s_detail_rows));
    json_decref(result);
    json_decref(uris);
    json_decref(client);
    json_decref(body);
    free(path);
    return rc;
}

static const ssoctl_column_t s_rotated_rows[] = {
    {"ID", "id"},
    {"CLIENT ID", "client_id"},
    {"CLIENT SECRET", "client_secret"},
    {"PREVIOUS SECRET EXPIRES", "previous_secret_expires_at"},
};

static int s_rotate(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    json_t *result = NULL;
    int rc = ssoctl_rotate(ctx, args, "/clients/", "/rotate_secret", OVERLAP_MAX, "30 days",
                           s_rotated_rows, COUNT(s_rotated_rows), &result);
    if (rc == 0 && !ctx->json) {
        const char *until =
            json_string_value(json_object_get(result, "previous_secret_expires_at"));
        fprintf(ctx->err, "Save the new client secret now: it is not shown again. ");
        if (until)
            fprintf(ctx->err, "The previous secret works until %s.\n", until);
        else
            fprintf(ctx->err, "The previous secret no longer works.\n");
    }
    json_decref(result);
    return rc;
}

static const char *const s_create_opts[] = {"name", "redirect-uri", "initiate-login-uri", NULL};
static const char *const s_update_opts[] = {"name", "add-redirect-uri", "remove-redirect-uri",
                                            "initiate-login-uri", NULL};
static const char *const s_rotate_opts[] = {"overlap", NULL};

const ssoctl_cmd_t ssoctl_clients_cmds[] = {
    {"clients", "create",
     "clients create --name NAME --redirect-uri URI [--redirect-uri URI2...] "
     "[--initiate-login-uri URI]",
     "Register an OAuth client; its secret is printed once.",
     "Options:\n"
     "  --name NAME          a label for the client\n"
     "  --redirect-uri URI   an allowed redirect URI (exact match); repeat for several\n"
     "  --initiate-login-uri URI  where the client starts a login (https): IdP-initiated\n"
     "                       SAML logins are sent there\n"
     "\n"
     "The response holds client_id and client_secret. The secret is stored hashed and\n"
     "cannot be shown again: copy it into the Auth0 connection right away.\n"
     "\n"
     "Examples:\n"
     "  ssoctl clients create --name \"Auth0 prod\" \\\n"
     "      --redirect-uri https://acme.us.auth0.com/login/callback\n",
     s_create_opts, 0, 0, s_create},
    {"clients", "list", "clients list", "List OAuth clients (secrets are never listed).",
     "Columns: ID, CLIENT ID, NAME, REDIRECT URIS.\n"
     "\n"
     "Examples:\n"
     "  ssoctl clients list\n",
     NULL, 0, 0, s_list},
    {"clients", "get", "clients get ID", "Show one OAuth client.",
     "Examples:\n"
     "  ssoctl clients get cli_123\n",
     NULL, 1, 1, s_get},
    {"clients", "update",
     "clients update ID [--name NAME] [--add-redirect-uri URI]... [--remove-redirect-uri URI]... "
     "[--initiate-login-uri URI]",
     "Rename an OAuth client or change its redirect URIs.",
     "Only what is given changes; give at least one.\n"
     "  --name NAME                  a new label for the client\n"
     "  --add-redirect-uri URI       register URI too (exact match, checked as on create);\n"
     "                               repeat for several. One already there stays once\n"
     "  --remove-redirect-uri URI    unregister URI; repeat for several. A URI the client\n"
     "                               does not have is an error, and nothing changes\n"
     "  --initiate-login-uri URI     where the client starts a login (https); \"\" removes it\n"
     "\n"
     "Examples:\n"
     "  ssoctl clients update cli_123 --add-redirect-uri https://acme.us.auth0.com/login/callback\n"
     "  ssoctl clients update cli_123 --name \"Auth0 prod\" \\\n"
     "      --remove-redirect-uri http://localhost:3000/callback\n",
     s_update_opts, 1, 1, s_update},
    {"clients", "rotate-secret", "clients rotate-secret ID [--overlap SECONDS|90m|24h|7d]",
     "Rotate an OAuth client's secret; the new one is printed once.",
     "Options:\n"
     "  --overlap DURATION   how long the previous secret keeps working: seconds, or a\n"
     "                       number with m, h or d; 0 to 30 days. 0 stops it at once.\n"
     "                       Default: 24h\n"
     "\n"
     "Put the new secret into the Auth0 connection within the overlap. Only the new secret\n"
     "and the one it replaced work: rotating again ends the older one at once. The\n"
     "bootstrap admin client's secret comes from its environment or file instead.\n"
     "\n"
     "Examples:\n"
     "  ssoctl clients rotate-secret cli_123\n"
     "  ssoctl clients rotate-secret cli_123 --overlap 7d\n"
     "  ssoctl clients rotate-secret cli_123 --overlap 0   # the old secret leaked\n",
     s_rotate_opts, 1, 1, s_rotate},
    {"clients", "delete", "clients delete ID", "Delete an OAuth client.",
     "Examples:\n"
     "  ssoctl clients delete cli_123\n",
     NULL, 1, 1, s_delete},
    {0},
};
