/* dir_scim_sync: what every SCIM write of the directory appends in its own transaction: the
   sync event (scim_events, listed by /api/v1/directories/{id}/events) and, when the app
   subscribes, the webhook (directory.<type>, lib's Standard Webhooks via dir_webhooks). Users
   (dir_scim_users) and groups (dir_scim_groups) share it, and the checks of the ids every
   operation names. */
#ifndef DIR_SCIM_SYNC_H
#define DIR_SCIM_SYNC_H
#include "dir_rpc.h"

/* directory_id (and id, when not NULL) as text of 1 to 64 bytes; 0, or -1 with err. */
int dir_scim_ids(const char *directory_id, const char *id, dir_error_t *err);

/* The organization of directory_id into org (size bytes); 0, or -1 (database, or none). */
int dir_scim_sync_org(dir_t *dir, const char *directory_id, char *org, size_t size);

/* Appends the sync event type ("user.created", "group.user_added"...) of resource_type
   ("User" or "Group") resource_id at now, detail a JSON object (borrowed) or NULL. 0, or -1. */
int dir_scim_sync_event(dir_t *dir, const char *directory_id, const char *type,
                        const char *resource_type, const char *resource_id, int64_t now,
                        const json_t *detail);

/* Whether an app subscribes to the webhook of type (directory.<type>): 1, 0, or -1. A
   producer whose data costs work asks first. */
int dir_scim_sync_wanted(dir_t *dir, const char *type);

/* The webhook directory.<type> for org's stream: data {directory_id, organization_id} and
   fields' members (borrowed). 0, or -1. */
int dir_scim_sync_webhook(dir_t *dir, const char *directory_id, const char *org,
                          const char *type, const json_t *fields);
/* The same for each fields object of fields_list (an array, borrowed), in its order, in a
   constant number of statements (dir_webhooks_emit_many): a group's 10,000 members added. */
int dir_scim_sync_webhooks(dir_t *dir, const char *directory_id, const char *org,
                           const char *type, const json_t *fields_list);

/* A change to a user or a group itself: its sync event (detail borrowed) and, when the app
   listens, its webhook with {<key>: detail, its id, and the stored resource (resource_json;
   NULL for a deletion) as "attributes"}, parsed only then, not on every write of a
   provisioning burst. key: "user" (resource type User) or "group" (Group). 0, or -1. */
int dir_scim_sync_change(dir_t *dir, const char *directory_id, const char *type,
                         const char *key, const char *id, int64_t now, const json_t *detail,
                         const char *resource_json);

void dir_scim_sync_test(bool verbose);
#endif
