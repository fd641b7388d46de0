/* dir_rpc: the operations' shared checks, copies and error frames. */
#include "dir_rpc.h"
#include "sso_bus.h"
#include "sso_rpc.h"
#include "sso_test.h"

bool dir_rpc_text(const char *text, size_t min_len, size_t max_len)
{
    if (!text)
        return min_len == 0;
    size_t len = strlen(text);
    if (len < min_len || len > max_len)
        return false;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

const char *dir_rpc_or_null(const char *text)
{
    return text && *text ? text : NULL;
}

char *dir_rpc_dup(const char *text)
{
    return strdup(text ? text : "");
}

char **dir_rpc_strings(const json_t *array, size_t *n_out)
{
    *n_out = 0;
    size_t size = json_array_size(array);
    char **strings = size ? calloc(size, sizeof *strings) : NULL;
    for (size_t i = 0; strings && i < size; i++) {
        const char *text = json_string_value(json_array_get(array, i));
        if (text)
            strings[(*n_out)++] = dir_rpc_dup(text);
    }
    return strings;
}

zframe_t *dir_rpc_error_frame(const ProtobufCMessageDescriptor *desc, const dir_error_t *err)
{
    return sso_rpc_error_frame(desc, sso_rpc_error_of(err->code ? err->code : "server_error"),
                               *err->description ? err->description : "internal error",
                               err->retry_after);
}

static Sso__CodeRedeemReply *s_unpack(zframe_t **frame)
{
    Sso__CodeRedeemReply *reply =
        *frame ? sso__code_redeem_reply__unpack(NULL, zframe_size(*frame), zframe_data(*frame))
               : NULL;
    zframe_destroy(frame);
    return reply;
}

void dir_rpc_test(bool verbose)
{
    (void) verbose;
    /* Text: absent, empty, too long, control characters. */
    SSO_CHECK(dir_rpc_text(NULL, 0, 8) && !dir_rpc_text(NULL, 1, 8));
    SSO_CHECK(dir_rpc_text("", 0, 8) && !dir_rpc_text("", 1, 8));
    SSO_CHECK(dir_rpc_text("12345678", 1, 8) && !dir_rpc_text("123456789", 1, 8));
    SSO_CHECK(!dir_rpc_text("a\nb", 1, 8) && !dir_rpc_text("a\x7f", 1, 8)
              && !dir_rpc_text("\x01", 1, 8) && dir_rpc_text("caf\xc3\xa9", 1, 8));
    SSO_CHECK(dir_rpc_or_null(NULL) == NULL && dir_rpc_or_null("") == NULL
              && !strcmp(dir_rpc_or_null("x"), "x"));
    char *copy = dir_rpc_dup(NULL);
    SSO_CHECK(copy && !*copy);
    free(copy);
    copy = dir_rpc_dup("abc");
    SSO_CHECK(copy && !strcmp(copy, "abc"));
    free(copy);
    /* Strings of a JSON array: the non-strings are skipped; none, none at all. */
    size_t n = 9;
    json_t *array = json_pack("[s, i, s]", "a", 1, "b");
    char **strings = dir_rpc_strings(array, &n);
    SSO_CHECK(strings && n == 2 && !strcmp(strings[0], "a") && !strcmp(strings[1], "b"));
    for (size_t i = 0; strings && i < n; i++)
        free(strings[i]);
    free(strings);
    json_decref(array);
    array = json_array();
    SSO_CHECK(dir_rpc_strings(array, &n) == NULL && n == 0);
    json_decref(array);
    SSO_CHECK(dir_rpc_strings(NULL, &n) == NULL && n == 0);

    /* Error frames: the code, description and retry_after; an error with no code is a server
       error, a code the enum does not have too. */
    dir_error_t err = {0};
    dir_rpc_error(&err, "replayed", "seen before");
    zframe_t *frame = dir_rpc_error_frame(&sso__code_redeem_reply__descriptor, &err);
    Sso__CodeRedeemReply *reply = s_unpack(&frame);
    SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__REPLAYED
              && !strcmp(reply->error_description, "seen before") && reply->retry_after == 0
              && !reply->grant);
    sso__code_redeem_reply__free_unpacked(reply, NULL);
    dir_rpc_error(&err, "too_many_requests", "wait %d s", 30);
    err.retry_after = 30;
    frame = dir_rpc_error_frame(&sso__code_redeem_reply__descriptor, &err);
    reply = s_unpack(&frame);
    SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__TOO_MANY_REQUESTS
              && !strcmp(reply->error_description, "wait 30 s") && reply->retry_after == 30);
    sso__code_redeem_reply__free_unpacked(reply, NULL);
    dir_error_t none = {0};
    frame = dir_rpc_error_frame(&sso__code_redeem_reply__descriptor, &none);
    reply = s_unpack(&frame);
    SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__SERVER_ERROR
              && !strcmp(reply->error_description, "internal error"));
    sso__code_redeem_reply__free_unpacked(reply, NULL);
    dir_rpc_error(&err, "no_such_code", "odd");
    err.retry_after = 0;
    frame = dir_rpc_error_frame(&sso__code_redeem_reply__descriptor, &err);
    reply = s_unpack(&frame);
    SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__SERVER_ERROR);
    sso__code_redeem_reply__free_unpacked(reply, NULL);
}
