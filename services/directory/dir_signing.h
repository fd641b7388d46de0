/* dir_signing: the token service's signing keys, private halves sealed at rest under the AAD
   "signing_key:<kid>". */
#ifndef DIR_SIGNING_H
#define DIR_SIGNING_H
#include "dir_json.h"
#include "dir_service.h"
#include "directory.pb-c.h"

/* The keys still published (retire_after unset or in the future), newest first. With
   with_private, each carries its decrypted private key PEM; a key that does not decrypt is
   skipped and logged. Returns a malloc'd reply (free with
   sso__keys_list_reply__free_unpacked(reply, NULL)) or NULL. */
Sso__KeysListReply *dir_signing_list(dir_t *dir, bool with_private);

/* Stores key (sealing its private PEM). With only_if_none, stores it only when the table is
   empty, atomically; the existing keys win otherwise. 0, or -1 with err. */
int dir_signing_put(dir_t *dir, const Sso__SigningKey *key, bool only_if_none, dir_error_t *err);

void dir_signing_test(bool verbose);
#endif
