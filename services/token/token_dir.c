#include "token_dir.h"
#include "sso_clients.h"
#include "sso_http.h"
#include "sso_test.h"

zframe_t *token_dir_unavailable(int status)
{
    return sso_http_error(status == 504 ? 504 : 503, "temporarily_unavailable",
                          "the directory service is not available; try again shortly");
}

void token_dir_start_failed(sso_service_t *service, const Sso__Connection *conn,
                            const char *client_id, const char *txn_id, const char *step,
                            const char *description)
{
    Sso__Event event = SSO__EVENT__INIT;
    char reason[400];
    snprintf(reason, sizeof reason, "%s: the upstream login could not be started: %.300s", step,
             *description ? description : "no reason given");
    event.organization_id = conn->organization_id;
    event.connection_id = conn->id;
    event.client_id = (char *) client_id;
    event.outcome = "failure";
    event.reason = reason;
    event.txn_id = (char *) txn_id;
    Sso__EventReply *reply = NULL;
    if (sso_dir_event_record(service, &event, &reply) == 0)
        sso__event_reply__free_unpacked(reply, NULL);
}

void token_dir_test(bool verbose)
{
    (void) verbose;
    const int statuses[][2] = {{504, 504}, {503, 503}, {502, 503}, {400, 503}};
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        zframe_t *frame = token_dir_unavailable(statuses[i][0]);
        Sso__HttpResponse *response =
            frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame))
                  : NULL;
        SSO_CHECK(response && response->status == (uint32_t) statuses[i][1]
                  && response->body.len && strstr((const char *) response->body.data,
                                                  "temporarily_unavailable"));
        if (response)
            sso__http_response__free_unpacked(response, NULL);
        zframe_destroy(&frame);
    }
}
