/* dir_scim_retention: a deleted SCIM user or group is marked (deleted_at), not lost, until
   SSO_SCIM_RETENTION_DAYS pass; then the directory's housekeeping purges it, with its
   memberships (the foreign keys cascade). Sync events go after SSO_EVENT_RETENTION_DAYS, as
   login events do. */
#ifndef DIR_SCIM_RETENTION_H
#define DIR_SCIM_RETENTION_H
#include "dir.h"

/* Purges at most limit of each: users and groups deleted before deleted_cutoff, and sync
   events before events_cutoff (Unix seconds). The largest of the three counts (limit: more
   may be due), or -1 when the database failed. */
int dir_scim_retention_prune(dir_t *dir, int64_t deleted_cutoff, int64_t events_cutoff,
                             int limit);

void dir_scim_retention_test(bool verbose);
#endif
