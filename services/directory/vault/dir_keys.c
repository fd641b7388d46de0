/* dir_keys: master key loading/generation and row-bound sealing. */
#include "vault/dir_keys.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_KEY_FILE "master.key"
#define DIR_KEY_FILE_MAX 256

struct dir_keys_t {
    uint8_t key[32];
};

/* Decodes base64 text (surrounding whitespace allowed) into exactly 32 bytes. */
static int s_decode(const char *text, uint8_t key[32])
{
    char trimmed[DIR_KEY_FILE_MAX];
    while (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\n' || text[len - 1] == '\r'
                   || text[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof trimmed)
        return -1;
    memcpy(trimmed, text, len);
    trimmed[len] = '\0';
    size_t out_len = 0;
    uint8_t *raw = sso_base64_decode(trimmed, &out_len, false);
    int rc = raw && out_len == 32 ? 0 : -1;
    if (rc == 0)
        memcpy(key, raw, 32);
    if (raw) {
        OPENSSL_cleanse(raw, out_len);
        free(raw);
    }
    OPENSSL_cleanse(trimmed, sizeof trimmed);
    return rc;
}

static int s_read_file(const char *path, uint8_t key[32], char *why, size_t why_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char text[DIR_KEY_FILE_MAX];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n < 0 || n >= (ssize_t) sizeof text - 1) {
        snprintf(why, why_size, "%s is not a master key file", path);
        return -1;
    }
    text[n] = '\0';
    int rc = s_decode(text, key);
    OPENSSL_cleanse(text, sizeof text);
    if (rc != 0)
        snprintf(why, why_size, "%s does not hold base64 of exactly 32 bytes", path);
    return rc;
}

/* Generates a key into path without ever exposing a partial file: write a temp file, then
   link() it into place, which fails if another instance got there first (we then use its). */
static int s_generate(const char *path, uint8_t key[32], char *why, size_t why_size)
{
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid());
    if (sso_random_bytes(key, 32) != 0) {
        snprintf(why, why_size, "no randomness for the master key");
        return -1;
    }
    char *text = sso_base64_encode(key, 32);
    int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    bool written = false;
    if (fd >= 0) {
        size_t len = strlen(text);
        written = write(fd, text, len) == (ssize_t) len && write(fd, "\n", 1) == 1
                  && fsync(fd) == 0;
        close(fd);
    }
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    if (!written) {
        snprintf(why, why_size, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    int rc = link(tmp, path);
    int saved = errno;
    unlink(tmp);
    if (rc == 0) {
        sso_info("generated a master key in %s; keep it safe: it decrypts stored secrets", path);
        return 0;
    }
    if (saved == EEXIST)
        return s_read_file(path, key, why, why_size);
    snprintf(why, why_size, "cannot create %s: %s", path, strerror(saved));
    return -1;
}

dir_keys_t *dir_keys_new(const char *env_value, const char *data_dir, char *why,
                         size_t why_size)
{
    dir_keys_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    int rc;
    if (env_value && *env_value) {
        rc = s_decode(env_value, self->key);
        if (rc != 0)
            snprintf(why, why_size, "SSO_MASTER_KEY must be base64 of exactly 32 bytes "
                                    "(for example: openssl rand -base64 32)");
    }
    else {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", data_dir, DIR_KEY_FILE);
        struct stat st;
        if (lstat(path, &st) == 0)
            rc = s_read_file(path, self->key, why, why_size);
        else if (errno == ENOENT)
            rc = s_generate(path, self->key, why, why_size);
        else {
            snprintf(why, why_size, "cannot stat %s: %s", path, strerror(errno));
            rc = -1;
        }
        if (rc == 0 && lstat(path, &st) == 0 && (st.st_mode & 077))
            sso_warn("%s is readable by others (mode %o); chmod 600 it", path,
                     (unsigned) (st.st_mode & 0777));
    }
    if (rc != 0)
        dir_keys_destroy(&self);
    return self;
}

void dir_keys_destroy(dir_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    OPENSSL_cleanse((*self_p)->key, sizeof (*self_p)->key);
    free(*self_p);
    *self_p = NULL;
}

int dir_keys_seal(dir_keys_t *self, const void *plain, size_t len, const char *aad,
                  uint8_t **sealed, size_t *sealed_len)
{
    return sso_seal(self->key, plain, len, aad, sealed, sealed_len);
}

char *dir_keys_open(dir_keys_t *self, const void *sealed, size_t sealed_len, const char *aad,
                    size_t *len)
{
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    if (!sealed || sso_open(self->key, sealed, sealed_len, aad, &plain, &plain_len) != 0)
        return NULL;
    if (len)
        *len = plain_len;
    return (char *) plain;
}

void dir_keys_test(bool verbose)
{
    (void) verbose;
    char dir[] = "/tmp/dir-keys-test-XXXXXX";
    SSO_CHECK(mkdtemp(dir) != NULL);
    char why[256] = "", path[128];
    snprintf(path, sizeof path, "%s/master.key", dir);

    /* Environment values: exactly 32 bytes of base64, nothing else. */
    dir_keys_t *keys = dir_keys_new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", dir, why,
                                    sizeof why);
    SSO_CHECK(keys != NULL);
    dir_keys_destroy(&keys);
    SSO_CHECK(keys == NULL);
    SSO_CHECK(dir_keys_new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", dir, why, sizeof why)
              == NULL && strstr(why, "SSO_MASTER_KEY"));
    SSO_CHECK(dir_keys_new("not base64!", dir, why, sizeof why) == NULL);
    SSO_CHECK(access(path, F_OK) != 0); /* an env key never writes a file */

    /* Generated once, 0600, then reused. */
    keys = dir_keys_new(NULL, dir, why, sizeof why);
    SSO_CHECK(keys != NULL);
    struct stat st;
    SSO_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    SSO_CHECK(keys && dir_keys_seal(keys, "secret", 6, "signing_key:k1", &sealed, &sealed_len)
                          == 0);
    dir_keys_destroy(&keys);
    keys = dir_keys_new("", dir, why, sizeof why);
    size_t len = 0;
    char *plain = keys ? dir_keys_open(keys, sealed, sealed_len, "signing_key:k1", &len) : NULL;
    SSO_CHECK(plain && len == 6 && strcmp(plain, "secret") == 0);
    free(plain);
    /* Bound to its row. */
    SSO_CHECK(keys && dir_keys_open(keys, sealed, sealed_len, "signing_key:k2", &len) == NULL);
    dir_keys_destroy(&keys);
    free(sealed);

    /* A corrupt key file is a startup error, not a silent new key. */
    FILE *file = fopen(path, "w");
    if (file) {
        fputs("short\n", file);
        fclose(file);
    }
    SSO_CHECK(dir_keys_new(NULL, dir, why, sizeof why) == NULL && strstr(why, "32 bytes"));
    unlink(path);
    rmdir(dir);
}
