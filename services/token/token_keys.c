#include "token_keys.h"
#include "sso_crypto.h"
#include "sso_jose.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_fiber.h"
#include "sso_clients.h"
#include "token_dir.h"
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* Keys are re-read this often, so a rotation done through any instance reaches all. */
#define REFRESH_MS 60000

typedef struct {
    char *kid;
    char *public_jwk;
    EVP_PKEY *pkey;
    int64_t active_from;
    int64_t created_at;
    int64_t retire_after; /* 0: not retiring */
} key_t_;

struct token_keys_t {
    key_t_ *keys;
    size_t count;
    int64_t loaded_at;
    /* Requests run concurrently (fibers), so answers can come back in another order than
       their calls went out: each call takes a ticket, and a key list older than the one
       applied is dropped. */
    uint64_t tickets, applied;
    bool refreshing;          /* a keys_list is out: the others serve the current set */
    /* At first start, the key pair offered to the directory until one is stored: requests
       that overlap there offer the same one, so a process makes one pair, not one per
       request (each takes a tenth of a second or more, and nothing else runs meanwhile). */
    Sso__SigningKey first;
};

token_keys_t *token_keys_new(void)
{
    return calloc(1, sizeof(token_keys_t));
}

static void s_clear(token_keys_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free(self->keys[i].kid);
        free(self->keys[i].public_jwk);
        EVP_PKEY_free(self->keys[i].pkey);
    }
    free(self->keys);
    self->keys = NULL;
    self->count = 0;
}

static void s_key_free(Sso__SigningKey *key);

void token_keys_destroy(token_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_clear(*self_p);
    s_key_free(&(*self_p)->first);
    free(*self_p);
    *self_p = NULL;
}

static int s_load(token_keys_t *self, const Sso__KeysListReply *list)
{
    key_t_ *keys = calloc(list->n_keys ? list->n_keys : 1, sizeof *keys);
    if (!keys)
        return -1;
    size_t count = 0;
    for (size_t i = 0; i < list->n_keys; i++) {
        const Sso__SigningKey *key = list->keys[i];
        EVP_PKEY *pkey = sso_jose_private_key_pem(key->private_key_pem);
        if (!pkey) {
            sso_warn("signing key %s does not parse; skipped", key->kid);
            continue;
        }
        keys[count].kid = strdup(key->kid);
        keys[count].public_jwk = strdup(key->public_jwk_json);
        if (!keys[count].kid || !keys[count].public_jwk) {
            free(keys[count].kid);
            free(keys[count].public_jwk);
            EVP_PKEY_free(pkey);
            continue;
        }
        keys[count].pkey = pkey;
        keys[count].active_from = key->active_from;
        keys[count].created_at = key->created_at;
        keys[count].retire_after = key->retire_after;
        count++;
    }
    if (!count && list->n_keys) {
        /* Keys listed, none usable: keep serving the set held (the warnings say why). */
        free(keys);
        return -1;
    }
    s_clear(self);
    self->keys = keys;
    self->count = count;
    self->loaded_at = sso_now_ms();
    return count ? 0 : -1;
}

/* The directory's KeysList, or KeyPut when put is given. The self-test below scripts the
   answers instead (s_keys_call), in the order its cases of overlapping requests need, which a
   real directory cannot be made to give. */
typedef int(s_keys_fn)(sso_service_t *service, const Sso__KeysListRequest *list,
                       const Sso__KeyPutRequest *put, Sso__KeysListReply **reply_p);

static int s_keys_bus(sso_service_t *service, const Sso__KeysListRequest *list,
                      const Sso__KeyPutRequest *put, Sso__KeysListReply **reply_p)
{
    return put ? sso_dir_key_put(service, put, reply_p) : sso_dir_keys_list(service, list, reply_p);
}

static s_keys_fn *s_keys_call = s_keys_bus;

/* The directory's KeyRotate; scripted in the self-test likewise. */
typedef int(s_rotate_fn)(sso_service_t *service, const Sso__KeyRotateRequest *request,
                         Sso__KeyRotateReply **reply_p);
static s_rotate_fn *s_rotate_call = sso_dir_key_rotate;

/* The directory's whole list as an answer to the call that took ticket: published unless the
   answer to a later call is in place already. 0, or 502 when keys were listed and none
   loaded. */
static int s_apply(token_keys_t *self, uint64_t ticket, Sso__SigningKey **keys, size_t n_keys)
{
    /* An empty list only says that no key was stored when it was read: it neither replaces
       keys nor outranks an answer to an earlier call. Tickets order the calls as sent, not
       as the directories served them: a list asked for while another fiber's first key was
       being stored can come back empty after that put's answer, which it must not hide. */
    if (n_keys == 0) {
        /* Yet a directory whose keys are gone (a database restored without them) would be
           asked again by every request: say so, and serve the keys held until the next
           refresh. */
        if (self->count) {
            sso_warn("the directory lists no signing key; serving the %zu held until the next "
                     "refresh", self->count);
            self->loaded_at = sso_now_ms();
        }
        return 0;
    }
    if (ticket < self->applied)
        return 0; /* a newer list is in place already */
    self->applied = ticket;
    Sso__KeysListReply list = SSO__KEYS_LIST_REPLY__INIT;
    list.keys = keys;
    list.n_keys = n_keys;
    return s_load(self, &list) == 0 ? 0 : 502;
}

/* KeysList, or KeyPut when put is given: either answers the directory's whole list, which
   this instance then publishes (s_apply). */
static int s_call(sso_service_t *service, const Sso__KeysListRequest *list,
                  const Sso__KeyPutRequest *put, token_keys_t *self)
{
    Sso__KeysListReply *reply = NULL;
    uint64_t ticket = ++self->tickets;
    int status = s_keys_call(service, list, put, &reply);
    if (status != 0)
        return status;
    int rc = 502;
    if (reply->error)
        sso_warn("directory refused %s: %s", put ? "KeyPut" : "KeysList",
                 reply->error_description);
    else
        rc = s_apply(self, ticket, reply->keys, reply->n_keys);
    sso__keys_list_reply__free_unpacked(reply, NULL);
    return rc;
}

/* A fresh key pair in key (kid, private PEM, public JWK, created_at now); -1 on failure.
   Free with s_key_free. */
static int s_key_new(Sso__SigningKey *key)
{
    char *pem = NULL, *jwk = NULL, *kid = NULL;
    if (sso_jose_signing_key_new(&pem, &jwk, &kid) != 0)
        return -1;
    key->kid = kid;
    key->private_key_pem = pem;
    key->public_jwk_json = jwk;
    key->created_at = sso_now_ms() / 1000;
    return 0;
}

/* A copy of from's kid, key material and times in *to (strings owned, free with s_key_free);
   -1 when memory ran out. */
static int s_key_copy(const Sso__SigningKey *from, Sso__SigningKey *to)
{
    *to = (Sso__SigningKey) SSO__SIGNING_KEY__INIT;
    to->kid = strdup(from->kid);
    to->private_key_pem = strdup(from->private_key_pem);
    to->public_jwk_json = strdup(from->public_jwk_json);
    to->created_at = from->created_at;
    to->active_from = from->active_from;
    to->retire_after = from->retire_after;
    if (to->kid && to->private_key_pem && to->public_jwk_json)
        return 0;
    s_key_free(to);
    return -1;
}

static void s_key_free(Sso__SigningKey *key)
{
    free(key->private_key_pem);
    free(key->public_jwk_json);
    free(key->kid);
    key->private_key_pem = key->public_jwk_json = key->kid = NULL;
}

int token_keys_ensure(token_keys_t *self, sso_service_t *service)
{
    if (self->count && (self->refreshing || sso_now_ms() - self->loaded_at < REFRESH_MS))
        return 0;
    Sso__KeysListRequest list = SSO__KEYS_LIST_REQUEST__INIT;
    list.with_private = true;
    self->refreshing = true;
    int status = s_call(service, &list, NULL, self);
    self->refreshing = false;
    if (status != 0 && self->count) {
        /* Keep serving the keys we have; try again on the next request. */
        self->loaded_at = sso_now_ms() - REFRESH_MS + 5000;
        return 0;
    }
    if (status != 0 || self->count)
        return status;

    /* First start: make a key and store it unless another instance won the race. */
    if (!self->first.kid && s_key_new(&self->first) != 0)
        return 500;
    /* A copy: another request may drop self->first while this one waits for the directory. */
    Sso__SigningKey key;
    if (s_key_copy(&self->first, &key) != 0)
        return 500;
    key.active_from = key.created_at;
    Sso__KeyPutRequest put = SSO__KEY_PUT_REQUEST__INIT;
    put.key = &key;
    put.only_if_none = true;
    status = s_call(service, NULL, &put, self);
    if (status == 0 && self->count && self->first.kid) {
        sso_info("signing keys ready (%zu)", self->count);
        s_key_free(&self->first);
    }
    s_key_free(&key);
    return status == 0 && !self->count ? 502 : status;
}

int token_keys_rotate(token_keys_t *self, sso_service_t *service, const char *access_token,
                      const char *remote_addr, char **kid_p, int64_t *active_from_p)
{
    *kid_p = NULL;
    Sso__KeyRotateRequest request = SSO__KEY_ROTATE_REQUEST__INIT;
    request.access_token = (char *) access_token;
    request.remote_addr = (char *) (remote_addr ? remote_addr : "");
    Sso__KeyRotateReply *reply = NULL;
    uint64_t ticket = ++self->tickets;
    int status = s_rotate_call(service, &request, &reply);
    if (status != 0)
        return status;
    int rc = 0;
    if (reply->error == SSO__RPC_ERROR__INVALID_TOKEN)
        rc = 401;
    else if (reply->error) {
        sso_warn("directory refused KeyRotate: %s", reply->error_description);
        rc = 502;
    }
    else if (!(*kid_p = strdup(reply->kid)))
        rc = 500;
    else {
        *active_from_p = reply->active_from;
        /* Published here at once; the other instances have it at their next refresh, long
           before it signs unless the delay is shorter than that. Stored either way, so a list
           that does not load only waits for that refresh. */
        if (s_apply(self, ticket, reply->keys, reply->n_keys) != 0)
            sso_warn("the key list after rotating %s did not load", reply->kid);
    }
    sso__key_rotate_reply__free_unpacked(reply, NULL);
    return rc;
}

char *token_keys_jwks(token_keys_t *self)
{
    json_t *keys = json_array();
    for (size_t i = 0; i < self->count; i++) {
        json_t *jwk = json_loads(self->keys[i].public_jwk, 0, NULL);
        if (jwk)
            json_array_append_new(keys, jwk);
    }
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

EVP_PKEY *token_keys_signing(token_keys_t *self, char **kid_p)
{
    *kid_p = NULL;
    /* The newest key that is already active: a freshly rotated key is published first and
       used only once relying parties have had time to fetch it. Of two that became active
       together (rotations that overlapped), the one made last: the other is retiring. */
    int64_t now = sso_now_ms() / 1000;
    key_t_ *best = NULL;
    for (size_t i = 0; i < self->count; i++) {
        key_t_ *key = &self->keys[i];
        if (key->active_from <= now
            && (!best || sso_jose_key_signs_before(key->active_from, key->created_at, key->kid,
                                                   best->active_from, best->created_at,
                                                   best->kid)))
            best = key;
    }
    if (!best || !(*kid_p = strdup(best->kid)))
        return NULL;
    if (EVP_PKEY_up_ref(best->pkey) != 1) {
        free(*kid_p);
        *kid_p = NULL;
        return NULL;
    }
    return best->pkey;
}

/* A directory whose answers come back in the order the test chooses: a call made in a fiber
   yields, and is answered with s_answer_next when the test resumes it. */
static int s_calls;
static const Sso__KeysListReply *s_answer_next;
/* What the directory was sent: the distinct keys put (copies). */
#define S_MAX_PUTS 4
static Sso__SigningKey s_puts[S_MAX_PUTS];
static size_t s_n_puts;

static void s_forget_puts(void)
{
    for (size_t i = 0; i < s_n_puts; i++)
        s_key_free(&s_puts[i]);
    s_n_puts = 0;
}

static void s_record_put(const Sso__SigningKey *key)
{
    for (size_t i = 0; i < s_n_puts; i++)
        if (!strcmp(s_puts[i].kid, key->kid))
            return;
    if (s_n_puts == S_MAX_PUTS)
        return;
    if (s_key_copy(key, &s_puts[s_n_puts]) == 0)
        s_n_puts++;
}

static int s_yielding_directory(sso_service_t *service, const Sso__KeysListRequest *list,
                                const Sso__KeyPutRequest *put, Sso__KeysListReply **reply_p)
{
    (void) service, (void) list;
    s_calls++;
    if (put)
        s_record_put(put->key);
    sso_fiber_yield();
    /* The answer as the bus would bring it: packed and unpacked. */
    size_t size = sso__keys_list_reply__get_packed_size(s_answer_next);
    uint8_t *packed = malloc(size ? size : 1);
    if (packed)
        sso__keys_list_reply__pack(s_answer_next, packed);
    *reply_p = packed ? sso__keys_list_reply__unpack(NULL, size, packed) : NULL;
    free(packed);
    return *reply_p ? 0 : 502;
}

/* KeyRotate as the directory answers it: the rotated kid and s_answer_next's keys. */
static int s_yielding_rotate(sso_service_t *service, const Sso__KeyRotateRequest *request,
                             Sso__KeyRotateReply **reply_p)
{
    (void) service, (void) request;
    s_calls++;
    sso_fiber_yield();
    Sso__KeyRotateReply answer = SSO__KEY_ROTATE_REPLY__INIT;
    answer.kid = "rotated";
    answer.active_from = 1;
    answer.keys = s_answer_next->keys;
    answer.n_keys = s_answer_next->n_keys;
    size_t size = sso__key_rotate_reply__get_packed_size(&answer);
    uint8_t *packed = malloc(size ? size : 1);
    if (packed)
        sso__key_rotate_reply__pack(&answer, packed);
    *reply_p = packed ? sso__key_rotate_reply__unpack(NULL, size, packed) : NULL;
    free(packed);
    return *reply_p ? 0 : 502;
}

typedef struct {
    token_keys_t *keys;
    int status;
} s_keys_call_t;

static void s_fiber_ensure(void *arg)
{
    s_keys_call_t *call = arg;
    call->status = token_keys_ensure(call->keys, NULL);
}

static void s_fiber_rotate(void *arg)
{
    s_keys_call_t *call = arg;
    char *kid = NULL;
    int64_t active_from = 0;
    call->status = token_keys_rotate(call->keys, NULL, "at_token", "192.0.2.1", &kid,
                                     &active_from);
    SSO_CHECK(call->status != 0 || (kid && !strcmp(kid, "rotated") && active_from == 1));
    free(kid);
}

/* Requests that overlap (fibers): a refresh answered after a rotation does not bring the old
   set back, and while one refresh is out the others serve the set they have. */
static void s_overlap_test(const Sso__KeysListReply *old_list, const Sso__KeysListReply *new_list)
{
    token_keys_t *keys = token_keys_new();
    sso_fiber_t *a = sso_fiber_new(SSO_FIBER_STACK_SIZE), *b = sso_fiber_new(SSO_FIBER_STACK_SIZE),
                *c = sso_fiber_new(SSO_FIBER_STACK_SIZE);
    SSO_CHECK(keys && a && b && c && s_load(keys, old_list) == 0 && keys->count == 1);
    if (!keys || !a || !b || !c) {
        token_keys_destroy(&keys);
        sso_fiber_destroy(&a), sso_fiber_destroy(&b), sso_fiber_destroy(&c);
        return;
    }
    s_keys_call = s_yielding_directory;
    s_rotate_call = s_yielding_rotate;
    s_calls = 0;
    keys->loaded_at = 0; /* stale: the next request refreshes */
    s_keys_call_t refresh = {keys, -1}, other = {keys, -1}, rotate = {keys, -1};
    sso_fiber_start(a, s_fiber_ensure, &refresh);        /* keys_list out, waiting */
    SSO_CHECK(s_calls == 1 && sso_fiber_running(a));
    sso_fiber_start(b, s_fiber_ensure, &other);          /* serves the current set */
    SSO_CHECK(s_calls == 1 && !sso_fiber_running(b) && other.status == 0);
    sso_fiber_start(c, s_fiber_rotate, &rotate);         /* key_rotate out, waiting */
    SSO_CHECK(s_calls == 2);
    s_answer_next = new_list;
    sso_fiber_resume(c);                                 /* the new set, published at once */
    SSO_CHECK(!sso_fiber_running(c) && rotate.status == 0 && keys->count == 2 && s_calls == 2);
    s_answer_next = old_list;                            /* the refresh's late, older answer */
    sso_fiber_resume(a);
    SSO_CHECK(!sso_fiber_running(a) && refresh.status == 0 && keys->count == 2);
    s_keys_call = s_keys_bus;
    s_rotate_call = sso_dir_key_rotate;
    s_forget_puts();
    token_keys_destroy(&keys);
    sso_fiber_destroy(&a), sso_fiber_destroy(&b), sso_fiber_destroy(&c);
}

/* First start, requests overlapping: each finds no key, and all offer the same one pair. */
static void s_first_start_test(void)
{
    enum { N = 3 };
    token_keys_t *keys = token_keys_new();
    sso_fiber_t *fibers[N];
    s_keys_call_t calls[N];
    bool ready = keys != NULL;
    for (int i = 0; i < N; i++) {
        fibers[i] = sso_fiber_new(SSO_FIBER_STACK_SIZE);
        calls[i] = (s_keys_call_t){keys, -1};
        ready = ready && fibers[i];
    }
    SSO_CHECK(ready);
    s_keys_call = s_yielding_directory;
    s_calls = 0;
    s_forget_puts();
    Sso__KeysListReply empty = SSO__KEYS_LIST_REPLY__INIT;
    s_answer_next = &empty;
    for (int i = 0; ready && i < N; i++)
        sso_fiber_start(fibers[i], s_fiber_ensure, &calls[i]); /* keys_list out, each */
    for (int i = 0; ready && i < N; i++)
        sso_fiber_resume(fibers[i]);                             /* none: key_put out, each */
    SSO_CHECK(s_calls == 2 * N && s_n_puts == 1);
    /* The directory stored the first put; every put is answered with the list holding it. */
    Sso__SigningKey *stored[] = {&s_puts[0]};
    Sso__KeysListReply list = SSO__KEYS_LIST_REPLY__INIT;
    list.keys = stored;
    list.n_keys = s_n_puts;
    s_answer_next = &list;
    for (int i = 0; ready && i < N; i++) {
        sso_fiber_resume(fibers[i]);
        SSO_CHECK(!sso_fiber_running(fibers[i]) && calls[i].status == 0);
    }
    SSO_CHECK(keys && keys->count == 1 && !keys->first.kid);
    if (keys && keys->count == 1 && s_n_puts)
        SSO_CHECK(!strcmp(keys->keys[0].kid, s_puts[0].kid));
    s_keys_call = s_keys_bus;
    s_answer_next = NULL;
    s_forget_puts();
    token_keys_destroy(&keys);
    for (int i = 0; i < N; i++)
        sso_fiber_destroy(&fibers[i]);
}

/* First start on two directories: a list asked for while the first key was being stored
   comes back empty after that put's answer was sent, and is taken first. The put's list
   still stands (without that, the first token asked for failed with 503). */
static void s_first_put_outran_test(void)
{
    token_keys_t *keys = token_keys_new();
    sso_fiber_t *a = sso_fiber_new(SSO_FIBER_STACK_SIZE), *b = sso_fiber_new(SSO_FIBER_STACK_SIZE);
    SSO_CHECK(keys && a && b);
    if (!keys || !a || !b) {
        token_keys_destroy(&keys);
        sso_fiber_destroy(&a), sso_fiber_destroy(&b);
        return;
    }
    s_keys_call = s_yielding_directory;
    s_calls = 0;
    s_forget_puts();
    Sso__KeysListReply empty = SSO__KEYS_LIST_REPLY__INIT;
    s_answer_next = &empty;
    s_keys_call_t first = {keys, -1}, second = {keys, -1};
    sso_fiber_start(a, s_fiber_ensure, &first); /* keys_list out */
    sso_fiber_resume(a);                        /* none: key_put out */
    SSO_CHECK(s_calls == 2 && s_n_puts == 1 && sso_fiber_running(a));
    sso_fiber_start(b, s_fiber_ensure, &second); /* keys_list out, after the put */
    sso_fiber_resume(b);                         /* answered first, empty: key_put out */
    SSO_CHECK(s_calls == 4 && sso_fiber_running(b));
    Sso__SigningKey *stored[] = {&s_puts[0]};
    Sso__KeysListReply list = SSO__KEYS_LIST_REPLY__INIT;
    list.keys = stored;
    list.n_keys = s_n_puts;
    s_answer_next = &list;
    sso_fiber_resume(a); /* the put's answer, to the older call */
    SSO_CHECK(!sso_fiber_running(a) && first.status == 0 && keys->count == 1);
    sso_fiber_resume(b);
    SSO_CHECK(!sso_fiber_running(b) && second.status == 0 && keys->count == 1);
    s_keys_call = s_keys_bus;
    s_answer_next = NULL;
    s_forget_puts();
    token_keys_destroy(&keys);
    sso_fiber_destroy(&a), sso_fiber_destroy(&b);
}

void token_keys_test(bool verbose)
{
    (void) verbose;
    char *pem = NULL, *jwk = NULL, *kid = NULL;
    SSO_CHECK(sso_jose_signing_key_new(&pem, &jwk, &kid) == 0);

    token_keys_t *keys = token_keys_new();
    Sso__SigningKey key = SSO__SIGNING_KEY__INIT, later = SSO__SIGNING_KEY__INIT;
    key.kid = kid;
    key.private_key_pem = pem;
    key.public_jwk_json = jwk;
    key.active_from = 1;
    later = key;
    later.kid = "later";
    later.active_from = sso_now_ms() / 1000 + 3600;
    Sso__SigningKey *list_keys[] = {&key, &later};
    Sso__KeysListReply list = SSO__KEYS_LIST_REPLY__INIT;
    list.keys = list_keys;
    list.n_keys = 2;
    SSO_CHECK(s_load(keys, &list) == 0 && keys->count == 2);
    /* A list whose keys all fail to parse leaves the set in use as it is. */
    Sso__SigningKey broken = key;
    broken.kid = "broken";
    broken.private_key_pem = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
    Sso__SigningKey *broken_keys[] = {&broken};
    Sso__KeysListReply broken_list = SSO__KEYS_LIST_REPLY__INIT;
    broken_list.keys = broken_keys;
    broken_list.n_keys = 1;
    SSO_CHECK(s_load(keys, &broken_list) == -1 && keys->count == 2);
    char *signing_kid = NULL;
    EVP_PKEY *signing = token_keys_signing(keys, &signing_kid);
    SSO_CHECK(signing && signing_kid && !strcmp(signing_kid, kid));
    EVP_PKEY_free(signing);
    free(signing_kid);
    char *jwks = token_keys_jwks(keys);
    SSO_CHECK(jwks && strstr(jwks, "\"keys\":[") && !strstr(jwks, "PRIVATE"));
    free(jwks);
    token_keys_destroy(&keys);
    Sso__KeysListReply old_list = list;
    old_list.n_keys = 1;
    s_overlap_test(&old_list, &list);
    s_first_start_test();
    s_first_put_outran_test();
    SSO_CHECK(keys == NULL);
    free(pem);
    free(jwk);
    free(kid);
}
