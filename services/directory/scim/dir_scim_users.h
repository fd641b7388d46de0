/* dir_scim_users: the SCIM service's users (scim_users, migration 0017) behind ScimReads and
   ScimWrites. The SCIM service owns the resource's meaning (it checks the JSON and derives the
   indexed columns); the directory owns ids, versions and times, keeps userName unique per
   directory (case-insensitively, among users not deleted) in the write itself, and appends a
   sync event (scim_events: user.created, user.updated, user.deleted) in the same transaction
   as each change. A user of another directory is NOT_FOUND, as one that never existed. */
#ifndef DIR_SCIM_USERS_H
#define DIR_SCIM_USERS_H
#include "dir_rpc.h"

/* Caps on what a write may store: userName and the other indexed texts, the resource. */
#define DIR_SCIM_TEXT_MAX 4096
#define DIR_SCIM_RESOURCE_MAX (256 * 1024)
#define DIR_SCIM_LIST_MAX 500

DIR_RPC_FN(dir_scim_users_get, Sso__ScimUserGetRequest, Sso__ScimUserReply);
DIR_RPC_FN(dir_scim_users_list, Sso__ScimUserListRequest, Sso__ScimUserListReply);
DIR_RPC_FN(dir_scim_users_create, Sso__ScimUserWrite, Sso__ScimUserReply);
DIR_RPC_FN(dir_scim_users_replace, Sso__ScimUserWrite, Sso__ScimUserReply);
DIR_RPC_FN(dir_scim_users_delete, Sso__ScimUserDeleteRequest, Sso__ScimUserReply);

/* What a login learns from its organization's SCIM directories about the person with email
   (issue 22): whether a directory provisioned them (not deleted), whether it marks them
   active, their SCIM id and directory, and the names of the groups (not deleted) they are a
   member of, at most DIR_SCIM_LOGIN_GROUPS_MAX. */
#define DIR_SCIM_LOGIN_GROUPS_MAX 128
typedef struct {
    bool found;
    bool active;
    char id[128];
    char directory_id[128];
    char *groups[DIR_SCIM_LOGIN_GROUPS_MAX];
    size_t n_groups;
} dir_scim_login_t;

/* Looks email up (lower-cased, as stored) in organization_id's directories into out (zeroed
   first; dir_scim_users_login_clear frees it). 0, or -1 when the database fails. */
int dir_scim_users_login(dir_t *dir, const char *organization_id, const char *email,
                         dir_scim_login_t *out);
void dir_scim_users_login_clear(dir_scim_login_t *out);

void dir_scim_users_test(bool verbose);
#endif
