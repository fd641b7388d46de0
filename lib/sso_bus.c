#include "sso_bus.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <sys/time.h>

zframe_t *sso_frame_pack(const ProtobufCMessage *message)
{
    size_t size = protobuf_c_message_get_packed_size(message);
    zframe_t *frame = zframe_new(NULL, size);
    if (frame)
        protobuf_c_message_pack(message, zframe_data(frame));
    return frame;
}

Sso__Meta *sso_meta_unpack(zframe_t *frame)
{
    if (!frame)
        return NULL;
    Sso__Meta *meta = sso__meta__unpack(NULL, zframe_size(frame), zframe_data(frame));
    if (!meta)
        sso_warn("bus: dropped a body whose meta frame does not unpack (%zu bytes)",
                 zframe_size(frame));
    return meta;
}

int64_t sso_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

char *sso_request_id_new(void)
{
    uint8_t raw[8];
    char *id = malloc(17);
    if (!id || sso_random_bytes(raw, sizeof raw) != 0) {
        free(id);
        return NULL;
    }
    for (int i = 0; i < 8; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return id;
}

bool sso_service_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > SSO_SERVICE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool sso_frame_is_command(zframe_t *frame, uint8_t *command)
{
    if (!frame || zframe_size(frame) != 1)
        return false;
    *command = zframe_data(frame)[0];
    return true;
}

int sso_bus_dealer_connect(zsock_t **socket_p, const char *endpoint)
{
    zsock_destroy(socket_p);
    *socket_p = zsock_new(ZMQ_DEALER);
    assert(*socket_p);
    zsock_set_linger(*socket_p, 0);
    zsock_set_maxmsgsize(*socket_p, SSO_BUS_MAX_FRAME);
    return zsock_connect(*socket_p, "%s", endpoint) == 0 ? 0 : -1;
}

void sso_bus_test(bool verbose)
{
    (void) verbose;
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = "abc";
    meta.deadline_ms = 1234;
    meta.idempotent = true;
    zframe_t *frame = sso_frame_pack(&meta.base);
    SSO_CHECK(frame);
    Sso__Meta *back = sso_meta_unpack(frame);
    SSO_CHECK(back && strcmp(back->request_id, "abc") == 0 && back->deadline_ms == 1234
              && back->idempotent);
    sso__meta__free_unpacked(back, NULL);
    zframe_destroy(&frame);
    zframe_t *junk = zframe_new("\xff\xff\xff\xff\xff", 5);
    SSO_CHECK(sso_meta_unpack(junk) == NULL);
    zframe_destroy(&junk);
    SSO_CHECK(sso_service_name_valid("token", 5));
    SSO_CHECK(!sso_service_name_valid("To ken", 6));
    SSO_CHECK(!sso_service_name_valid("", 0));
    char *id = sso_request_id_new();
    SSO_CHECK(id && strlen(id) == 16);
    free(id);
    SSO_CHECK(sso_now_ms() > 1600000000000LL);
    /* A reconnect replaces the socket; a malformed endpoint is refused but leaves one. */
    zsock_t *dealer = NULL;
    SSO_CHECK(sso_bus_dealer_connect(&dealer, "inproc://sso-bus-test") == 0 && dealer);
    SSO_CHECK(sso_bus_dealer_connect(&dealer, "no-such-transport") == -1 && dealer);
    zsock_destroy(&dealer);
}
