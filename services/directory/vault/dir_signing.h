/* dir_signing: the token service's signing keys, private halves sealed at rest under the AAD
   "signing_key:<kid>". */
#ifndef DIR_SIGNING_H
#define DIR_SIGNING_H
#include "api/dir_json.h"
#include "dir.h"
#include "directory.pb-c.h"

/* The keys still published (retire_after unset or in the future), newest first. With
   with_private, each carries its decrypted private key PEM; a key that does not decrypt is
   skipped and logged. Returns a malloc'd reply (free with
   sso__keys_list_reply__free_unpacked(reply, NULL)) or NULL. */
Sso__KeysListReply *dir_signing_list(dir_t *dir, bool with_private);

/* Stores key (sealing its private PEM). With only_if_none, stores it only when the table is
   empty, atomically; the existing keys win otherwise.
   Rotation: a key sent under a kid that exists updates only that key's retire_after (0 = keep
   publishing; otherwise keys_list stops listing it after that time). Its private_key_pem and
   public_jwk_json may be left empty; when sent they must be the stored ones ("a different
   signing key with kid ... exists" otherwise), so a retried put of a new key is a no-op. The
   token service stores the new key with active_from in the future, then sends the previous
   key's kid with retire_after = the new key's active_from + the longest token lifetime.
   0, or -1 with err. */
int dir_signing_put(dir_t *dir, const Sso__SigningKey *key, bool only_if_none, dir_error_t *err);

void dir_signing_test(bool verbose);
#endif
