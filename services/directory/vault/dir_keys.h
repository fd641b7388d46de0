/* dir_keys: the master key that seals secrets at rest, and sealing with an AAD that names the
   row, so a sealed value copied to another row (or column) does not open. The key comes from
   SSO_MASTER_KEY (base64 of exactly 32 bytes) or is generated once into
   <data dir>/master.key (0600) and reused. */
#ifndef DIR_KEYS_H
#define DIR_KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dir_keys_t dir_keys_t;

/* env_value: SSO_MASTER_KEY or NULL/"" to use the key file in data_dir. NULL with a message
   in why when the value is malformed or the file cannot be read or written. */
dir_keys_t *dir_keys_new(const char *env_value, const char *data_dir, char *why,
                         size_t why_size);
void dir_keys_destroy(dir_keys_t **self_p);

/* Seals plain (len bytes) for the place named by aad; 0 or -1. Caller frees *sealed. */
int dir_keys_seal(dir_keys_t *self, const void *plain, size_t len, const char *aad,
                  uint8_t **sealed, size_t *sealed_len);
/* Opens a sealed value; returns a NUL-terminated malloc'd copy (caller frees) or NULL when
   it does not authenticate for aad. */
char *dir_keys_open(dir_keys_t *self, const void *sealed, size_t sealed_len, const char *aad,
                    size_t *len);

void dir_keys_test(bool verbose);
#endif
