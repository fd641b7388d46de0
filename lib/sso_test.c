#include "sso_test.h"
#include "bus.pb-c.h"
#include <czmq.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sso_test_passed = 0;
int sso_test_failed = 0;

/* Hard caps: a runner has a few dozen modules and is asked for a few. */
#define S_MAX_KNOWN 128
#define S_MAX_WANTED 16

static const char *s_known[S_MAX_KNOWN]; /* the SSO_RUN names seen, in order */
static size_t s_known_count;
static const char *s_wanted[S_MAX_WANTED]; /* the modules named, "dir_codes" */
static bool s_wanted_found[S_MAX_WANTED];
static size_t s_wanted_count;

int sso_test_select(const char *module)
{
    if (!module || !*module || s_wanted_count == S_MAX_WANTED)
        return -1;
    s_wanted[s_wanted_count] = module;
    s_wanted_found[s_wanted_count++] = false;
    return 0;
}

int sso_test_args(int argc, char **argv, bool *verbose)
{
    *verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            *verbose = true;
        else if (argv[i][0] == '-' || sso_test_select(argv[i]) != 0) {
            fprintf(stderr, "usage: %s [-v] [MODULE...] (at most %d modules)\n", argv[0],
                    S_MAX_WANTED);
            return -1;
        }
    }
    return 0;
}

/* "dir_codes" names "dir_codes_test"; the full name does too. */
static bool s_names(const char *module, const char *test)
{
    size_t len = strlen(module);
    return strcmp(module, test) == 0
           || (strncmp(module, test, len) == 0 && strcmp(test + len, "_test") == 0);
}

bool sso_test_selected(const char *test)
{
    if (s_known_count < S_MAX_KNOWN)
        s_known[s_known_count++] = test;
    bool selected = s_wanted_count == 0;
    for (size_t i = 0; i < s_wanted_count; i++)
        if (s_names(s_wanted[i], test))
            selected = s_wanted_found[i] = true;
    return selected;
}

int sso_test_summary(void)
{
    bool unknown = false;
    for (size_t i = 0; i < s_wanted_count; i++)
        if (!s_wanted_found[i]) {
            fprintf(stderr, "no module %s here; the modules are:", s_wanted[i]);
            for (size_t k = 0; k < s_known_count; k++) {
                size_t len = strlen(s_known[k]);
                int shown = len > 5 && !strcmp(s_known[k] + len - 5, "_test") ? (int) (len - 5)
                                                                             : (int) len;
                fprintf(stderr, " %.*s", shown, s_known[k]);
            }
            fprintf(stderr, "%s\n", s_known_count ? "" : " (none)");
            unknown = true;
        }
    if (unknown)
        return 2;
    printf("%d passed, %d failed\n", sso_test_passed, sso_test_failed);
    /* LeakSanitizer reports at exit and ends the process before stdio is flushed: the
       summary must be out by then, or a leak would hide every count. */
    fflush(stdout);
    return sso_test_failed == 0 ? 0 : 1;
}

int sso_test_listen(int *fd)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0 || bind(*fd, (struct sockaddr *) &addr, sizeof addr) != 0 || listen(*fd, 16) != 0
        || getsockname(*fd, (struct sockaddr *) &addr, &len) != 0)
        return -1;
    return ntohs(addr.sin_port);
}

size_t sso_test_read_head(int fd, char *buffer, size_t size, int timeout_ms)
{
    size_t got = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    buffer[0] = '\0';
    while (got < size - 1 && poll(&pfd, 1, timeout_ms) > 0) {
        ssize_t n = read(fd, buffer + got, size - 1 - got);
        if (n <= 0)
            break;
        got += (size_t) n;
        buffer[got] = '\0';
        if (strstr(buffer, "\r\n\r\n"))
            break;
    }
    return got;
}

void sso_test_test(bool verbose)
{
    (void) verbose;
    /* Matching only: the runner's selection itself is checked by scripts/unit.sh, which runs
       one module of each binary and an unknown one. */
    SSO_CHECK(s_names("dir_codes", "dir_codes_test") && s_names("dir_codes_test", "dir_codes_test"));
    SSO_CHECK(!s_names("dir_code", "dir_codes_test") && !s_names("dir", "dir_codes_test")
              && !s_names("dir_codes_", "dir_codes_test") && !s_names("", "dir_codes_test")
              && !s_names("dir_codes_test_test", "dir_codes_test"));
}

Sso__HttpResponse *sso_test_http_unpack(zframe_t *frame)
{
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    return response;
}

const char *sso_test_http_header(const Sso__HttpResponse *response, const char *name)
{
    for (size_t i = 0; response && i < response->n_headers; i++)
        if (!strcasecmp(response->headers[i]->name, name))
            return response->headers[i]->value;
    return "";
}
