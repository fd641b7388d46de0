/* dir_scim_groups: the SCIM service's groups (scim_groups, migration 0017) and their members
   (scim_group_members, rows in the order added: migration 0019) behind ScimReads and
   ScimWrites. As for users, the SCIM service owns the resource's meaning and the directory
   ids, versions, times and the membership: a member is a user (not deleted) of the same
   directory, and each member added or removed is one row and one sync event
   (group.user_added, group.user_removed), so that a change of n members costs O(n log m) in a
   group of m, never a rewrite of the whole membership. A group of another directory is
   NOT_FOUND, as one that never existed. displayName is not unique: Entra ID allows two groups
   of one name. */
#ifndef DIR_SCIM_GROUPS_H
#define DIR_SCIM_GROUPS_H
#include "dir_rpc.h"

#define DIR_SCIM_GROUP_MEMBERS_MAX 50000 /* members of one group (and ids in one write) */
#define DIR_SCIM_GROUP_PAGE_WITH_MEMBERS 50 /* groups of a list page that carries members */

DIR_RPC_FN(dir_scim_groups_get, Sso__ScimGroupGetRequest, Sso__ScimGroupReply);
DIR_RPC_FN(dir_scim_groups_list, Sso__ScimGroupListRequest, Sso__ScimGroupListReply);
DIR_RPC_FN(dir_scim_groups_create, Sso__ScimGroupWrite, Sso__ScimGroupReply);
DIR_RPC_FN(dir_scim_groups_update, Sso__ScimGroupWrite, Sso__ScimGroupReply);
DIR_RPC_FN(dir_scim_groups_delete, Sso__ScimGroupDeleteRequest, Sso__ScimGroupReply);

/* Inside the write that deletes user_id: the user leaves every group it was a member of, each
   group's version moving on, with a group.user_removed event (and webhook) each. 0, or -1. */
int dir_scim_groups_user_deleted(dir_t *dir, const char *directory_id, const char *user_id,
                                 int64_t now);

void dir_scim_groups_test(bool verbose);
#endif
