/* supervisor: runs every service of the broker as a child process on one machine (`make run`).

   Starts each instance of each service (fork/exec of <bin dir>/sso-<name>), records its pid in
   <data dir>/run/<name>-<index>.pid, restarts an instance that exits or dies with exponential
   backoff, prints a banner once the directory service has written the admin credentials, and
   on SIGINT/SIGTERM stops every child (SIGTERM, then SIGKILL after a grace period) and reaps it.

   The pure parts (option parsing, the scale table, backoff) are separate functions so the
   hidden `--selftest` can check them without starting anything. */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SUP_MAX_SERVICES 16
#define SUP_MAX_SCALE 64
#define SUP_NAME_MAX 32
#define SUP_PATH_MAX 1024
#define SUP_DEFAULT_SERVICES "directory,token,saml,oidc,scim,gateway"

/* Backoff between restarts of one instance (milliseconds). */
#define SUP_BACKOFF_MIN_MS 100
#define SUP_BACKOFF_MAX_MS 5000
#define SUP_BACKOFF_RESET_UPTIME_MS 10000
/* How long stopping children get between SIGTERM and SIGKILL. */
#define SUP_STOP_GRACE_MS 5000
/* How long the banner waits for <data dir>/admin-credentials. */
#define SUP_CREDENTIALS_WAIT_MS 15000

typedef struct {
    char name[SUP_NAME_MAX]; /* service name: binary sso-<name>, pid files <name>-<i>.pid */
    int count;               /* instances to run */
} sup_service_t;

typedef struct {
    char bin_dir[SUP_PATH_MAX];
    sup_service_t services[SUP_MAX_SERVICES]; /* in start order */
    size_t service_count;
    bool help;
    bool selftest;
} sup_options_t;

/* Parses argv (argv[0] is skipped). Returns 0, or -1 with a one-line reason in err. With
   --help or --selftest nothing else is required. */
int sup_parse_args(int argc, char **argv, sup_options_t *options, char *err, size_t errlen);

/* Fills the service table from a comma list (every count 1). Returns 0 or -1 with err. */
int sup_set_services(sup_options_t *options, const char *list, char *err, size_t errlen);

/* Applies one NAME=N to the table. Returns 0 or -1 with err. */
int sup_apply_scale(sup_options_t *options, const char *spec, char *err, size_t errlen);

/* The delay before restarting an instance that just exited after uptime_ms, given its current
   backoff state (SUP_BACKOFF_MIN_MS initially); updates the state for the next death. An
   instance that stayed up SUP_BACKOFF_RESET_UPTIME_MS starts again from the minimum. */
int64_t sup_backoff_delay(int64_t *backoff_ms, int64_t uptime_ms);

void sup_print_usage(FILE *out);

/* Supervises until SIGINT/SIGTERM. Returns the process exit status. */
int sup_run(const sup_options_t *options);

void sup_selftest(bool verbose);
#endif
