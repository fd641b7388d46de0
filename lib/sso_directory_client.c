#include "sso_directory_client.h"
#include "sso_log.h"

int sso_directory_call(sso_service_t *service, const char *rpc, bool idempotent,
                       const Sso__DirRequest *request, Sso__DirReply **reply_p)
{
    *reply_p = NULL;
    zframe_t *reply = NULL;
    sso_call_status_t status = sso_service_call(service, "directory", rpc, idempotent,
                                                &request->base, &reply);
    if (status != SSO_CALL_OK)
        return (int) status;
    *reply_p = sso__dir_reply__unpack(NULL, zframe_size(reply), zframe_data(reply));
    zframe_destroy(&reply);
    if (!*reply_p) {
        sso_warn("directory reply to %s does not unpack", rpc);
        return 502;
    }
    return 0;
}
