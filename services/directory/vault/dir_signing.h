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

/* A rotation (POST /api/v1/keys/rotate, the dashboard's, and TokenWrites.KeyRotate for the
   token service's route): a new RS256 key, published now and signing from now +
   SSO_KEY_ROTATION_DELAY_S, stored in one write that retires every key made before it at the
   new key's signs_from + SSO_JOSE_TOKEN_LIFETIME_S (one retiring sooner keeps its time). With
   no key published, the new one signs at once. Made a second after the newest key when that
   one was made this second, so it is the newest by every instance's order. 0
   with the new kid in *kid_p (caller frees) and when it signs from, or -1 with err. */
int dir_signing_rotate(dir_t *dir, char **kid_p, int64_t *signs_from_p, dir_error_t *err);

/* The published keys, newest first, as the management API shows them (GET /api/v1/keys):
   kid, alg, created_at, signs_from, published_until (null while not retiring) and state:
   "next" (published, signs from signs_from), "signing" (the one every token instance signs
   with now, as token_keys_signing picks it), "previous" (published, no longer signs). Never a
   private part. New reference, or NULL when the keys cannot be read. */
json_t *dir_signing_states(dir_t *dir);

void dir_signing_test(bool verbose);
#endif
