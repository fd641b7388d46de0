#include "ssoctl_args.h"
#include "sso_test.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    bool takes_value;
    bool repeatable;
    bool global; /* accepted by every command */
} opt_spec_t;

/* One table for every command: each name has the same arity everywhere, which is what lets
   the parser run before it knows the command. Commands then say which ones they accept. */
static const opt_spec_t s_specs[] = {
    {"help", false, true, true},
    {"json", false, true, true},
    {"url", true, false, true},
    {"data-dir", true, false, true},
    {"all", false, true, false},
    {"name", true, false, false},
    {"redirect-uri", true, true, false},
    {"external-id", true, false, false},
    {"page-size", true, false, false},
    {"page-token", true, false, false},
    {"search", true, false, false},
    {"metadata-file", true, false, false},
    {"metadata-url", true, false, false},
    {"metadata-signing-cert", true, false, false},
    {"entity-id", true, false, false},
    {"sso-url", true, false, false},
    {"cert-file", true, true, false},
    {"issuer", true, false, false},
    {"client-id", true, false, false},
    {"client-secret", true, false, false},
    {"client-secret-file", true, false, false},
    {"scope", true, false, false},
    {"option", true, true, false},
    {"map", true, true, false},
    {"org", true, false, false},
    {"connection", true, false, false},
    {"outcome", true, false, false}, {"since", true, false, false}, /* events, audit */
    {"until", true, false, false},
    {"limit", true, false, false},
    {"expires-in", true, false, false},
    {"add-redirect-uri", true, true, false},
    {"remove-redirect-uri", true, true, false},
    {"initiate-login-uri", true, false, false},
    {"overlap", true, false, false},
    {"email", true, false, false}, {"actor", true, false, false}, /* admins, audit */
    {"events", true, false, false}, {"description", true, false, false}, /* webhooks */
    {"endpoint", true, false, false}, {"disabled", true, false, false},
    {"status", true, false, false},
};
#define NSPECS (sizeof s_specs / sizeof s_specs[0])

const char *ssoctl_args_spec(size_t index, bool *takes_value, bool *global)
{
    if (index >= NSPECS)
        return NULL;
    if (takes_value)
        *takes_value = s_specs[index].takes_value;
    if (global)
        *global = s_specs[index].global;
    return s_specs[index].name;
}

static const opt_spec_t *s_spec(const char *name, size_t len)
{
    for (size_t i = 0; i < NSPECS; i++)
        if (strlen(s_specs[i].name) == len && memcmp(s_specs[i].name, name, len) == 0)
            return &s_specs[i];
    return NULL;
}

int ssoctl_args_parse(int argc, char **argv, ssoctl_args_t *args, char *err, size_t errlen)
{
    memset(args, 0, sizeof *args);
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool is_option = !options_done && arg[0] == '-' && arg[1] != '\0';
        if (is_option && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!is_option) {
            if (args->npos == SSOCTL_ARGS_MAX) {
                snprintf(err, errlen, "too many arguments");
                return -1;
            }
            args->pos[args->npos++] = arg;
            continue;
        }
        const char *name;
        size_t len;
        const char *value = NULL;
        if (strcmp(arg, "-h") == 0) {
            name = "help";
            len = 4;
        }
        else if (arg[1] != '-') {
            snprintf(err, errlen, "unknown option %s (options are long: --name)", arg);
            return -1;
        }
        else {
            name = arg + 2;
            const char *eq = strchr(name, '=');
            len = eq ? (size_t) (eq - name) : strlen(name);
            if (eq)
                value = eq + 1;
        }
        const opt_spec_t *spec = s_spec(name, len);
        if (!spec) {
            snprintf(err, errlen, "unknown option --%.*s", (int) len, name);
            return -1;
        }
        if (!spec->takes_value && value) {
            snprintf(err, errlen, "option --%s takes no value", spec->name);
            return -1;
        }
        if (spec->takes_value && !value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option --%s needs a value", spec->name);
                return -1;
            }
            value = argv[++i];
        }
        if (!spec->repeatable && ssoctl_args_count(args, spec->name) > 0) {
            snprintf(err, errlen, "option --%s given more than once", spec->name);
            return -1;
        }
        if (args->nopts == SSOCTL_ARGS_MAX) {
            snprintf(err, errlen, "too many options");
            return -1;
        }
        args->opts[args->nopts].name = spec->name;
        args->opts[args->nopts].value = value;
        args->nopts++;
    }
    return 0;
}

int ssoctl_args_check(const ssoctl_args_t *args, const char *const *allowed, size_t skip,
                      size_t min, size_t max, char *err, size_t errlen)
{
    for (size_t i = 0; i < args->nopts; i++) {
        const opt_spec_t *spec = s_spec(args->opts[i].name, strlen(args->opts[i].name));
        bool ok = spec && spec->global;
        for (size_t j = 0; !ok && allowed && allowed[j]; j++)
            ok = strcmp(allowed[j], args->opts[i].name) == 0;
        if (!ok) {
            snprintf(err, errlen, "option --%s does not apply here", args->opts[i].name);
            return -1;
        }
    }
    size_t n = args->npos > skip ? args->npos - skip : 0;
    if (n < min) {
        snprintf(err, errlen, "missing argument%s", min - n > 1 ? "s" : "");
        return -1;
    }
    if (n > max) {
        snprintf(err, errlen, "unexpected argument '%s'", args->pos[skip + max]);
        return -1;
    }
    return 0;
}

const char *ssoctl_args_get(const ssoctl_args_t *args, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < args->nopts; i++)
        if (strcmp(args->opts[i].name, name) == 0)
            found = args->opts[i].value;
    return found;
}

bool ssoctl_args_flag(const ssoctl_args_t *args, const char *name)
{
    return ssoctl_args_count(args, name) > 0;
}

size_t ssoctl_args_count(const ssoctl_args_t *args, const char *name)
{
    size_t count = 0;
    for (size_t i = 0; i < args->nopts; i++)
        if (strcmp(args->opts[i].name, name) == 0)
            count++;
    return count;
}

const char *ssoctl_args_nth(const ssoctl_args_t *args, const char *name, size_t index)
{
    for (size_t i = 0; i < args->nopts; i++)
        if (strcmp(args->opts[i].name, name) == 0 && index-- == 0)
            return args->opts[i].value;
    return NULL;
}

int ssoctl_args_pair(const char *option, const char *text, bool allow_empty, char *key,
                     size_t keylen, const char **value, char *err, size_t errlen)
{
    *value = NULL;
    if (keylen > 0)
        key[0] = '\0';
    const char *eq = strchr(text, '=');
    if (!eq) {
        snprintf(err, errlen, "--%s %.64s: expected KEY=VALUE", option, text);
        return -1;
    }
    size_t len = (size_t) (eq - text);
    if (len == 0) {
        snprintf(err, errlen, "--%s %.64s: the key is empty", option, text);
        return -1;
    }
    if (len >= keylen) {
        snprintf(err, errlen, "--%s: the key %.32s... is longer than %zu characters", option,
                 text, keylen - 1);
        return -1;
    }
    if (!allow_empty && eq[1] == '\0') {
        snprintf(err, errlen, "--%s %.64s: the value is empty", option, text);
        return -1;
    }
    memcpy(key, text, len);
    key[len] = '\0';
    *value = eq + 1;
    return 0;
}

/* Builds an argv from a NULL-terminated list so tests read like command lines. */
/* strcmp that a NULL (a regression in the parser) fails instead of crashing the test. */
static bool s_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static int s_parse(ssoctl_args_t *args, char *err, size_t errlen, ...)
{
    char *argv[32] = {"ssoctl"};
    int argc = 1;
    va_list ap;
    va_start(ap, errlen);
    char *word;
    while (argc < 31 && (word = va_arg(ap, char *)) != NULL)
        argv[argc++] = word;
    va_end(ap);
    return ssoctl_args_parse(argc, argv, args, err, errlen);
}

void ssoctl_args_test(bool verbose)
{
    (void) verbose;
    ssoctl_args_t args;
    char err[256] = "";

    SSO_CHECK(s_parse(&args, err, sizeof err, "--json", "orgs", "create", "--name", "Acme Inc",
                      "--external-id=ext 1", NULL) == 0);
    SSO_CHECK(args.npos == 2 && s_eq(args.pos[0], "orgs") && s_eq(args.pos[1], "create"));
    SSO_CHECK(ssoctl_args_flag(&args, "json"));
    SSO_CHECK(s_eq(ssoctl_args_get(&args, "name"), "Acme Inc"));
    SSO_CHECK(s_eq(ssoctl_args_get(&args, "external-id"), "ext 1"));
    SSO_CHECK(ssoctl_args_get(&args, "url") == NULL);
    static const char *const create_opts[] = {"name", "external-id", NULL};
    SSO_CHECK(ssoctl_args_check(&args, create_opts, 2, 0, 0, err, sizeof err) == 0);
    static const char *const list_opts[] = {"page-size", "all", NULL};
    SSO_CHECK(ssoctl_args_check(&args, list_opts, 2, 0, 0, err, sizeof err) == -1);
    SSO_CHECK(strstr(err, "--name") != NULL);

    /* Repeatable options keep their order; an empty value is a value. */
    SSO_CHECK(s_parse(&args, err, sizeof err, "clients", "create", "--redirect-uri", "a",
                      "--redirect-uri=b", "--name=", NULL) == 0);
    SSO_CHECK(ssoctl_args_count(&args, "redirect-uri") == 2);
    SSO_CHECK(s_eq(ssoctl_args_nth(&args, "redirect-uri", 0), "a"));
    SSO_CHECK(s_eq(ssoctl_args_nth(&args, "redirect-uri", 1), "b"));
    SSO_CHECK(ssoctl_args_nth(&args, "redirect-uri", 2) == NULL);
    SSO_CHECK(s_eq(ssoctl_args_get(&args, "name"), ""));

    /* "--" ends options, so a positional may start with a dash. */
    SSO_CHECK(s_parse(&args, err, sizeof err, "orgs", "get", "--", "--odd-id", NULL) == 0);
    SSO_CHECK(args.npos == 3 && s_eq(args.pos[2], "--odd-id") && args.nopts == 0);
    SSO_CHECK(s_parse(&args, err, sizeof err, "-h", NULL) == 0 && ssoctl_args_flag(&args, "help"));
    SSO_CHECK(s_parse(&args, err, sizeof err, "orgs", "-", NULL) == 0 && args.npos == 2);

    /* Errors. */
    SSO_CHECK(s_parse(&args, err, sizeof err, "orgs", "create", "--name", NULL) == -1);
    SSO_CHECK(strstr(err, "needs a value") != NULL);
    SSO_CHECK(s_parse(&args, err, sizeof err, "--bogus", NULL) == -1);
    SSO_CHECK(strstr(err, "--bogus") != NULL);
    SSO_CHECK(s_parse(&args, err, sizeof err, "--json=yes", NULL) == -1);
    SSO_CHECK(s_parse(&args, err, sizeof err, "--name", "a", "--name", "b", NULL) == -1);
    SSO_CHECK(strstr(err, "more than once") != NULL);
    SSO_CHECK(s_parse(&args, err, sizeof err, "-x", NULL) == -1);
    SSO_CHECK(s_parse(&args, err, sizeof err, "--helpx", NULL) == -1);

    /* Positional counts. */
    SSO_CHECK(s_parse(&args, err, sizeof err, "domains", "add", "org_1", NULL) == 0);
    SSO_CHECK(ssoctl_args_check(&args, NULL, 2, 2, 2, err, sizeof err) == -1);
    SSO_CHECK(strstr(err, "missing") != NULL);
    SSO_CHECK(ssoctl_args_check(&args, NULL, 2, 1, 1, err, sizeof err) == 0);
    SSO_CHECK(ssoctl_args_check(&args, NULL, 2, 0, 0, err, sizeof err) == -1);
    SSO_CHECK(strstr(err, "org_1") != NULL);

    /* KEY=VALUE options repeat, in order; the value keeps any further '='. */
    SSO_CHECK(s_parse(&args, err, sizeof err, "connections", "update", "c", "--option",
                      "response_mode=form_post", "--option=allow_unverified_email=true", "--map",
                      "email=upn", "--map", "groups=", NULL) == 0);
    SSO_CHECK(ssoctl_args_count(&args, "option") == 2 && ssoctl_args_count(&args, "map") == 2);
    char key[8];
    const char *value = NULL;
    SSO_CHECK(ssoctl_args_pair("map", "email=a=b", false, key, sizeof key, &value, err,
                               sizeof err) == 0);
    SSO_CHECK(s_eq(key, "email") && s_eq(value, "a=b"));
    SSO_CHECK(ssoctl_args_pair("option", ssoctl_args_nth(&args, "option", 1), true, key,
                               sizeof key, &value, err, sizeof err) == -1);
    SSO_CHECK(strstr(err, "longer than 7") != NULL && value == NULL && key[0] == '\0');
    /* An empty value: a removal where that is allowed (a change), refused elsewhere. */
    SSO_CHECK(ssoctl_args_pair("map", "groups=", true, key, sizeof key, &value, err,
                               sizeof err) == 0);
    SSO_CHECK(s_eq(key, "groups") && s_eq(value, ""));
    SSO_CHECK(ssoctl_args_pair("map", "groups=", false, key, sizeof key, &value, err,
                               sizeof err) == -1);
    SSO_CHECK(strstr(err, "--map groups=: the value is empty") != NULL && value == NULL);
    /* No '=', an empty key, the empty text: refused whatever the value rule. */
    SSO_CHECK(ssoctl_args_pair("option", "form_post", true, key, sizeof key, &value, err,
                               sizeof err) == -1);
    SSO_CHECK(strstr(err, "--option form_post: expected KEY=VALUE") != NULL);
    SSO_CHECK(ssoctl_args_pair("option", "=x", true, key, sizeof key, &value, err,
                               sizeof err) == -1);
    SSO_CHECK(strstr(err, "the key is empty") != NULL);
    SSO_CHECK(ssoctl_args_pair("option", "=", true, key, sizeof key, &value, err,
                               sizeof err) == -1);
    SSO_CHECK(ssoctl_args_pair("option", "", true, key, sizeof key, &value, err,
                               sizeof err) == -1);
    SSO_CHECK(strstr(err, "expected KEY=VALUE") != NULL);
    /* "--option" with nothing after it is the parser's error, like any option's. */
    SSO_CHECK(s_parse(&args, err, sizeof err, "connections", "update", "c", "--option",
                      NULL) == -1);
    SSO_CHECK(strstr(err, "--option needs a value") != NULL);
}
