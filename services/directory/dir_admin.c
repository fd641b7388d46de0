/* dir_admin: bootstrap admin client and its credentials file. */
#include "dir_admin.h"
#include "api/dir_json.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_ADMIN_ID_MAX 128
#define DIR_ADMIN_SECRET_MIN 16
#define DIR_ADMIN_SECRET_MAX 512

int dir_admin_write_file(const char *data_dir, const char *name, const char *text, char *why,
                         size_t why_size)
{
    char path[1100], tmp[1200];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, why_size, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    ssize_t len = (ssize_t) strlen(text);
    bool ok = write(fd, text, (size_t) len) == len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(why, why_size, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The credentials file: two lines, written whole (dir_admin_write_file). */
static int s_write_credentials(const char *data_dir, const char *id, const char *secret,
                               char *why, size_t why_size)
{
    char text[DIR_ADMIN_ID_MAX + DIR_ADMIN_SECRET_MAX + 64];
    int len = snprintf(text, sizeof text, "SSO_ADMIN_CLIENT_ID=%s\nSSO_ADMIN_CLIENT_SECRET=%s\n",
                       id, secret);
    int rc = len > 0 && (size_t) len < sizeof text
                 ? dir_admin_write_file(data_dir, DIR_ADMIN_FILE, text, why, why_size)
                 : -1;
    OPENSSL_cleanse(text, sizeof text);
    if (rc != 0 && !*why)
        snprintf(why, why_size, "cannot write the admin credentials");
    return rc;
}

static bool s_printable(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

/* Environment-given credentials: this exact client is the admin; any other bootstrap admin
   left from an earlier id is removed so a changed id really revokes the old one. */
static int s_from_env(dir_t *dir, const char *id, const char *secret, char *why,
                      size_t why_size)
{
    if (strlen(id) > DIR_ADMIN_ID_MAX || !s_printable(id)) {
        snprintf(why, why_size, "SSO_ADMIN_CLIENT_ID must be 1 to %d printable characters "
                                "without spaces", DIR_ADMIN_ID_MAX);
        return -1;
    }
    if (strlen(secret) < DIR_ADMIN_SECRET_MIN || strlen(secret) > DIR_ADMIN_SECRET_MAX
        || !s_printable(secret)) {
        snprintf(why, why_size, "SSO_ADMIN_CLIENT_SECRET must be %d to %d printable "
                                "characters without spaces", DIR_ADMIN_SECRET_MIN,
                 DIR_ADMIN_SECRET_MAX);
        return -1;
    }
    /* Directories starting together take turns: each reads what the one before wrote. */
    if (dir_db_begin(dir->db) != 0 || dir_db_lock(dir->db, "bootstrap") != 0)
        goto fail;
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT secret_hash, is_admin FROM clients "
                                                "WHERE id = ?", "s", id);
    if (!stmt)
        goto fail;
    int step = dir_db_step(stmt);
    bool exists = step == DIR_DB_ROW;
    bool same = exists && sso_secret_verify(secret, dir_db_text(stmt, 0));
    bool admin = exists && dir_db_int64(stmt, 1);
    dir_db_release(stmt);
    if (step != DIR_DB_ROW && step != DIR_DB_DONE)
        goto fail;
    int64_t now = dir_now();
    if (!exists || !same) {
        char *hash = sso_secret_hash(secret);
        int rc = hash ? dir_db_run(dir->db, NULL,
                                   exists ? "UPDATE clients SET secret_hash = ?2, is_admin = 1, "
                                            "updated_at = ?3 WHERE id = ?1"
                                          : "INSERT INTO clients (id, secret_hash, is_admin, "
                                            "name, created_at, updated_at) VALUES (?1, ?2, 1, "
                                            "'Management (bootstrap)', ?3, ?3)",
                                   "ssi", id, hash, now)
                      : DIR_DB_ERROR;
        free(hash);
        if (rc != DIR_DB_OK)
            goto fail;
        if (exists)
            sso_info("admin client %s: secret changed in the environment; updated", id);
    }
    else if (!admin && dir_db_run(dir->db, NULL, "UPDATE clients SET is_admin = 1 WHERE id = ?",
                                  "s", id) != DIR_DB_OK)
        goto fail;
    int removed = 0;
    if (dir_db_run(dir->db, &removed, "DELETE FROM clients WHERE is_admin = 1 AND id <> ?", "s",
                   id) != DIR_DB_OK)
        goto fail;
    if (removed)
        sso_info("removed %d earlier admin client(s): SSO_ADMIN_CLIENT_ID names another", removed);
    if (dir_db_commit(dir->db) != 0)
        goto fail;
    return s_write_credentials(dir->data_dir, id, secret, why, why_size);
fail:
    dir_db_rollback(dir->db);
    if (!*why)
        snprintf(why, why_size, "cannot store the admin client (see the log above)");
    return -1;
}

/* No environment: generate on first start. The file is written while the write lock is
   held, so a second instance starting at the same time sees both the row and the file. */
static int s_generated(dir_t *dir, char *why, size_t why_size)
{
    if (dir_db_begin(dir->db) != 0 || dir_db_lock(dir->db, "bootstrap") != 0) {
        dir_db_rollback(dir->db);
        snprintf(why, why_size, "cannot lock the database");
        return -1;
    }
    int64_t admins = dir_db_int(dir->db, "SELECT count(*) FROM clients WHERE is_admin = 1", NULL);
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir->data_dir, DIR_ADMIN_FILE);
    bool have_file = access(path, F_OK) == 0;
    if (admins < 0) {
        dir_db_rollback(dir->db);
        snprintf(why, why_size, "cannot read the clients table");
        return -1;
    }
    if (admins > 0 && have_file) {
        dir_db_rollback(dir->db);
        return 0;
    }
    /* No admin yet, or the file that holds its secret was lost (only a hash is stored):
       issue a fresh one so the operator is never locked out. */
    char *id = sso_random_id("cli_", 10);
    char *secret = sso_random_token(32);
    char *hash = secret ? sso_secret_hash(secret) : NULL;
    int64_t now = dir_now();
    int rc = -1;
    if (id && hash
        && dir_db_run(dir->db, NULL, "DELETE FROM clients WHERE is_admin = 1", NULL) == DIR_DB_OK
        && dir_db_run(dir->db, NULL, "INSERT INTO clients (id, secret_hash, is_admin, name, "
                                     "created_at, updated_at) VALUES (?, ?, 1, "
                                     "'Management (bootstrap)', ?, ?)",
                      "ssii", id, hash, now, now) == DIR_DB_OK
        && s_write_credentials(dir->data_dir, id, secret, why, why_size) == 0
        && dir_db_commit(dir->db) == 0)
        rc = 0;
    if (rc == 0)
        sso_info("%s the admin client %s; credentials in %s", admins ? "replaced" : "generated",
                 id, path);
    else {
        dir_db_rollback(dir->db);
        if (!*why)
            snprintf(why, why_size, "cannot create the admin client");
    }
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
    free(hash);
    free(id);
    return rc;
}

int dir_admin_bootstrap(dir_t *dir, const char *env_id, const char *env_secret, char *why,
                        size_t why_size)
{
    *why = '\0';
    bool have_id = env_id && *env_id, have_secret = env_secret && *env_secret;
    if (have_id != have_secret) {
        snprintf(why, why_size, "set both SSO_ADMIN_CLIENT_ID and SSO_ADMIN_CLIENT_SECRET, or "
                                "neither");
        return -1;
    }
    return have_id ? s_from_env(dir, env_id, env_secret, why, why_size)
                   : s_generated(dir, why, why_size);
}

/* Reads the credentials file into id/secret; 0 when it has exactly the two lines. */
static int s_read_credentials(const char *data_dir, char *id, char *secret, size_t size)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", data_dir, DIR_ADMIN_FILE);
    FILE *file = fopen(path, "r");
    if (!file)
        return -1;
    char line1[700] = "", line2[700] = "", extra[8] = "";
    bool ok = fgets(line1, sizeof line1, file) && fgets(line2, sizeof line2, file)
              && !fgets(extra, sizeof extra, file);
    fclose(file);
    line1[strcspn(line1, "\n")] = '\0';
    line2[strcspn(line2, "\n")] = '\0';
    if (!ok || strncmp(line1, "SSO_ADMIN_CLIENT_ID=", 20) != 0
        || strncmp(line2, "SSO_ADMIN_CLIENT_SECRET=", 24) != 0)
        return -1;
    snprintf(id, size, "%s", line1 + 20);
    snprintf(secret, size, "%s", line2 + 24);
    return 0;
}

static bool s_verifies(dir_t *dir, const char *id, const char *secret)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT secret_hash FROM clients WHERE id = ? "
                                                "AND is_admin = 1", "s", id);
    bool ok = stmt && dir_db_step(stmt) == DIR_DB_ROW
              && sso_secret_verify(secret, dir_db_text(stmt, 0));
    dir_db_release(stmt);
    return ok;
}

void dir_admin_test(bool verbose)
{
    (void) verbose;
    dir_testkit_t kit;
    unsetenv("SSO_ADMIN_CLIENT_ID");
    unsetenv("SSO_ADMIN_CLIENT_SECRET");
    if (dir_testkit_open(&kit) != 0)
        return;
    char why[256], id[700], secret[700], id2[700], secret2[700];
    /* Generated on first start, file 0600 with exactly two lines. */
    SSO_CHECK(s_read_credentials(kit.data_dir, id, secret, sizeof id) == 0);
    SSO_CHECK(strncmp(id, "cli_", 4) == 0 && strlen(secret) >= 32);
    SSO_CHECK(s_verifies(kit.dir, id, secret));
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", kit.data_dir, DIR_ADMIN_FILE);
    struct stat st;
    SSO_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* Restart: the same admin, file untouched. */
    SSO_CHECK(dir_admin_bootstrap(kit.dir, NULL, NULL, why, sizeof why) == 0);
    SSO_CHECK(s_read_credentials(kit.data_dir, id2, secret2, sizeof id2) == 0
              && !strcmp(id, id2) && !strcmp(secret, secret2));
    /* Lost file: a new admin replaces the old one. */
    unlink(path);
    SSO_CHECK(dir_admin_bootstrap(kit.dir, NULL, NULL, why, sizeof why) == 0);
    SSO_CHECK(s_read_credentials(kit.data_dir, id2, secret2, sizeof id2) == 0 && strcmp(id, id2));
    SSO_CHECK(!s_verifies(kit.dir, id, secret) && s_verifies(kit.dir, id2, secret2));

    /* Environment: exactly that id and secret; a changed secret is re-hashed; the earlier
       generated admin is gone. */
    SSO_CHECK(dir_admin_bootstrap(kit.dir, "ops-admin", "first-secret-0123456789", why,
                                  sizeof why) == 0);
    SSO_CHECK(s_verifies(kit.dir, "ops-admin", "first-secret-0123456789"));
    SSO_CHECK(!s_verifies(kit.dir, id2, secret2));
    SSO_CHECK(dir_admin_bootstrap(kit.dir, "ops-admin", "second-secret-0123456789", why,
                                  sizeof why) == 0);
    SSO_CHECK(s_verifies(kit.dir, "ops-admin", "second-secret-0123456789"));
    SSO_CHECK(!s_verifies(kit.dir, "ops-admin", "first-secret-0123456789"));
    SSO_CHECK(s_read_credentials(kit.data_dir, id2, secret2, sizeof id2) == 0
              && !strcmp(id2, "ops-admin") && !strcmp(secret2, "second-secret-0123456789"));
    SSO_CHECK(dir_db_int(kit.dir->db, "SELECT count(*) FROM clients WHERE is_admin = 1", NULL)
              == 1);

    /* Half-set or malformed environment is a startup error. */
    SSO_CHECK(dir_admin_bootstrap(kit.dir, "ops-admin", "", why, sizeof why) == -1
              && strstr(why, "both"));
    SSO_CHECK(dir_admin_bootstrap(kit.dir, "ops admin", "second-secret-0123456789", why,
                                  sizeof why) == -1);
    SSO_CHECK(dir_admin_bootstrap(kit.dir, "ops-admin", "short", why, sizeof why) == -1);
    dir_testkit_close(&kit);
}
