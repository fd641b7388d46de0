#include "sso_rpc.h"
#include "directory.pb-c.h"
#include "saml.pb-c.h"
#include "sso_bus.h"
#include "sso_log.h"
#include "sso_test.h"
#include <ctype.h>
#include <pthread.h>

int sso_rpc_name(const ProtobufCServiceDescriptor *sd, unsigned m, char *out, size_t size)
{
    if (!sd || m >= sd->n_methods)
        return -1;
    int n = snprintf(out, size, "%s.%s", sd->short_name, sd->methods[m].name);
    return n > 0 && (size_t) n < size ? 0 : -1;
}

bool sso_rpc_label_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    return len > 0 && len <= 48
           && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")
                  == len;
}

bool sso_rpc_idempotent(const ProtobufCServiceDescriptor *sd)
{
    size_t n = strlen(sd->short_name);
    return n >= 5 && !strcmp(sd->short_name + n - 5, "Reads");
}

static void s_invoke(ProtobufCService *base, unsigned m, const ProtobufCMessage *input,
                     ProtobufCClosure closure, void *data)
{
    sso_rpc_client_t *client = (sso_rpc_client_t *) base;
    const ProtobufCServiceDescriptor *sd = base->descriptor;
    ProtobufCMessage *reply = NULL;
    char rpc[SSO_RPC_NAME_MAX];
    zframe_t *frame = NULL;
    client->status = 0;
    if (sso_rpc_name(sd, m, rpc, sizeof rpc) != 0)
        client->status = 400;
    else {
        sso_call_status_t status = sso_service_call(client->service, client->target, rpc,
                                                    sso_rpc_idempotent(sd), input, &frame);
        client->status = (int) status;
        if (status != SSO_CALL_OK) /* the callers answer 503/504; this says which call */
            sso_warn("%s %s: %s", client->target, rpc,
                     status == SSO_CALL_NO_SERVICE ? "no instance answered (503)"
                     : status == SSO_CALL_TIMEOUT  ? "no answer before the deadline (504)"
                                                   : "refused by the broker (400)");
    }
    if (client->status == 0) {
        reply = protobuf_c_message_unpack(sd->methods[m].output, NULL, zframe_size(frame),
                                          zframe_data(frame));
        if (!reply) {
            sso_warn("the %s reply to %s does not unpack", client->target, rpc);
            client->status = 502;
        }
    }
    zframe_destroy(&frame);
    closure(reply, data);
}

void sso_rpc_client_init(sso_rpc_client_t *client, const ProtobufCServiceDescriptor *sd,
                         sso_service_t *service, const char *target)
{
    *client = (sso_rpc_client_t){.base = {sd, s_invoke, NULL}, .service = service,
                                 .target = target};
}

int sso_rpc_find(ProtobufCService *const *services, size_t n, const char *rpc, size_t *index,
                 unsigned *method)
{
    const char *dot = rpc ? strchr(rpc, '.') : NULL;
    for (size_t i = 0; dot && i < n; i++) {
        const ProtobufCServiceDescriptor *sd = services[i]->descriptor;
        if (strlen(sd->short_name) != (size_t) (dot - rpc)
            || strncmp(sd->short_name, rpc, (size_t) (dot - rpc)) != 0)
            continue;
        const ProtobufCMethodDescriptor *m =
            protobuf_c_service_descriptor_get_method_by_name(sd, dot + 1);
        if (!m)
            return -1;
        *index = i;
        *method = (unsigned) (m - sd->methods);
        return 0;
    }
    return -1;
}

/* The field of desc named name when it has the given type, or NULL. */
static const ProtobufCFieldDescriptor *s_field(const ProtobufCMessageDescriptor *desc,
                                               const char *name, ProtobufCType type)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    return f && f->type == type && f->label == PROTOBUF_C_LABEL_NONE ? f : NULL;
}

zframe_t *sso_rpc_error_frame(const ProtobufCMessageDescriptor *desc, Sso__RpcError error,
                              const char *description, int64_t retry_after)
{
    const ProtobufCFieldDescriptor *code = s_field(desc, "error", PROTOBUF_C_TYPE_ENUM);
    const ProtobufCFieldDescriptor *text = s_field(desc, "error_description",
                                                   PROTOBUF_C_TYPE_STRING);
    const ProtobufCFieldDescriptor *retry = s_field(desc, "retry_after", PROTOBUF_C_TYPE_INT64);
    ProtobufCMessage *reply = calloc(1, desc->sizeof_message);
    if (!reply || !code || !text) {
        if (!code || !text)
            sso_error("rpc: %s has no error fields: not an RPC reply", desc->name);
        free(reply);
        return NULL;
    }
    protobuf_c_message_init(desc, reply);
    char *base = (char *) reply;
    *(int *) (base + code->offset) = (int) error;
    *(const char **) (base + text->offset) = description ? description : "";
    if (retry && retry_after > 0)
        *(int64_t *) (base + retry->offset) = retry_after;
    zframe_t *frame = sso_frame_pack(reply);
    free(reply); /* its strings are borrowed */
    return frame;
}

/* The enum's names in lower case, made once. */
#define S_ERRORS_MAX 32
static char s_names[S_ERRORS_MAX][32];
static pthread_once_t s_names_once = PTHREAD_ONCE_INIT;

static void s_names_make(void)
{
    const ProtobufCEnumDescriptor *ed = &sso__rpc_error__descriptor;
    for (unsigned i = 0; i < ed->n_values; i++) {
        int v = ed->values[i].value;
        if (v < 0 || v >= S_ERRORS_MAX)
            continue;
        size_t j = 0;
        for (const char *c = ed->values[i].name; *c && j + 1 < sizeof s_names[v]; c++)
            s_names[v][j++] = (char) tolower((unsigned char) *c);
        s_names[v][j] = '\0';
    }
}

const char *sso_rpc_error_name(Sso__RpcError error)
{
    pthread_once(&s_names_once, s_names_make);
    int v = (int) error;
    return v >= 0 && v < S_ERRORS_MAX && s_names[v][0] ? s_names[v] : "server_error";
}

Sso__RpcError sso_rpc_error_of(const char *name)
{
    pthread_once(&s_names_once, s_names_make);
    for (int v = 0; name && v < S_ERRORS_MAX; v++)
        if (s_names[v][0] && !strcmp(s_names[v], name))
            return (Sso__RpcError) v;
    return SSO__RPC_ERROR__SERVER_ERROR;
}

/* ---- self-test ------------------------------------------------------------------------- */

static void s_event_done(const Sso__EventReply *reply, void *data)
{
    *(const Sso__EventReply **) data = reply;
}

void sso_rpc_test(bool verbose)
{
    (void) verbose;
    /* Every operation of every service's .proto has a name that fits and is one of a kind. */
    const ProtobufCServiceDescriptor *all[] = {
        &sso__token_reads__descriptor,     &sso__token_writes__descriptor,
        &sso__upstream_reads__descriptor,  &sso__upstream_writes__descriptor,
        &sso__event_writes__descriptor,    &sso__simulator_reads__descriptor,
        &sso__upstream_start__descriptor};
    size_t n_all = sizeof all / sizeof *all, names = 0;
    char seen[64][SSO_RPC_NAME_MAX];
    for (size_t i = 0; i < n_all; i++) {
        for (unsigned m = 0; m < all[i]->n_methods && names < 64; m++) {
            SSO_CHECK(sso_rpc_name(all[i], m, seen[names], sizeof seen[names]) == 0);
            for (size_t k = 0; k < names; k++)
                SSO_CHECK(strcmp(seen[k], seen[names]) != 0);
            /* Every reply begins with the error fields, as RpcRefusal does. */
            const ProtobufCMessageDescriptor *out = all[i]->methods[m].output;
            SSO_CHECK(out->n_fields >= 2 && out->fields[0].id == 1 && out->fields[1].id == 2
                      && s_field(out, "error", PROTOBUF_C_TYPE_ENUM)
                      && s_field(out, "error_description", PROTOBUF_C_TYPE_STRING));
            names++;
        }
    }
    SSO_CHECK(names > 10 && names < 64);
    char name[SSO_RPC_NAME_MAX];
    SSO_CHECK(sso_rpc_name(&sso__token_writes__descriptor, 1, name, sizeof name) == 0);
    SSO_CHECK(!strcmp(name, "TokenWrites.CodeRedeem"));
    SSO_CHECK(sso_rpc_name(&sso__token_writes__descriptor, 99, name, sizeof name) == -1);
    SSO_CHECK(sso_rpc_name(&sso__token_writes__descriptor, 1, name, 10) == -1);
    SSO_CHECK(sso_rpc_label_ok(name) && sso_rpc_label_ok("http") && !sso_rpc_label_ok("")
              && !sso_rpc_label_ok(NULL) && !sso_rpc_label_ok("a\"b") && !sso_rpc_label_ok("a b")
              && !sso_rpc_label_ok("a}") && !sso_rpc_label_ok("x\n")
              && !sso_rpc_label_ok("TokenWrites.CodeRedeemTokenWrites.CodeRedeem_abcd"));
    SSO_CHECK(sso_rpc_idempotent(&sso__token_reads__descriptor)
              && sso_rpc_idempotent(&sso__upstream_reads__descriptor)
              && !sso_rpc_idempotent(&sso__token_writes__descriptor)
              && !sso_rpc_idempotent(&sso__upstream_start__descriptor));

    /* A server finds its operations by their bus names, and nothing else. */
    ProtobufCService reads = {&sso__token_reads__descriptor, NULL, NULL};
    ProtobufCService events = {&sso__event_writes__descriptor, NULL, NULL};
    ProtobufCService *const served[] = {&reads, &events};
    size_t index = 99;
    unsigned method = 99;
    SSO_CHECK(sso_rpc_find(served, 2, "EventWrites.EventRecord", &index, &method) == 0
              && index == 1 && method == 0);
    SSO_CHECK(sso_rpc_find(served, 2, "TokenReads.KeysList", &index, &method) == 0
              && index == 0 && !strcmp(sso__token_reads__descriptor.methods[method].name,
                                       "KeysList"));
    const char *unknown[] = {NULL, "", ".", "TokenReads", "TokenReads.", "TokenReads.keys_list",
                             "TokenWrites.CodeRedeem", "EventWrites.EventRecord.", "Token.KeysList",
                             "TokenReadsX.KeysList", "keys_list"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        SSO_CHECK(sso_rpc_find(served, 2, unknown[i], &index, &method) == -1);

    /* Error names: every value round-trips; anything else is a server error. */
    for (unsigned i = 0; i < sso__rpc_error__descriptor.n_values; i++) {
        Sso__RpcError e = (Sso__RpcError) sso__rpc_error__descriptor.values[i].value;
        SSO_CHECK(sso_rpc_error_of(sso_rpc_error_name(e)) == e);
    }
    SSO_CHECK(!strcmp(sso_rpc_error_name(SSO__RPC_ERROR__INVALID_GRANT), "invalid_grant"));
    SSO_CHECK(!strcmp(sso_rpc_error_name((Sso__RpcError) 999), "server_error"));
    SSO_CHECK(!strcmp(sso_rpc_error_name((Sso__RpcError) -1), "server_error"));
    SSO_CHECK(sso_rpc_error_of("INVALID_GRANT") == SSO__RPC_ERROR__SERVER_ERROR);
    SSO_CHECK(sso_rpc_error_of(NULL) == SSO__RPC_ERROR__SERVER_ERROR);
    SSO_CHECK(sso_rpc_error_of("replayed") == SSO__RPC_ERROR__REPLAYED);

    /* An error frame unpacks as the operation's reply, retry_after only where it exists. */
    zframe_t *frame = sso_rpc_error_frame(&sso__code_redeem_reply__descriptor,
                                          SSO__RPC_ERROR__TOO_MANY_REQUESTS, "wait", 7);
    Sso__CodeRedeemReply *redeem =
        frame ? sso__code_redeem_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
              : NULL;
    SSO_CHECK(redeem && redeem->error == SSO__RPC_ERROR__TOO_MANY_REQUESTS
              && !strcmp(redeem->error_description, "wait") && redeem->retry_after == 7
              && !redeem->grant);
    sso__code_redeem_reply__free_unpacked(redeem, NULL);
    zframe_destroy(&frame);
    frame = sso_rpc_error_frame(&sso__keys_list_reply__descriptor, SSO__RPC_ERROR__NOT_FOUND,
                                NULL, 7);
    Sso__KeysListReply *keys =
        frame ? sso__keys_list_reply__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    SSO_CHECK(keys && keys->error == SSO__RPC_ERROR__NOT_FOUND && !*keys->error_description
              && keys->n_keys == 0);
    sso__keys_list_reply__free_unpacked(keys, NULL);
    zframe_destroy(&frame);
    /* A refusal unpacks as any reply, with its error set. */
    Sso__RpcRefusal refusal = SSO__RPC_REFUSAL__INIT;
    refusal.error = SSO__RPC_ERROR__ACCESS_DENIED;
    refusal.error_description = "no";
    frame = sso_frame_pack(&refusal.base);
    Sso__LoginContextReply *context =
        frame ? sso__login_context_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
              : NULL;
    SSO_CHECK(context && context->error == SSO__RPC_ERROR__ACCESS_DENIED && !context->txn);
    sso__login_context_reply__free_unpacked(context, NULL);
    zframe_destroy(&frame);
    /* A message without the fields is not an RPC reply. */
    SSO_CHECK(!sso_rpc_error_frame(&sso__transaction__descriptor, SSO__RPC_ERROR__NOT_FOUND,
                                   "x", 0));

    /* A call without a bus: the closure hears NULL, and the status says why. */
    sso_rpc_client_t client;
    sso_rpc_client_init(&client, &sso__event_writes__descriptor, NULL, "directory");
    Sso__Event event = SSO__EVENT__INIT;
    const Sso__EventReply *got = (const Sso__EventReply *) &event;
    sso__event_writes__event_record(&client.base, &event, s_event_done, &got);
    SSO_CHECK(!got && client.status == 503);
}
