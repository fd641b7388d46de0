#include "sso_bus_keys.h"
#include "sso_config.h"
#include "sso_log.h"
#include "sso_test.h"
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_ROLES_MAX 16
#define S_NAME_MAX 32
/* czmq reads "<file>_secret" through a 256-byte buffer: longer paths would be cut. */
#define S_PATH_MAX 240
#define S_BROKER "broker"
/* A waiting service looks for its keys this often, and says so at most this often. */
#define S_WAIT_POLL_MS 100
#define S_WAIT_LOG_MS 10000

const char *const sso_bus_roles[] = {"directory", "token", "saml", "oidc", "scim", NULL};
const char *const sso_bus_roles_added[] = {"scim", NULL};

typedef struct {
    char name[S_NAME_MAX + 1];
    zcert_t *cert;              /* NULL when the directory has neither file */
    bool secret;                /* the secret key was loaded too */
} s_entry_t;

struct sso_bus_keys_t {
    char dir[S_PATH_MAX];
    s_entry_t broker;
    s_entry_t roles[S_ROLES_MAX];
    size_t n_roles;
};

static int s_why(char *why, size_t why_size, const char *fmt, const char *a, const char *b)
{
    snprintf(why, why_size, fmt, a, b);
    return -1;
}

static bool s_zero(const byte *key)
{
    byte any = 0;
    for (size_t i = 0; i < 32; i++)
        any |= key[i];
    return any == 0;
}

/* Who may change a key file, or the directory that holds them, may add a key of their own to
   a role: only this process's user (or root), and nobody through group or world write. */
static int s_guarded(const char *path, const struct stat *st, char *why, size_t why_size)
{
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return s_why(why, why_size, "%s belongs to another user (chown it to this one)%s", path,
                     "");
    if (st->st_mode & 022)
        return s_why(why, why_size, "%s may be changed by others than its owner (chmod go-w "
                                    "it)%s", path, "");
    return 0;
}

/* Loads <dir>/<name>.key (and its _secret when there is one) into entry. 0 (entry->cert NULL
   when neither file exists), or -1 with why. */
static int s_load(const char *dir, s_entry_t *entry, char *why, size_t why_size)
{
    char public_path[S_PATH_MAX + 48], secret_path[S_PATH_MAX + 64];
    snprintf(public_path, sizeof public_path, "%s/%s.key", dir, entry->name);
    snprintf(secret_path, sizeof secret_path, "%s_secret", public_path);
    struct stat st;
    bool has_secret = stat(secret_path, &st) == 0;
    if (has_secret && (st.st_mode & 077))
        return s_why(why, why_size, "%s may be read by others than its owner (chmod 600 it)%s",
                     secret_path, "");
    if (has_secret && s_guarded(secret_path, &st, why, why_size) != 0)
        return -1;
    bool has_public = stat(public_path, &st) == 0;
    if (has_public && s_guarded(public_path, &st, why, why_size) != 0)
        return -1;
    if (!has_secret && !has_public)
        return 0;
    zcert_t *cert = zcert_load(public_path); /* reads the _secret file first when present */
    if (!cert || s_zero(zcert_public_key(cert))
        || (has_secret && s_zero(zcert_secret_key(cert)))) {
        zcert_destroy(&cert);
        return s_why(why, why_size, "%s is not a CURVE certificate%s",
                     has_secret ? secret_path : public_path, "");
    }
    if (has_secret) {
        /* The public key must be the secret key's own, or the peers would never agree. */
        char derived[41];
        if (zmq_curve_public(derived, zcert_secret_txt(cert)) != 0
            || strcmp(derived, zcert_public_txt(cert)) != 0) {
            zcert_destroy(&cert);
            return s_why(why, why_size, "%s: the public key is not the secret key's%s",
                         secret_path, "");
        }
    }
    entry->cert = cert;
    entry->secret = has_secret;
    return 0;
}

static void s_remove_set(const char *dir, const char *const *roles)
{
    char path[S_PATH_MAX + 64];
    for (size_t i = 0; i == 0 || roles[i - 1]; i++) {
        const char *name = i == 0 ? S_BROKER : roles[i - 1];
        snprintf(path, sizeof path, "%s/%s.key", dir, name);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s.key_secret", dir, name);
        unlink(path);
    }
    rmdir(dir);
}

/* Generates the broker's and every role's keypair into a new directory beside dir and renames
   it to dir: whoever renames first wins, and the others read the winner's set. */
static int s_generate(const char *dir, const char *const *roles, char *why, size_t why_size)
{
    char parent[S_PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (sso_mkdirs(parent, 0700) != 0)
            return s_why(why, why_size, "cannot create %s: %s", parent, strerror(errno));
    }
    char tmp[S_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.new-XXXXXX", dir);
    if (!mkdtemp(tmp)) /* mode 0700 */
        return s_why(why, why_size, "cannot create a directory beside %s: %s", dir,
                     strerror(errno));
    int rc = 0;
    for (size_t i = 0; rc == 0 && (i == 0 || roles[i - 1]); i++) {
        const char *name = i == 0 ? S_BROKER : roles[i - 1];
        char path[S_PATH_MAX + 64], secret[S_PATH_MAX + 80];
        snprintf(path, sizeof path, "%s/%s.key", tmp, name);
        snprintf(secret, sizeof secret, "%s_secret", path);
        zcert_t *cert = zcert_new();
        if (cert)
            zcert_set_meta(cert, "role", "%s", name);
        if (!cert || zcert_save(cert, path) != 0 || chmod(path, 0600) != 0
            || chmod(secret, 0600) != 0)
            rc = s_why(why, why_size, "cannot write the bus keys into %s: %s", tmp,
                       strerror(errno));
        zcert_destroy(&cert);
    }
    if (rc == 0 && rename(tmp, dir) != 0) {
        if (errno != EEXIST && errno != ENOTEMPTY)
            rc = s_why(why, why_size, "cannot create %s: %s", dir, strerror(errno));
        /* else another process made the set first: that one is used */
    }
    else if (rc == 0)
        tmp[0] = '\0';
    if (tmp[0])
        s_remove_set(tmp, roles);
    return rc;
}

/* Whether <dir>/<file> exists: 1 or 0, or -1 with why when that cannot be told (dir is a
   file, or may not be searched). */
static int s_exists(const char *dir, const char *file, char *why, size_t why_size)
{
    char path[S_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat st;
    if (stat(path, &st) == 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    return s_why(why, why_size, "cannot read %s: %s", path, strerror(errno));
}

/* Whether dir holds name's secret key (<name>.key_secret) or, unless secret, at least its public
   key (the secret file holds it too): 1 or 0, or -1 with why. */
static int s_has_key(const char *dir, const char *name, bool secret, char *why, size_t why_size)
{
    char file[S_NAME_MAX + 16];
    snprintf(file, sizeof file, "%s.key_secret", name);
    int found = s_exists(dir, file, why, why_size);
    if (found == 0 && !secret) {
        snprintf(file, sizeof file, "%s.key", name);
        found = s_exists(dir, file, why, why_size);
    }
    return found;
}

/* Appends to list (", "-separated) each file of the set that dir lacks for its owner: the
   broker's secret, every role's public key and, with every_secret, every role's secret; *any
   tells whether it holds a file of the set at all. 0 or -1 with why. */
static int s_missing(const char *dir, const char *const *roles, bool every_secret, char *list,
                     size_t list_size, bool *any, char *why, size_t why_size)
{
    list[0] = '\0';
    *any = false;
    for (size_t i = 0; i == 0 || roles[i - 1]; i++) {
        const char *name = i == 0 ? S_BROKER : roles[i - 1];
        bool secret = i == 0 || every_secret;
        int has_secret = s_has_key(dir, name, true, why, why_size);
        int has_any = has_secret == 0 ? s_has_key(dir, name, false, why, why_size) : has_secret;
        if (has_secret < 0 || has_any < 0)
            return -1;
        *any = *any || has_any;
        if (secret ? !has_secret : !has_any) {
            size_t used = strlen(list);
            snprintf(list + used, list_size - used, "%s%s.key%s", used ? ", " : "", name,
                     secret ? "_secret" : "");
        }
    }
    return 0;
}

static int s_check_args(const char *dir, const char *const *roles, char *why, size_t why_size)
{
    size_t n = 0;
    while (roles[n])
        n++;
    if (!dir || !*dir || strlen(dir) >= S_PATH_MAX - 32)
        return s_why(why, why_size, "the bus keys dir must be 1 to %s bytes%s", "200", "");
    if (n > S_ROLES_MAX)
        return s_why(why, why_size, "too many bus roles%s%s", "", "");
    for (size_t i = 0; i < n; i++)
        if (!*roles[i] || strlen(roles[i]) > S_NAME_MAX || !strcmp(roles[i], S_BROKER)
            || strchr(roles[i], '/'))
            return s_why(why, why_size, "not a bus role: %s%s", roles[i], "");
    return 0;
}

sso_bus_keys_t *sso_bus_keys_open(const char *dir, const char *const *roles, char *why,
                                  size_t why_size)
{
    roles = roles ? roles : sso_bus_roles;
    if (s_check_args(dir, roles, why, why_size) != 0)
        return NULL;
    sso_bus_keys_t *self = calloc(1, sizeof *self);
    if (!self) {
        s_why(why, why_size, "out of memory%s%s", "", "");
        return NULL;
    }
    snprintf(self->dir, sizeof self->dir, "%s", dir);
    snprintf(self->broker.name, sizeof self->broker.name, "%s", S_BROKER);
    while (roles[self->n_roles])
        self->n_roles++;
    struct stat st;
    int rc = stat(dir, &st) != 0 ? s_why(why, why_size, "cannot read %s: %s", dir, strerror(errno))
           : !S_ISDIR(st.st_mode) ? s_why(why, why_size, "%s is not a directory%s", dir, "")
                                  : s_guarded(dir, &st, why, why_size);
    if (rc == 0)
        rc = s_load(dir, &self->broker, why, why_size);
    for (size_t i = 0; rc == 0 && i < self->n_roles; i++) {
        snprintf(self->roles[i].name, sizeof self->roles[i].name, "%s", roles[i]);
        rc = s_load(dir, &self->roles[i], why, why_size);
    }
    if (rc == 0 && !self->broker.cert)
        rc = s_why(why, why_size, "%s has no broker.key: give every process the broker's "
                                  "public key (or remove the directory and start the gateway to have a new set made)",
                   dir, "");
    if (rc != 0)
        sso_bus_keys_destroy(&self);
    return self;
}

static bool s_added(const char *role)
{
    for (size_t i = 0; sso_bus_roles_added[i]; i++)
        if (!strcmp(sso_bus_roles_added[i], role))
            return true;
    return false;
}

/* Generates role's keypair beside dir and links it in, the secret file first: link never
   replaces, so of owners that upgrade at once one wins and the others keep the winner's, and
   a service sees the role's secret whole or not at all. 0, or -1 with why. */
static int s_generate_role(const char *dir, const char *role, char *why, size_t why_size)
{
    char tmp[S_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.new-XXXXXX", dir);
    if (!mkdtemp(tmp))
        return s_why(why, why_size, "cannot create a directory beside %s: %s", dir,
                     strerror(errno));
    char path[S_PATH_MAX + 64], secret[S_PATH_MAX + 80];
    char final_path[S_PATH_MAX + 64], final_secret[S_PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/%s.key", tmp, role);
    snprintf(secret, sizeof secret, "%s_secret", path);
    snprintf(final_path, sizeof final_path, "%s/%s.key", dir, role);
    snprintf(final_secret, sizeof final_secret, "%s_secret", final_path);
    zcert_t *cert = zcert_new();
    if (cert)
        zcert_set_meta(cert, "role", "%s", role);
    int rc = 0;
    if (!cert || zcert_save(cert, path) != 0 || chmod(path, 0600) != 0
        || chmod(secret, 0600) != 0)
        rc = s_why(why, why_size, "cannot write the bus keys into %s: %s", tmp, strerror(errno));
    zcert_destroy(&cert);
    if (rc == 0 && link(secret, final_secret) == 0) {
        if (link(path, final_path) != 0)
            rc = s_why(why, why_size, "cannot create %s: %s", final_path, strerror(errno));
    }
    else if (rc == 0 && errno != EEXIST) /* EEXIST: another owner added it first */
        rc = s_why(why, why_size, "cannot create %s: %s", final_secret, strerror(errno));
    unlink(path);
    unlink(secret);
    rmdir(tmp);
    return rc;
}

/* The upgrade of a set made before roles were added to the product (sso_bus_roles_added):
   when the set is whole for the roles it had, each added role it lacks wholly (neither file)
   gets its keypair. A set short of anything else is left alone, for the caller to refuse.
   0 with what the set still misses in missing (as s_missing), or -1 with why. */
static int s_add_roles(const char *dir, const char *const *roles, bool every_secret,
                       char *missing, size_t missing_size, char *why, size_t why_size)
{
    const char *had[S_ROLES_MAX + 1], *lacking[S_ROLES_MAX + 1];
    size_t n_had = 0, n_lacking = 0;
    for (size_t i = 0; roles[i]; i++) {
        int found = s_has_key(dir, roles[i], false, why, why_size);
        if (found < 0)
            return -1;
        if (!found && s_added(roles[i]))
            lacking[n_lacking++] = roles[i];
        else
            had[n_had++] = roles[i];
    }
    had[n_had] = NULL;
    char old_missing[(S_NAME_MAX + 16) * (S_ROLES_MAX + 1)];
    bool any = false;
    if (n_lacking == 0)
        return 0;
    if (s_missing(dir, had, every_secret, old_missing, sizeof old_missing, &any, why, why_size)
        != 0)
        return -1;
    if (*old_missing)
        return 0;
    for (size_t i = 0; i < n_lacking; i++) {
        if (s_generate_role(dir, lacking[i], why, why_size) != 0)
            return -1;
        sso_info("bus keys in %s: added the %s role's keypair (a role newer than the set)", dir,
                 lacking[i]);
    }
    return s_missing(dir, roles, every_secret, missing, missing_size, &any, why, why_size);
}

sso_bus_keys_t *sso_bus_keys_make(const char *dir, const char *const *roles, bool every_secret,
                                  char *why, size_t why_size)
{
    roles = roles ? roles : sso_bus_roles;
    if (s_check_args(dir, roles, why, why_size) != 0)
        return NULL;
    char missing[(S_NAME_MAX + 16) * (S_ROLES_MAX + 1)];
    bool any = false;
    if (s_missing(dir, roles, every_secret, missing, sizeof missing, &any, why, why_size) != 0
        || (!any && (s_generate(dir, roles, why, why_size) != 0
                     || s_missing(dir, roles, every_secret, missing, sizeof missing, &any, why,
                                  why_size) != 0)))
        return NULL;
    /* A scan is file by file: one that began before another process renamed its whole set
       into place finds the first files missing and the later ones there. The set is whole
       from that rename on, so a second scan tells a part of a set from that race. */
    if (*missing && any
        && s_missing(dir, roles, every_secret, missing, sizeof missing, &any, why, why_size) != 0)
        return NULL;
    if (*missing && any
        && s_add_roles(dir, roles, every_secret, missing, sizeof missing, why, why_size) != 0)
        return NULL;
    if (*missing) {
        /* A set made anew over it would lock out every process that holds the old one. */
        snprintf(why, why_size, "%.300s holds part of a set of bus keys, missing %.600s: "
                 "complete it, or remove the directory (with everything stopped) to have a "
                 "new set generated", dir, missing);
        return NULL;
    }
    return sso_bus_keys_open(dir, roles, why, why_size);
}

sso_bus_keys_t *sso_bus_keys_wait(const char *dir, const char *const *roles, const char *role,
                                  int64_t deadline, char *why, size_t why_size)
{
    roles = roles ? roles : sso_bus_roles;
    if (s_check_args(dir, roles, why, why_size) != 0)
        return NULL;
    bool known = false;
    for (size_t i = 0; role && roles[i]; i++)
        known = known || !strcmp(roles[i], role);
    if (!known) {
        s_why(why, why_size, "not a bus role: %s%s", role ? role : "(none)", "");
        return NULL;
    }
    char secret[S_NAME_MAX + 16];
    snprintf(secret, sizeof secret, "%s.key_secret", role);
    int64_t logged = -1;
    while (true) {
        /* The broker's public key, in either of its files, and the role's secret. */
        const char *lacking = NULL;
        int found = s_has_key(dir, S_BROKER, false, why, why_size);
        if (found == 0)
            lacking = "broker.key";
        else if (found == 1 && (found = s_has_key(dir, role, true, why, why_size)) == 0)
            lacking = secret;
        if (found < 0)
            return NULL;
        if (!lacking)
            break;
        int64_t now = zclock_mono();
        if (zsys_interrupted || (deadline >= 0 && now >= deadline)) {
            snprintf(why, why_size, "%s in %.300s: %s is missing",
                     zsys_interrupted ? "interrupted while waiting for the bus keys"
                                      : "no bus keys in time",
                     dir, lacking);
            return NULL;
        }
        if (logged < 0 || now - logged >= S_WAIT_LOG_MS) {
            sso_info("waiting for the bus keys in %s: %s is missing; the gateway (or `make "
                     "run`'s supervisor) generates them", dir, lacking);
            logged = now;
        }
        zclock_sleep(S_WAIT_POLL_MS);
    }
    sso_bus_keys_t *self = sso_bus_keys_open(dir, roles, why, why_size);
    if (self && !sso_bus_keys_can_connect(self, role)) {
        snprintf(why, why_size, "%.300s: %s does not hold %s's secret key", dir, secret, role);
        sso_bus_keys_destroy(&self);
    }
    return self;
}

void sso_bus_keys_destroy(sso_bus_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_bus_keys_t *self = *self_p;
    zcert_destroy(&self->broker.cert);
    for (size_t i = 0; i < self->n_roles; i++)
        zcert_destroy(&self->roles[i].cert);
    free(self);
    *self_p = NULL;
}

const char *sso_bus_keys_dir(const sso_bus_keys_t *self) { return self->dir; }

static const s_entry_t *s_role(const sso_bus_keys_t *self, const char *role)
{
    for (size_t i = 0; role && i < self->n_roles; i++)
        if (!strcmp(self->roles[i].name, role))
            return &self->roles[i];
    return NULL;
}

int sso_bus_keys_serve(const sso_bus_keys_t *self, zsock_t *socket)
{
    if (!self->broker.secret)
        return -1;
    zcert_apply(self->broker.cert, socket);
    zsock_set_curve_server(socket, 1);
    return 0;
}

const char *sso_bus_keys_role(const sso_bus_keys_t *self, const uint8_t *public_key,
                              size_t size)
{
    if (!public_key || size != 32)
        return NULL;
    for (size_t i = 0; i < self->n_roles; i++)
        if (self->roles[i].cert && !memcmp(zcert_public_key(self->roles[i].cert), public_key, 32))
            return self->roles[i].name;
    return NULL;
}

bool sso_bus_keys_can_connect(const sso_bus_keys_t *self, const char *role)
{
    const s_entry_t *entry = s_role(self, role);
    return entry && entry->secret && self->broker.cert;
}

int sso_bus_keys_connect_as(const sso_bus_keys_t *self, const char *role, zsock_t *socket)
{
    if (!sso_bus_keys_can_connect(self, role))
        return -1;
    zcert_apply(s_role(self, role)->cert, socket);
    zsock_set_curve_serverkey(socket, zcert_public_txt(self->broker.cert));
    return 0;
}

/* ---- self-test ---------------------------------------------------------------------------- */

static int s_mode(const char *dir, const char *file)
{
    char path[S_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat st;
    return stat(path, &st) == 0 ? (int) (st.st_mode & 0777) : -1;
}

static void s_copy_file(const char *from_dir, const char *to_dir, const char *file)
{
    char from[S_PATH_MAX + 64], to[S_PATH_MAX + 64];
    snprintf(from, sizeof from, "%s/%s", from_dir, file);
    snprintf(to, sizeof to, "%s/%s", to_dir, file);
    zchunk_t *chunk = NULL;
    FILE *in = fopen(from, "rb");
    if (in) {
        chunk = zchunk_read(in, 4096);
        fclose(in);
    }
    FILE *out = chunk ? fopen(to, "wb") : NULL;
    SSO_CHECK(out && zchunk_write(chunk, out) == 0);
    if (out)
        fclose(out);
    zchunk_destroy(&chunk);
    chmod(to, 0600);
}

/* One of the processes that start together on an empty data dir (the race test). */
typedef struct {
    const char *dir;
    const char *const *roles;
    char broker[41]; /* the broker's public key it ended up with, "" if none */
    char why[300];
} s_racer_t;

static void *s_racer(void *arg)
{
    s_racer_t *racer = arg;
    sso_bus_keys_t *mine =
        sso_bus_keys_make(racer->dir, racer->roles, true, racer->why, sizeof racer->why);
    racer->broker[0] = '\0';
    if (mine)
        snprintf(racer->broker, sizeof racer->broker, "%s", zcert_public_txt(mine->broker.cert));
    sso_bus_keys_destroy(&mine);
    return NULL;
}

void sso_bus_keys_test(bool verbose)
{
    (void) verbose;
    char base[] = "/tmp/sso-bus-keys-test-XXXXXX";
    SSO_CHECK(mkdtemp(base) != NULL);
    char dir[128], why[512];
    snprintf(dir, sizeof dir, "%s/data/bus", base);
    const char *const roles[] = {"token", "saml", NULL};

    /* A service's open never makes keys: nothing is created. */
    SSO_CHECK(!sso_bus_keys_open(dir, roles, why, sizeof why) && strstr(why, "cannot read"));
    SSO_CHECK(s_mode(dir, "") == -1);
    /* Nor does a service's wait: it gives up at its deadline, naming what is missing. */
    int64_t started = zclock_mono();
    SSO_CHECK(!sso_bus_keys_wait(dir, roles, "token", started + 200, why, sizeof why));
    SSO_CHECK(strstr(why, "no bus keys in time") && strstr(why, "broker.key is missing"));
    SSO_CHECK(zclock_mono() - started >= 200 && s_mode(dir, "") == -1);

    /* The owner's open: the set is generated, the directory 0700 and every file 0600. */
    sso_bus_keys_t *keys = sso_bus_keys_make(dir, roles, true, why, sizeof why);
    SSO_CHECK(keys && !strcmp(sso_bus_keys_dir(keys), dir));
    SSO_CHECK(s_mode(dir, "") == 0700 && s_mode(dir, "broker.key_secret") == 0600
              && s_mode(dir, "broker.key") == 0600 && s_mode(dir, "token.key_secret") == 0600
              && s_mode(dir, "saml.key") == 0600);
    if (!keys)
        return;
    /* Each role knows itself by its public key; other keys are nobody. */
    char path[160];
    snprintf(path, sizeof path, "%s/token.key", dir);
    zcert_t *token = zcert_load(path);
    zcert_t *stranger = zcert_new();
    SSO_CHECK(token && stranger);
    SSO_CHECK(!strcmp(sso_bus_keys_role(keys, zcert_public_key(token), 32), "token"));
    SSO_CHECK(sso_bus_keys_role(keys, zcert_public_key(stranger), 32) == NULL);
    SSO_CHECK(sso_bus_keys_role(keys, zcert_public_key(token), 31) == NULL);
    SSO_CHECK(sso_bus_keys_role(keys, NULL, 32) == NULL);
    SSO_CHECK(sso_bus_keys_can_connect(keys, "token") && sso_bus_keys_can_connect(keys, "saml"));
    SSO_CHECK(!sso_bus_keys_can_connect(keys, "oidc") && !sso_bus_keys_can_connect(keys, NULL)
              && !sso_bus_keys_can_connect(keys, "broker"));
    zsock_t *socket = zsock_new(ZMQ_DEALER);
    SSO_CHECK(sso_bus_keys_serve(keys, socket) == 0);
    SSO_CHECK(sso_bus_keys_connect_as(keys, "oidc", socket) == -1);
    zsock_destroy(&socket);

    /* Opened again (another process, a restart): the same keys, nothing regenerated. */
    sso_bus_keys_t *again = sso_bus_keys_make(dir, roles, false, why, sizeof why);
    SSO_CHECK(again && !strcmp(sso_bus_keys_role(again, zcert_public_key(token), 32), "token"));
    sso_bus_keys_destroy(&again);
    /* A service finds them at once, and waits for no more than its own. */
    again = sso_bus_keys_wait(dir, roles, "saml", zclock_mono(), why, sizeof why);
    SSO_CHECK(again && sso_bus_keys_can_connect(again, "saml"));
    sso_bus_keys_destroy(&again);
    SSO_CHECK(!sso_bus_keys_wait(dir, roles, "oidc", -1, why, sizeof why)
              && strstr(why, "not a bus role: oidc"));
    SSO_CHECK(!sso_bus_keys_wait(dir, roles, "broker", -1, why, sizeof why));
    SSO_CHECK(!sso_bus_keys_wait(dir, roles, NULL, -1, why, sizeof why));

    /* A directory with only a service's part: it connects as its role and nothing else, and
       cannot serve. */
    char part[128];
    snprintf(part, sizeof part, "%s/token-only", base);
    SSO_CHECK(mkdir(part, 0700) == 0);
    s_copy_file(dir, part, "broker.key");
    s_copy_file(dir, part, "token.key_secret");
    sso_bus_keys_t *partial = sso_bus_keys_open(part, roles, why, sizeof why);
    SSO_CHECK(partial && sso_bus_keys_can_connect(partial, "token")
              && !sso_bus_keys_can_connect(partial, "saml"));
    socket = zsock_new(ZMQ_DEALER);
    SSO_CHECK(partial && sso_bus_keys_serve(partial, socket) == -1
              && sso_bus_keys_connect_as(partial, "token", socket) == 0);
    zsock_destroy(&socket);
    sso_bus_keys_destroy(&partial);

    /* Hostile and broken sets are refused with a reason. A secret others may read: */
    snprintf(path, sizeof path, "%s/token.key_secret", part);
    SSO_CHECK(chmod(path, 0640) == 0);
    SSO_CHECK(!sso_bus_keys_open(part, roles, why, sizeof why) && strstr(why, "chmod 600"));
    /* A secret file whose public key is another's: */
    zcert_t *mixed = zcert_new_from(zcert_public_key(stranger), zcert_secret_key(token));
    unlink(path);
    snprintf(path, sizeof path, "%s/token.key", part);
    SSO_CHECK(mixed && zcert_save(mixed, path) == 0);
    snprintf(path, sizeof path, "%s/token.key_secret", part);
    chmod(path, 0600);
    SSO_CHECK(!sso_bus_keys_open(part, roles, why, sizeof why) && strstr(why, "not the secret"));
    zcert_destroy(&mixed);
    /* Not a certificate at all: */
    FILE *junk = fopen(path, "w");
    if (junk) {
        fputs("curve\n    secret-key = \"short\"\n", junk);
        fclose(junk);
    }
    SSO_CHECK(!sso_bus_keys_open(part, roles, why, sizeof why)
              && strstr(why, "not a CURVE certificate"));
    s_remove_set(part, roles);
    /* Files but no broker key: nothing is generated over them, by the owner either. */
    SSO_CHECK(mkdir(part, 0700) == 0);
    s_copy_file(dir, part, "token.key_secret");
    SSO_CHECK(!sso_bus_keys_open(part, roles, why, sizeof why) && strstr(why, "no broker.key"));
    SSO_CHECK(!sso_bus_keys_make(part, roles, false, why, sizeof why)
              && strstr(why, "missing broker.key_secret, saml.key:"));
    SSO_CHECK(s_mode(part, "broker.key") == -1 && s_mode(part, "saml.key") == -1);
    /* The broker's public key but not its secret: the gateway cannot serve with it. */
    s_copy_file(dir, part, "broker.key");
    s_copy_file(dir, part, "saml.key");
    SSO_CHECK(!sso_bus_keys_make(part, roles, false, why, sizeof why)
              && strstr(why, "missing broker.key_secret:"));
    /* The broker's part, short of a role's secret: enough for the gateway, not for the
       supervisor that starts every service on it. */
    s_copy_file(dir, part, "broker.key_secret");
    sso_bus_keys_t *owned = sso_bus_keys_make(part, roles, false, why, sizeof why);
    SSO_CHECK(owned != NULL);
    sso_bus_keys_destroy(&owned);
    SSO_CHECK(!sso_bus_keys_make(part, roles, true, why, sizeof why)
              && strstr(why, "missing saml.key_secret:"));
    /* A service whose own secret is not there waits for it, naming it. */
    SSO_CHECK(!sso_bus_keys_wait(part, roles, "saml", zclock_mono() + 50, why, sizeof why)
              && strstr(why, "saml.key_secret is missing"));
    s_remove_set(part, roles);
    /* A service finding keys that are there but broken fails at once, without waiting. */
    SSO_CHECK(mkdir(part, 0700) == 0);
    s_copy_file(dir, part, "broker.key");
    s_copy_file(dir, part, "token.key_secret");
    snprintf(path, sizeof path, "%s/token.key_secret", part);
    SSO_CHECK(chmod(path, 0644) == 0);
    started = zclock_mono();
    SSO_CHECK(!sso_bus_keys_wait(part, roles, "token", started + 5000, why, sizeof why)
              && strstr(why, "chmod 600") && zclock_mono() - started < 2000);
    s_remove_set(part, roles);
    /* ... and so does one pointed at a file instead of a directory. */
    FILE *file = fopen(part, "w");
    SSO_CHECK(file != NULL);
    if (file)
        fclose(file);
    SSO_CHECK(!sso_bus_keys_wait(part, roles, "token", -1, why, sizeof why)
              && strstr(why, "Not a directory"));
    SSO_CHECK(!sso_bus_keys_make(part, roles, false, why, sizeof why)
              && strstr(why, "Not a directory"));
    unlink(part);
    /* A directory or a key file others may change (a local user could add a key of their
       own as a role), or that belongs to another user: refused. */
    SSO_CHECK(mkdir(part, 0700) == 0);
    s_copy_file(dir, part, "broker.key");
    s_copy_file(dir, part, "token.key");
    sso_bus_keys_t *clean = sso_bus_keys_open(part, roles, why, sizeof why);
    SSO_CHECK(clean != NULL);
    sso_bus_keys_destroy(&clean);
    SSO_CHECK(chmod(part, 0777) == 0);
    SSO_CHECK(!sso_bus_keys_open(part, roles, why, sizeof why) && strstr(why, "chmod go-w"));
    SSO_CHECK(chmod(part, 0755) == 0);
    snprintf(path, sizeof path, "%s/token.key", part);
    SSO_CHECK(chmod(path, 0646) == 0);
    SSO_CHECK(!sso_bus_keys_open(part, roles, why, sizeof why) && strstr(why, "chmod go-w")
              && strstr(why, "token.key"));
    SSO_CHECK(chmod(path, 0644) == 0);
    if (geteuid() == 0) { /* only root can give a file away */
        SSO_CHECK(chown(path, 65534, 65534) == 0);
        SSO_CHECK(!sso_bus_keys_open(part, roles, why, sizeof why)
                  && strstr(why, "another user"));
        SSO_CHECK(chown(path, 0, 0) == 0 && chown(part, 65534, 65534) == 0);
        SSO_CHECK(!sso_bus_keys_open(part, roles, why, sizeof why)
                  && strstr(why, "another user"));
    }
    s_remove_set(part, roles);
    /* A set made before a role was added (scim): the owners add that role's keypair and keep
       every old key; a set short of an old role's file is refused as before, and nothing is
       added to it. */
    const char *const upgraded[] = {"token", "saml", "scim", NULL};
    SSO_CHECK(mkdir(part, 0700) == 0);
    s_copy_file(dir, part, "broker.key_secret");
    s_copy_file(dir, part, "token.key");
    SSO_CHECK(!sso_bus_keys_make(part, upgraded, false, why, sizeof why)
              && strstr(why, "missing saml.key, scim.key:"));
    SSO_CHECK(s_mode(part, "scim.key") == -1 && s_mode(part, "scim.key_secret") == -1);
    s_copy_file(dir, part, "saml.key");
    SSO_CHECK(!sso_bus_keys_make(part, upgraded, true, why, sizeof why)
              && strstr(why, "missing token.key_secret, saml.key_secret, scim.key_secret:"));
    SSO_CHECK(s_mode(part, "scim.key_secret") == -1);
    /* The gateway's part (the broker's secret, the roles' public keys): scim is added. */
    sso_bus_keys_t *up = sso_bus_keys_make(part, upgraded, false, why, sizeof why);
    SSO_CHECK(up && sso_bus_keys_can_connect(up, "scim") && !sso_bus_keys_can_connect(up, "token"));
    SSO_CHECK(s_mode(part, "scim.key") == 0600 && s_mode(part, "scim.key_secret") == 0600);
    SSO_CHECK(up && !strcmp(sso_bus_keys_role(up, zcert_public_key(token), 32), "token"));
    sso_bus_keys_destroy(&up);
    s_remove_set(part, upgraded);
    /* The whole old set (the supervisor's): scim added once, the same on every later start. */
    SSO_CHECK(mkdir(part, 0700) == 0);
    const char *const whole[] = {"broker.key", "broker.key_secret", "token.key",
                                 "token.key_secret", "saml.key", "saml.key_secret", NULL};
    for (size_t i = 0; whole[i]; i++)
        s_copy_file(dir, part, whole[i]);
    up = sso_bus_keys_make(part, upgraded, true, why, sizeof why);
    SSO_CHECK(up && sso_bus_keys_can_connect(up, "scim") && sso_bus_keys_can_connect(up, "saml"));
    snprintf(path, sizeof path, "%s/scim.key", part);
    zcert_t *scim = zcert_load(path);
    SSO_CHECK(scim && up && !strcmp(sso_bus_keys_role(up, zcert_public_key(scim), 32), "scim"));
    sso_bus_keys_destroy(&up);
    up = sso_bus_keys_make(part, upgraded, true, why, sizeof why);
    SSO_CHECK(up && scim && !strcmp(sso_bus_keys_role(up, zcert_public_key(scim), 32), "scim"));
    sso_bus_keys_destroy(&up);
    zcert_destroy(&scim);
    /* Half of an added role (its public key, not its secret) is a partial set: refused. */
    snprintf(path, sizeof path, "%s/scim.key_secret", part);
    unlink(path);
    SSO_CHECK(!sso_bus_keys_make(part, upgraded, true, why, sizeof why)
              && strstr(why, "missing scim.key_secret:"));
    SSO_CHECK(s_mode(part, "scim.key_secret") == -1);
    /* A role that is not one added later is never added: an old set lacking it is refused. */
    const char *const newer[] = {"token", "saml", "oidc", NULL};
    SSO_CHECK(!sso_bus_keys_make(part, newer, false, why, sizeof why)
              && strstr(why, "missing oidc.key:") && s_mode(part, "oidc.key") == -1);
    s_remove_set(part, upgraded);

    /* Bad arguments. */
    SSO_CHECK(!sso_bus_keys_open("", roles, why, sizeof why));
    SSO_CHECK(!sso_bus_keys_open(NULL, roles, why, sizeof why));
    const char *const bad_roles[] = {"broker", NULL};
    SSO_CHECK(!sso_bus_keys_open(dir, bad_roles, why, sizeof why) && strstr(why, "not a bus role"));
    char long_dir[300];
    memset(long_dir, 'a', sizeof long_dir - 1);
    long_dir[sizeof long_dir - 1] = '\0';
    SSO_CHECK(!sso_bus_keys_open(long_dir, roles, why, sizeof why));

    /* Processes that start together on an empty data dir all end up with one set. Threads
       stand in for them: the race is the file system's either way, and forking this
       multi-threaded process (zsys, the brokers of other self-tests) under the sanitizers is
       what once failed here instead. */
    char race[128];
    snprintf(race, sizeof race, "%s/race/bus", base);
    enum { RACERS = 4 };
    s_racer_t racers[RACERS];
    pthread_t threads[RACERS];
    bool running[RACERS];
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (s_racer_t) {.dir = race, .roles = roles};
        running[i] = pthread_create(&threads[i], NULL, s_racer, &racers[i]) == 0;
    }
    bool same = true;
    for (int i = 0; i < RACERS; i++) {
        if (running[i])
            pthread_join(threads[i], NULL);
        if (!running[i] || strlen(racers[i].broker) != 40
            || strcmp(racers[i].broker, racers[0].broker) != 0) {
            fprintf(stderr, "bus keys racer %d: %s\n", i, running[i] ? racers[i].why : "no thread");
            same = false;
        }
    }
    SSO_CHECK(same);
    DIR *left = NULL;
    snprintf(path, sizeof path, "%s/race", base);
    left = opendir(path);
    int entries = 0;
    for (struct dirent *entry; left && (entry = readdir(left));)
        entries += entry->d_name[0] != '.';
    if (left)
        closedir(left);
    SSO_CHECK(entries == 1); /* no temporary directory left behind */
    s_remove_set(race, roles);
    rmdir(path);

    /* A service that starts first waits, and has its keys as soon as the owner makes them. */
    pid_t owner = fork();
    if (owner == 0) {
        zclock_sleep(300);
        sso_bus_keys_t *made = sso_bus_keys_make(race, roles, false, why, sizeof why);
        _exit(made ? 0 : 1);
    }
    started = zclock_mono();
    sso_bus_keys_t *waited = sso_bus_keys_wait(race, roles, "token", started + 20000, why,
                                               sizeof why);
    SSO_CHECK(waited && sso_bus_keys_can_connect(waited, "token")
              && zclock_mono() - started >= 250);
    int status = 1;
    SSO_CHECK(owner > 0 && waitpid(owner, &status, 0) == owner && status == 0);
    sso_bus_keys_destroy(&waited);
    s_remove_set(race, roles);
    rmdir(path);

    zcert_destroy(&token);
    zcert_destroy(&stranger);
    sso_bus_keys_destroy(&keys);
    SSO_CHECK(keys == NULL);
    s_remove_set(dir, roles);
    snprintf(path, sizeof path, "%s/data", base);
    rmdir(path);
    SSO_CHECK(rmdir(base) == 0);
}
