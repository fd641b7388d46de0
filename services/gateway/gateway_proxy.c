/* gateway_proxy: trusted proxies and X-Forwarded-For. */
#include "gateway_proxy.h"
#include "sso_test.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int family;          /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
    int prefix;          /* bits */
} s_range_t;

struct gateway_proxy_t {
    s_range_t ranges[GATEWAY_PROXY_MAX];
    size_t n;
};

/* text (len bytes, no spaces) as an address into family and bytes; 0 or -1. */
static int s_address(const char *text, size_t len, int *family, uint8_t bytes[16])
{
    char copy[INET6_ADDRSTRLEN];
    if (len == 0 || len >= sizeof copy)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    memset(bytes, 0, 16);
    if (inet_pton(AF_INET, copy, bytes) == 1)
        *family = AF_INET;
    else if (inet_pton(AF_INET6, copy, bytes) == 1)
        *family = AF_INET6;
    else
        return -1;
    return 0;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 address, as MHD may report a
   dual-stack peer so. */
static void s_unmap(int *family, uint8_t bytes[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (*family == AF_INET6 && !memcmp(bytes, mapped, 12)) {
        memmove(bytes, bytes + 12, 4);
        memset(bytes + 4, 0, 12);
        *family = AF_INET;
    }
}

static bool s_trusted(const gateway_proxy_t *self, int family, const uint8_t bytes[16])
{
    for (size_t i = 0; self && i < self->n; i++) {
        const s_range_t *r = &self->ranges[i];
        if (r->family != family)
            continue;
        int whole = r->prefix / 8, rest = r->prefix % 8;
        if (memcmp(r->bytes, bytes, (size_t) whole) != 0)
            continue;
        if (rest && ((r->bytes[whole] ^ bytes[whole]) & (uint8_t) (0xff << (8 - rest))))
            continue;
        return true;
    }
    return false;
}

gateway_proxy_t *gateway_proxy_new(const char *list, char *why, size_t why_size)
{
    gateway_proxy_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    for (const char *p = list; p && *p;) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        while (len && p[len - 1] == ' ')
            len--;
        const char *slash = memchr(p, '/', len);
        size_t address_len = slash ? (size_t) (slash - p) : len;
        s_range_t range = {0};
        int bad = self->n == GATEWAY_PROXY_MAX
                  || s_address(p, address_len, &range.family, range.bytes) != 0;
        int max = range.family == AF_INET ? 32 : 128;
        range.prefix = max;
        if (!bad && slash) {
            const char *digits = slash + 1;
            size_t n = len - address_len - 1;
            char text[4] = "";
            bad = n == 0 || n > 3 || strspn(digits, "0123456789") < n;
            if (!bad) {
                memcpy(text, digits, n);
                range.prefix = (int) strtol(text, NULL, 10);
                bad = range.prefix > max;
            }
        }
        if (bad) {
            snprintf(why, why_size, "SSO_TRUSTED_PROXIES: '%.*s' is not an IPv4 or IPv6 "
                     "address with an optional /prefix (at most %d items)",
                     (int) (len > 64 ? 64 : len), p, GATEWAY_PROXY_MAX);
            gateway_proxy_destroy(&self);
            return NULL;
        }
        self->ranges[self->n++] = range;
        p = end ? end + 1 : p + len;
    }
    return self;
}

void gateway_proxy_destroy(gateway_proxy_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

void gateway_proxy_client(const gateway_proxy_t *self, const char *peer, const char *xff,
                          char out[INET6_ADDRSTRLEN])
{
    snprintf(out, INET6_ADDRSTRLEN, "%s", peer ? peer : "");
    int family;
    uint8_t bytes[16];
    if (!self || !self->n || !xff || !peer || s_address(peer, strlen(peer), &family, bytes))
        return;
    s_unmap(&family, bytes);
    if (!s_trusted(self, family, bytes))
        return;
    /* From the right: each trusted hop vouches for the entry to its left. */
    size_t end = strlen(xff);
    for (int hops = 0; end > 0 && hops < GATEWAY_PROXY_HOPS_MAX; hops++) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t a = start, b = end;
        while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
            a++;
        while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
            b--;
        if (s_address(xff + a, b - a, &family, bytes) != 0)
            return; /* not an address: the last trusted hop is what is known */
        s_unmap(&family, bytes);
        inet_ntop(family, bytes, out, INET6_ADDRSTRLEN);
        if (!s_trusted(self, family, bytes))
            return;
        end = start ? start - 1 : 0;
    }
}

/* ---- self-test --------------------------------------------------------------------------- */

void gateway_proxy_test(bool verbose)
{
    (void) verbose;
    char why[160], out[INET6_ADDRSTRLEN];
    /* The list: addresses and ranges of both families; the absent and empty list. */
    gateway_proxy_t *none = gateway_proxy_new(NULL, why, sizeof why);
    gateway_proxy_t *empty = gateway_proxy_new("", why, sizeof why);
    gateway_proxy_t *proxies = gateway_proxy_new(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1",
                                                 why, sizeof why);
    SSO_CHECK(none && empty && proxies);
    const char *bad[] = {"10.0.0.0/33", "10.0.0.1/", "10.0.0.1/x", "fd00::/129", "example.com",
                         "10.0.0.1,,10.0.0.2", ",", "10.0.0.1/8/8", "1.2.3.4 5.6.7.8",
                         "10.0.0.1/-1", "10.0.0.1/0008"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why[0] = '\0';
        gateway_proxy_t *refused = gateway_proxy_new(bad[i], why, sizeof why);
        SSO_CHECK(!refused && strstr(why, "SSO_TRUSTED_PROXIES"));
        gateway_proxy_destroy(&refused);
    }
    char many[400] = "";
    for (int i = 0; i < GATEWAY_PROXY_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s10.0.0.%d", i ? "," : "",
                 i);
    gateway_proxy_t *full = gateway_proxy_new(many, why, sizeof why);
    SSO_CHECK(full);
    gateway_proxy_destroy(&full);
    snprintf(many + strlen(many), sizeof many - strlen(many), ",10.0.0.99"); /* one more */
    full = gateway_proxy_new(many, why, sizeof why);
    SSO_CHECK(!full && strstr(why, "at most 16"));

    /* Who the client is. */
    static const struct {
        const char *peer, *xff, *want;
    } cases[] = {
        /* No trusted proxy, or the peer is not one: the header is the client's own words. */
        {"203.0.113.9", "198.51.100.1", "203.0.113.9"},
        {"203.0.113.9", NULL, "203.0.113.9"},
        /* A trusted proxy: the right-most untrusted entry. */
        {"10.1.2.3", "198.51.100.1", "198.51.100.1"},
        {"10.1.2.3", "6.6.6.6, 198.51.100.1", "198.51.100.1"},
        {"10.1.2.3", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"},
        {"192.168.1.7", " 198.51.100.1 ", "198.51.100.1"},
        {"::ffff:10.1.2.3", "2001:db8::1", "2001:db8::1"},
        {"::1", "::ffff:198.51.100.1", "198.51.100.1"},
        /* Only trusted hops: the left-most. */
        {"10.1.2.3", "10.5.5.5", "10.5.5.5"},
        /* Garbage: the last trusted hop, never the garbage. */
        {"10.1.2.3", "not-an-address", "10.1.2.3"},
        {"10.1.2.3", "198.51.100.1, unknown, 10.9.9.9", "10.9.9.9"},
        {"10.1.2.3", "", "10.1.2.3"},
        {"10.1.2.3", ",", "10.1.2.3"},
        {"192.168.1.8", "198.51.100.1", "192.168.1.8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gateway_proxy_client(proxies, cases[i].peer, cases[i].xff, out);
        bool ok = !strcmp(out, cases[i].want);
        if (!ok)
            fprintf(stderr, "proxy case %zu: %s\n", i, out);
        SSO_CHECK(ok);
    }
    gateway_proxy_client(none, "10.1.2.3", "198.51.100.1", out);
    SSO_CHECK(!strcmp(out, "10.1.2.3"));
    gateway_proxy_client(empty, "10.1.2.3", "198.51.100.1", out);
    SSO_CHECK(!strcmp(out, "10.1.2.3"));
    /* A long chain of trusted hops is read only so far. */
    char chain[1024] = "198.51.100.1";
    for (int i = 0; i < GATEWAY_PROXY_HOPS_MAX + 4; i++)
        snprintf(chain + strlen(chain), sizeof chain - strlen(chain), ", 10.0.0.%d", i % 250);
    gateway_proxy_client(proxies, "10.1.2.3", chain, out);
    SSO_CHECK(!strncmp(out, "10.0.0.", 7));
    gateway_proxy_destroy(&none);
    gateway_proxy_destroy(&empty);
    gateway_proxy_destroy(&proxies);
    SSO_CHECK(!proxies);
}
