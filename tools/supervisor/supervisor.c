#include "supervisor.h"
#include "sso_bus_keys.h"
#include "sso_config.h"
#include "sso_log.h"
#include "sso_test.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------------------------ */

static int s_fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
    snprintf(err, errlen, fmt, arg);
    return -1;
}

static bool s_valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= SUP_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '-' && c != '_')))
            return false;
    }
    return true;
}

static int s_find_service(const sup_options_t *options, const char *name)
{
    for (size_t i = 0; i < options->service_count; i++)
        if (strcmp(options->services[i].name, name) == 0)
            return (int) i;
    return -1;
}

int sup_set_services(sup_options_t *options, const char *list, char *err, size_t errlen)
{
    options->service_count = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen(p);
        char name[SUP_NAME_MAX];
        if (len == 0)
            return s_fail(err, errlen, "--services: empty service name in \"%s\"", list);
        if (len >= sizeof name)
            return s_fail(err, errlen, "--services: service name too long in \"%s\"", list);
        memcpy(name, p, len);
        name[len] = '\0';
        if (!s_valid_name(name))
            return s_fail(err, errlen,
                          "--services: invalid service name \"%s\" (use lower-case letters, "
                          "digits, - and _)",
                          name);
        if (s_find_service(options, name) >= 0)
            return s_fail(err, errlen, "--services: %s is listed twice", name);
        if (options->service_count == SUP_MAX_SERVICES)
            return s_fail(err, errlen, "--services: too many services in \"%s\"", list);
        sup_service_t *service = &options->services[options->service_count++];
        memcpy(service->name, name, len + 1);
        service->count = 1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int sup_apply_scale(sup_options_t *options, const char *spec, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return s_fail(err, errlen, "--scale %s: expected NAME=N, e.g. token=2", spec);
    size_t len = (size_t) (eq - spec);
    char name[SUP_NAME_MAX];
    if (len >= sizeof name)
        return s_fail(err, errlen, "--scale %s: service name too long", spec);
    memcpy(name, spec, len);
    name[len] = '\0';
    int index = s_find_service(options, name);
    if (index < 0)
        return s_fail(err, errlen, "--scale %s: that service is not in --services", spec);
    long count = 0;
    if (sso_parse_int(eq + 1, 1, SUP_MAX_SCALE, &count) != 0) {
        snprintf(err, errlen, "--scale %s: N must be an integer from 1 to %d", spec,
                 SUP_MAX_SCALE);
        return -1;
    }
    if (count > 1 && strcmp(name, "gateway") == 0)
        return s_fail(err, errlen,
                      "--scale %s: the gateway binds SSO_HTTP_ADDR and SSO_BROKER_ENDPOINT, so "
                      "only one instance can run",
                      spec);
    options->services[index].count = (int) count;
    return 0;
}

/* Matches "--name VALUE" and "--name=VALUE". Returns 0 when argv[*i] is not this option, 1 when
   it is (value set, or NULL when missing); advances *i past a separate value. */
static int s_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0)
        return 0;
    if (arg[len] == '=') {
        *value = arg + len + 1;
        return 1;
    }
    if (arg[len] != '\0')
        return 0;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

int sup_parse_args(int argc, char **argv, sup_options_t *options, char *err, size_t errlen)
{
    memset(options, 0, sizeof *options);
    const char *services = NULL;
    const char *scales[SUP_MAX_SERVICES * 4];
    size_t scale_count = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
            options->help = true;
        else if (!strcmp(arg, "--selftest"))
            options->selftest = true;
        else if (s_option(argc, argv, &i, "--bin-dir", &value)) {
            if (!value || !*value)
                return s_fail(err, errlen, "%s needs a directory", "--bin-dir");
            if (strlen(value) >= sizeof options->bin_dir - 16)
                return s_fail(err, errlen, "%s: path too long", "--bin-dir");
            snprintf(options->bin_dir, sizeof options->bin_dir, "%s", value);
        }
        else if (s_option(argc, argv, &i, "--services", &value)) {
            if (!value || !*value)
                return s_fail(err, errlen, "%s needs a comma-separated list", "--services");
            services = value;
        }
        else if (s_option(argc, argv, &i, "--scale", &value)) {
            if (!value || !*value)
                return s_fail(err, errlen, "%s needs NAME=N", "--scale");
            if (scale_count == sizeof scales / sizeof scales[0])
                return s_fail(err, errlen, "too many %s options", "--scale");
            scales[scale_count++] = value;
        }
        else
            return s_fail(err, errlen, "unknown argument %s", arg);
    }
    if (options->help || options->selftest)
        return 0;
    if (!*options->bin_dir)
        return s_fail(err, errlen, "%s is required", "--bin-dir DIR");
    if (sup_set_services(options, services ? services : SUP_DEFAULT_SERVICES, err, errlen))
        return -1;
    for (size_t i = 0; i < scale_count; i++)
        if (sup_apply_scale(options, scales[i], err, errlen))
            return -1;
    return 0;
}

int64_t sup_backoff_delay(int64_t *backoff_ms, int64_t uptime_ms)
{
    if (uptime_ms >= SUP_BACKOFF_RESET_UPTIME_MS || *backoff_ms < SUP_BACKOFF_MIN_MS)
        *backoff_ms = SUP_BACKOFF_MIN_MS;
    if (*backoff_ms > SUP_BACKOFF_MAX_MS)
        *backoff_ms = SUP_BACKOFF_MAX_MS;
    int64_t delay = *backoff_ms;
    *backoff_ms = delay * 2 > SUP_BACKOFF_MAX_MS ? SUP_BACKOFF_MAX_MS : delay * 2;
    return delay;
}

void sup_print_usage(FILE *out)
{
    fprintf(out,
            "Usage: sso-supervisor --bin-dir DIR [--services LIST] [--scale NAME=N]... [--help]\n"
            "\n"
            "Runs every service of the SSO broker on this machine: starts DIR/sso-<name> for\n"
            "each service, restarts an instance that exits or dies (backoff %d ms doubling to\n"
            "%d ms, back to %d ms after %d s of uptime), and on SIGINT, SIGTERM or SIGHUP\n"
            "stops them all (SIGTERM, SIGKILL after %d s). Each instance's pid is in\n"
            "$SSO_DATA_DIR/run/<name>-<index>.pid while it runs.\n"
            "\n"
            "  --bin-dir DIR      where the sso-* binaries are (required)\n"
            "  --services LIST    comma-separated services to run, in start order\n"
            "                     (default %s)\n"
            "  --scale NAME=N     run N instances of NAME (1 to %d; repeatable), e.g. token=2\n"
            "  --help             this text\n"
            "\n"
            "The bus is private: before starting anything it makes sure the CURVE keys of\n"
            "the broker and of each service are in $SSO_BUS_KEYS_DIR (default\n"
            "$SSO_DATA_DIR/bus; generated when it holds none of them, directory 0700, files\n"
            "0600; a partial set is refused, naming what is missing). The gateway's broker\n"
            "admits only those keys, and each service only as itself.\n"
            "\n"
            "Environment: every child gets the supervisor's environment (SSO_PUBLIC_URL,\n"
            "SSO_HTTP_ADDR, SSO_BROKER_ENDPOINT, SSO_DATA_DIR, SSO_BUS_KEYS_DIR,\n"
            "SSO_LOG_FORMAT, ...).\n",
            SUP_BACKOFF_MIN_MS, SUP_BACKOFF_MAX_MS, SUP_BACKOFF_MIN_MS,
            SUP_BACKOFF_RESET_UPTIME_MS / 1000, SUP_STOP_GRACE_MS / 1000, SUP_DEFAULT_SERVICES,
            SUP_MAX_SCALE);
}

/* ---- instances ---------------------------------------------------------------------------- */

typedef struct {
    const char *name; /* the service's, in the options */
    int index;        /* 1-based within the service */
    pid_t pid;        /* 0 when not running */
    int64_t started_ms;
    int64_t restart_at_ms; /* when pid is 0: the time to start it (again) */
    int64_t backoff_ms;
    unsigned restarts;
    char pid_path[SUP_PATH_MAX + 64];
} sup_instance_t;

/* The instance table of the options, in start order: every instance of the first service,
   then the next. Returns the number written (at most capacity). */
static size_t s_build_instances(const sup_options_t *options, sup_instance_t *out,
                                size_t capacity)
{
    size_t n = 0;
    for (size_t s = 0; s < options->service_count; s++)
        for (int i = 1; i <= options->services[s].count && n < capacity; i++) {
            memset(&out[n], 0, sizeof out[n]);
            out[n].name = options->services[s].name;
            out[n].index = i;
            out[n].backoff_ms = SUP_BACKOFF_MIN_MS;
            n++;
        }
    return n;
}

static size_t s_instance_total(const sup_options_t *options)
{
    size_t total = 0;
    for (size_t s = 0; s < options->service_count; s++)
        total += (size_t) options->services[s].count;
    return total;
}

static void s_describe_status(int status, char *out, size_t size)
{
    if (WIFEXITED(status))
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(out, size, "was killed by signal %d%s%s%s%s", sig, abbrev ? " (SIG" : "",
                 abbrev ? abbrev : "", abbrev ? ")" : "", WCOREDUMP(status) ? ", core dumped" : "");
    }
    else
        snprintf(out, size, "ended with wait status %d", status);
}

/* ---- runtime ------------------------------------------------------------------------------ */

typedef struct {
    const sup_options_t *options;
    sso_config_t config;
    sup_instance_t *instances;
    size_t count;
    char run_dir[SUP_PATH_MAX];
    char credentials_path[SUP_PATH_MAX];
    int lock_fd;
    bool stopping;
    bool killed;
    int64_t kill_at_ms;
    bool banner_pending;
    bool wait_credentials;
    int64_t banner_deadline_ms;
} sup_state_t;

static int s_signal_pipe[2] = {-1, -1};

static void s_on_signal(int sig)
{
    int saved = errno;
    unsigned char byte = (unsigned char) sig;
    ssize_t written = write(s_signal_pipe[1], &byte, 1);
    (void) written; /* a full pipe already holds a wake-up */
    errno = saved;
}

static const int s_handled_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_write_pid_file(const sup_state_t *state, const sup_instance_t *inst)
{
    char tmp[SUP_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s/.%s-%d.pid.tmp", state->run_dir, inst->name, inst->index);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    char text[32];
    int len = snprintf(text, sizeof text, "%d\n", (int) inst->pid);
    bool ok = write(fd, text, (size_t) len) == len;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, inst->pid_path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Takes run/supervisor.lock so two supervisors never share a data dir, then removes pid files
   a previous (killed) supervisor left behind. */
static int s_lock_run_dir(sup_state_t *state)
{
    char path[SUP_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/supervisor.lock", state->run_dir);
    state->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (state->lock_fd < 0) {
        sso_error("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(state->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char other[32] = "";
        ssize_t n = pread(state->lock_fd, other, sizeof other - 1, 0);
        other[n > 0 ? n : 0] = '\0';
        other[strcspn(other, "\n")] = '\0';
        sso_error("another sso-supervisor (pid %s) already runs with data dir %s; stop it first",
                  *other ? other : "?", state->config.data_dir);
        return -1;
    }
    char text[32];
    int len = snprintf(text, sizeof text, "%d\n", (int) getpid());
    if (ftruncate(state->lock_fd, 0) != 0 || pwrite(state->lock_fd, text, (size_t) len, 0) != len)
        sso_warn("cannot write %s: %s", path, strerror(errno));
    DIR *dir = opendir(state->run_dir);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            size_t len_name = strlen(entry->d_name);
            if (len_name > 4 && strcmp(entry->d_name + len_name - 4, ".pid") == 0)
                unlinkat(dirfd(dir), entry->d_name, 0);
        }
        closedir(dir);
    }
    return 0;
}

static void s_start(sup_state_t *state, sup_instance_t *inst, int64_t now)
{
    char path[SUP_PATH_MAX + SUP_NAME_MAX + 8];
    snprintf(path, sizeof path, "%s/sso-%s", state->options->bin_dir, inst->name);
    char *child_argv[] = {path, NULL};
    pid_t parent = getpid();

    /* No handler of ours may run in the child before exec. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        for (size_t i = 0; i < sizeof s_handled_signals / sizeof s_handled_signals[0]; i++)
            sigaction(s_handled_signals[i], &dfl, NULL);
        sigaction(SIGPIPE, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Dies with the supervisor even if the supervisor is SIGKILLed: no orphan. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        execv(path, child_argv);
        /* The supervisor is single-threaded, so logging here is safe. */
        sso_error("cannot run %s: %s", path, strerror(errno));
        _exit(127);
    }
    int fork_errno = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        int64_t delay = sup_backoff_delay(&inst->backoff_ms, 0);
        inst->restart_at_ms = now + delay;
        sso_error("cannot fork %s-%d: %s; trying again in %lld ms", inst->name, inst->index,
                  strerror(fork_errno), (long long) delay);
        return;
    }
    inst->pid = pid;
    inst->started_ms = now;
    if (s_write_pid_file(state, inst) != 0)
        sso_warn("cannot write %s: %s", inst->pid_path, strerror(errno));
    if (inst->restarts)
        sso_info("restarted %s-%d (pid %d, restart %u)", inst->name, inst->index, (int) pid,
                 inst->restarts);
    else
        sso_info("started %s-%d (pid %d)", inst->name, inst->index, (int) pid);
}

static void s_reap(sup_state_t *state)
{
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        int64_t now = s_now_ms();
        sup_instance_t *inst = NULL;
        for (size_t i = 0; i < state->count && !inst; i++)
            if (state->instances[i].pid == pid)
                inst = &state->instances[i];
        if (!inst)
            continue;
        inst->pid = 0;
        if (unlink(inst->pid_path) != 0 && errno != ENOENT)
            sso_warn("cannot remove %s: %s", inst->pid_path, strerror(errno));
        char how[96];
        s_describe_status(status, how, sizeof how);
        int64_t uptime = now - inst->started_ms;
        if (state->stopping) {
            sso_info("%s-%d (pid %d) %s", inst->name, inst->index, (int) pid, how);
            continue;
        }
        int64_t delay = sup_backoff_delay(&inst->backoff_ms, uptime);
        inst->restart_at_ms = now + delay;
        inst->restarts++;
        sso_warn("%s-%d (pid %d) %s after %lld.%01lld s; restarting in %lld ms", inst->name,
                 inst->index, (int) pid, how, (long long) (uptime / 1000),
                 (long long) (uptime % 1000 / 100), (long long) delay);
    }
}

static size_t s_running(const sup_state_t *state)
{
    size_t n = 0;
    for (size_t i = 0; i < state->count; i++)
        n += state->instances[i].pid > 0;
    return n;
}

static void s_signal_all(sup_state_t *state, int sig)
{
    for (size_t i = 0; i < state->count; i++)
        if (state->instances[i].pid > 0)
            kill(state->instances[i].pid, sig);
}

static void s_on_stop_signal(sup_state_t *state, int sig, int64_t now)
{
    const char *name = sigabbrev_np(sig);
    if (!state->stopping) {
        state->stopping = true;
        state->banner_pending = false;
        state->kill_at_ms = now + SUP_STOP_GRACE_MS;
        sso_info("SIG%s: stopping %zu instance(s) (SIGTERM, SIGKILL after %d s)",
                 name ? name : "?", s_running(state), SUP_STOP_GRACE_MS / 1000);
        s_signal_all(state, SIGTERM);
    }
    else if (!state->killed) {
        state->killed = true;
        sso_warn("SIG%s again: SIGKILL to %zu remaining instance(s)", name ? name : "?",
                 s_running(state));
        s_signal_all(state, SIGKILL);
    }
}

static void s_print_banner(sup_state_t *state)
{
    state->banner_pending = false;
    const char *bin = state->options->bin_dir;
    char credentials[SUP_PATH_MAX + 128];
    const char *env_id = state->config.admin_client_id;
    if (access(state->credentials_path, F_OK) == 0)
        snprintf(credentials, sizeof credentials, "%s", state->credentials_path);
    else if (env_id && *env_id)
        snprintf(credentials, sizeof credentials,
                 "from the environment (SSO_ADMIN_CLIENT_ID / SSO_ADMIN_CLIENT_SECRET)");
    else if (state->wait_credentials)
        snprintf(credentials, sizeof credentials,
                 "%s was not written within %d s; check the directory service's log above",
                 state->credentials_path, SUP_CREDENTIALS_WAIT_MS / 1000);
    else
        snprintf(credentials, sizeof credentials,
                 "%s does not exist (the directory service is not run by this supervisor)",
                 state->credentials_path);
    printf("\n"
           "==============================================================================\n"
           "  SSO broker running: %zu services, %zu instances\n"
           "\n"
           "  Discovery URL:      %s/.well-known/openid-configuration\n"
           "  Admin credentials:  %s\n"
           "  Bus:                %s (CURVE keys in %s)\n"
           "\n"
           "  Try:\n"
           "    %s/ssoctl orgs create --name \"Acme\"\n"
           "    %s/ssoctl domains add <org_id> acme.com\n"
           "    %s/ssoctl connections create-saml <org_id> --metadata-file idp.xml\n"
           "    %s/ssoctl events\n"
           "\n"
           "  Ctrl-C stops everything.\n"
           "==============================================================================\n"
           "\n",
           state->options->service_count, state->count, state->config.public_url, credentials,
           state->config.broker_endpoint, state->config.bus_keys_dir, bin, bin, bin, bin);
    fflush(stdout);
}

static int s_install_signals(void)
{
    if (pipe2(s_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    for (size_t i = 0; i < sizeof s_handled_signals / sizeof s_handled_signals[0]; i++)
        if (sigaction(s_handled_signals[i], &sa, NULL) != 0)
            return -1;
    /* The banner goes to stdout; a closed reader must not kill the supervisor. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void s_close_signals(void)
{
    for (int i = 0; i < 2; i++)
        if (s_signal_pipe[i] >= 0) {
            close(s_signal_pipe[i]);
            s_signal_pipe[i] = -1;
        }
}

static int s_prepare(sup_state_t *state)
{
    const sup_options_t *options = state->options;
    for (size_t s = 0; s < options->service_count; s++) {
        char path[SUP_PATH_MAX + SUP_NAME_MAX + 8];
        snprintf(path, sizeof path, "%s/sso-%s", options->bin_dir, options->services[s].name);
        if (access(path, X_OK) != 0) {
            sso_error("%s: %s (build it with `make build`, or check --bin-dir)", path,
                      strerror(errno));
            return -1;
        }
    }
    if (snprintf(state->run_dir, sizeof state->run_dir, "%s/run", state->config.data_dir)
            >= (int) sizeof state->run_dir - SUP_NAME_MAX - 32
        || snprintf(state->credentials_path, sizeof state->credentials_path,
                    "%s/admin-credentials", state->config.data_dir)
               >= (int) sizeof state->credentials_path) {
        sso_error("SSO_DATA_DIR is too long");
        return -1;
    }
    /* The data dir holds the master key and the admin credentials: private by default. */
    if (sso_mkdirs(state->config.data_dir, 0700) != 0 || sso_mkdirs(state->run_dir, 0700) != 0) {
        sso_error("cannot create %s: %s", state->run_dir, strerror(errno));
        return -1;
    }
    if (s_lock_run_dir(state) != 0)
        return -1;
    /* The bus keys, before any child starts: made once here, read by every child, so every
       child's part must be there. */
    char why[1200];
    sso_bus_keys_t *keys = sso_bus_keys_make(state->config.bus_keys_dir, NULL, true, why,
                                             sizeof why);
    if (!keys) {
        sso_error("bus keys: %s", why);
        return -1;
    }
    sso_bus_keys_destroy(&keys);
    state->count = s_instance_total(options);
    state->instances = calloc(state->count, sizeof *state->instances);
    if (!state->instances) {
        sso_error("out of memory");
        return -1;
    }
    s_build_instances(options, state->instances, state->count);
    for (size_t i = 0; i < state->count; i++) {
        sup_instance_t *inst = &state->instances[i];
        snprintf(inst->pid_path, sizeof inst->pid_path, "%s/%s-%d.pid", state->run_dir,
                 inst->name, inst->index);
    }
    return 0;
}

int sup_run(const sup_options_t *options)
{
    sup_state_t state;
    memset(&state, 0, sizeof state);
    state.options = options;
    state.lock_fd = -1;
    if (sso_config_load(&state.config) != 0)
        return 2;
    sso_log_init("supervisor", state.config.log_format, state.config.log_level,
                 state.config.log_debug);
    int status = 1;
    if (s_prepare(&state) != 0)
        goto done;
    if (s_install_signals() != 0) {
        sso_error("cannot set up signal handling: %s", strerror(errno));
        goto done;
    }
    int64_t start = s_now_ms();
    state.banner_pending = true;
    state.wait_credentials = s_find_service(options, "directory") >= 0;
    state.banner_deadline_ms = start + (state.wait_credentials ? SUP_CREDENTIALS_WAIT_MS : 0);
    sso_info("supervising %zu instances of %zu services from %s (data dir %s)", state.count,
             options->service_count, options->bin_dir, state.config.data_dir);

    for (;;) {
        int64_t now = s_now_ms();
        if (!state.stopping)
            for (size_t i = 0; i < state.count; i++)
                if (state.instances[i].pid == 0 && state.instances[i].restart_at_ms <= now)
                    s_start(&state, &state.instances[i], now);
        if (state.banner_pending
            && (now >= state.banner_deadline_ms || access(state.credentials_path, F_OK) == 0))
            s_print_banner(&state);
        if (state.stopping) {
            if (s_running(&state) == 0)
                break;
            if (!state.killed && now >= state.kill_at_ms) {
                state.killed = true;
                sso_warn("%zu instance(s) still running after %d s: SIGKILL", s_running(&state),
                         SUP_STOP_GRACE_MS / 1000);
                s_signal_all(&state, SIGKILL);
            }
        }

        /* Sleep until a signal, a child's death or the next deadline. */
        int64_t wake = now + 60000;
        if (!state.stopping)
            for (size_t i = 0; i < state.count; i++)
                if (state.instances[i].pid == 0 && state.instances[i].restart_at_ms < wake)
                    wake = state.instances[i].restart_at_ms;
        if (state.banner_pending) {
            int64_t next_check = now + 200;
            wake = wake < next_check ? wake : next_check;
        }
        if (state.stopping) {
            int64_t limit = state.killed ? now + 1000 : state.kill_at_ms;
            wake = wake < limit ? wake : limit;
        }
        struct pollfd pfd = {.fd = s_signal_pipe[0], .events = POLLIN};
        int timeout = wake > now ? (int) (wake - now) : 0;
        if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
            sso_error("poll: %s", strerror(errno));
            if (!state.stopping)
                s_on_stop_signal(&state, SIGTERM, s_now_ms());
        }
        /* Stop signals before deaths, so children that died of the same Ctrl-C are not
           scheduled for a restart. */
        unsigned char bytes[64];
        ssize_t n;
        while ((n = read(s_signal_pipe[0], bytes, sizeof bytes)) > 0)
            for (ssize_t i = 0; i < n; i++)
                if (bytes[i] != SIGCHLD)
                    s_on_stop_signal(&state, bytes[i], s_now_ms());
        s_reap(&state);
    }
    sso_info("all instances stopped");
    status = 0;

done:
    s_close_signals();
    if (state.lock_fd >= 0)
        close(state.lock_fd);
    free(state.instances);
    return status;
}

/* ---- self-test ---------------------------------------------------------------------------- */

static int s_parse(sup_options_t *options, char *err, size_t errlen, int argc, ...)
{
    char *argv[32] = {"sso-supervisor"};
    va_list args;
    va_start(args, argc);
    for (int i = 1; i < argc && i < 32; i++)
        argv[i] = va_arg(args, char *);
    va_end(args);
    return sup_parse_args(argc, argv, options, err, errlen);
}

void sup_selftest(bool verbose)
{
    sup_options_t o;
    char err[256];

    /* Defaults. */
    SSO_CHECK(s_parse(&o, err, sizeof err, 3, "--bin-dir", "build/bin") == 0);
    SSO_CHECK(strcmp(o.bin_dir, "build/bin") == 0);
    SSO_CHECK(o.service_count == 6);
    SSO_CHECK(strcmp(o.services[0].name, "directory") == 0);
    SSO_CHECK(strcmp(o.services[4].name, "scim") == 0);
    SSO_CHECK(strcmp(o.services[5].name, "gateway") == 0);
    SSO_CHECK(o.services[1].count == 1 && !o.help && !o.selftest);
    SSO_CHECK(s_parse(&o, err, sizeof err, 2, "--bin-dir=/opt/sso/bin") == 0);
    SSO_CHECK(strcmp(o.bin_dir, "/opt/sso/bin") == 0);

    /* --help and --selftest need nothing else. */
    SSO_CHECK(s_parse(&o, err, sizeof err, 2, "--help") == 0 && o.help);
    SSO_CHECK(s_parse(&o, err, sizeof err, 2, "-h") == 0 && o.help);
    SSO_CHECK(s_parse(&o, err, sizeof err, 2, "--selftest") == 0 && o.selftest);

    /* Errors. */
    SSO_CHECK(s_parse(&o, err, sizeof err, 1) == -1 && strstr(err, "--bin-dir"));
    SSO_CHECK(s_parse(&o, err, sizeof err, 2, "--bin-dir") == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 2, "--bin-dir=") == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 3, "--bin-dir", "b") == 0);
    SSO_CHECK(s_parse(&o, err, sizeof err, 4, "--bin-dir", "b", "--verbose") == -1
              && strstr(err, "--verbose"));
    SSO_CHECK(s_parse(&o, err, sizeof err, 3, "--bin-dirx", "b") == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 4, "--bin-dir", "b", "--services") == -1);

    /* --services. */
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--services", "token,gateway")
              == 0);
    SSO_CHECK(o.service_count == 2 && strcmp(o.services[0].name, "token") == 0
              && strcmp(o.services[1].name, "gateway") == 0);
    SSO_CHECK(sup_set_services(&o, "token", err, sizeof err) == 0 && o.service_count == 1);
    SSO_CHECK(sup_set_services(&o, "my-svc_2", err, sizeof err) == 0);
    SSO_CHECK(sup_set_services(&o, "token,,saml", err, sizeof err) == -1);
    SSO_CHECK(sup_set_services(&o, "token,", err, sizeof err) == -1);
    SSO_CHECK(sup_set_services(&o, ",token", err, sizeof err) == -1);
    SSO_CHECK(sup_set_services(&o, "", err, sizeof err) == -1);
    SSO_CHECK(sup_set_services(&o, "token,token", err, sizeof err) == -1
              && strstr(err, "twice"));
    SSO_CHECK(sup_set_services(&o, "Token", err, sizeof err) == -1);
    SSO_CHECK(sup_set_services(&o, "../etc", err, sizeof err) == -1);
    SSO_CHECK(sup_set_services(&o, "a/b", err, sizeof err) == -1);
    SSO_CHECK(sup_set_services(&o, "-x", err, sizeof err) == -1);
    SSO_CHECK(sup_set_services(&o, "abcdefghijabcdefghijabcdefghijab", err, sizeof err) == -1);
    SSO_CHECK(sup_set_services(&o, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", err, sizeof err) == 0
              && o.service_count == 16);
    SSO_CHECK(sup_set_services(&o, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", err, sizeof err) == -1);

    /* --scale and the scale table. */
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "token=2") == 0);
    SSO_CHECK(o.services[1].count == 2 && o.services[0].count == 1);
    SSO_CHECK(s_instance_total(&o) == 7);
    sup_instance_t table[8];
    SSO_CHECK(s_build_instances(&o, table, 8) == 7);
    SSO_CHECK(strcmp(table[0].name, "directory") == 0 && table[0].index == 1);
    SSO_CHECK(strcmp(table[1].name, "token") == 0 && table[1].index == 1);
    SSO_CHECK(strcmp(table[2].name, "token") == 0 && table[2].index == 2);
    SSO_CHECK(strcmp(table[6].name, "gateway") == 0 && table[6].index == 1);
    SSO_CHECK(table[2].pid == 0 && table[2].backoff_ms == SUP_BACKOFF_MIN_MS);
    SSO_CHECK(s_build_instances(&o, table, 3) == 3);
    /* Scale before --services, several scales, the last one for a name wins. */
    SSO_CHECK(s_parse(&o, err, sizeof err, 10, "--scale=token=3", "--scale", "saml=2",
                      "--services", "token,saml", "--bin-dir", "b", "--scale", "token=4")
              == 0);
    SSO_CHECK(o.services[0].count == 4 && o.services[1].count == 2 && s_instance_total(&o) == 6);
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "nope=2") == -1
              && strstr(err, "not in --services"));
    SSO_CHECK(s_parse(&o, err, sizeof err, 7, "--bin-dir", "b", "--services", "token",
                      "--scale", "saml=2")
              == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "token=0") == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "token=65") == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "token=64") == 0
              && o.services[1].count == 64);
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "token=2x") == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "token=") == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "token") == -1
              && strstr(err, "NAME=N"));
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "=2") == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 4, "--bin-dir", "b", "--scale") == -1);
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "gateway=2") == -1
              && strstr(err, "only one"));
    SSO_CHECK(s_parse(&o, err, sizeof err, 5, "--bin-dir", "b", "--scale", "gateway=1") == 0);

    /* Backoff: 100 ms doubling to 5 s, back to 100 ms after 10 s of uptime. */
    int64_t backoff = SUP_BACKOFF_MIN_MS;
    const int64_t expected[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
    bool sequence_ok = true;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        sequence_ok = sup_backoff_delay(&backoff, 50) == expected[i] && sequence_ok;
    SSO_CHECK(sequence_ok);
    SSO_CHECK(sup_backoff_delay(&backoff, SUP_BACKOFF_RESET_UPTIME_MS - 1) == 5000);
    SSO_CHECK(sup_backoff_delay(&backoff, SUP_BACKOFF_RESET_UPTIME_MS) == 100);
    SSO_CHECK(sup_backoff_delay(&backoff, 0) == 200);
    SSO_CHECK(sup_backoff_delay(&backoff, 60000) == 100);
    backoff = 0;
    SSO_CHECK(sup_backoff_delay(&backoff, 0) == 100);
    backoff = 1000000;
    SSO_CHECK(sup_backoff_delay(&backoff, 0) == 5000);

    /* How a death is reported (Linux wait status encoding). */
    char how[96];
    s_describe_status(3 << 8, how, sizeof how);
    SSO_CHECK(strcmp(how, "exited with status 3") == 0);
    s_describe_status(SIGKILL, how, sizeof how);
    SSO_CHECK(strcmp(how, "was killed by signal 9 (SIGKILL)") == 0);
    s_describe_status(SIGSEGV | 0x80, how, sizeof how);
    SSO_CHECK(strcmp(how, "was killed by signal 11 (SIGSEGV), core dumped") == 0);
    if (verbose)
        printf("last status text: %s\n", how);
}
