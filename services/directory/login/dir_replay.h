/* dir_replay: the replay cache of SAML assertion ids, per connection. An id is remembered
   until its assertion expires (at least DIR_REPLAY_MIN_KEEP seconds, to cover clock skew); a
   second sight while remembered is error "replayed". */
#ifndef DIR_REPLAY_H
#define DIR_REPLAY_H
#include "dir_rpc.h"

#define DIR_REPLAY_MIN_KEEP 300
#define DIR_REPLAY_MAX_KEEP (7 * 86400)

/* Checks and records r inside the caller's write transaction: 0, or -1 with err ("replayed",
   "invalid_request" or a server error). */
int dir_replay_note(dir_t *dir, const Sso__ReplayRecord *r, dir_error_t *err);

void dir_replay_test(bool verbose);
#endif
