/* sso-supervisor: runs every service of the broker on one machine (`make run`). Options and
   the process; the logic is in supervisor.c. */
#include "supervisor.h"
#include "sso_test.h"
#include <string.h>

int main(int argc, char **argv)
{
    sup_options_t options;
    char err[512];
    if (sup_parse_args(argc, argv, &options, err, sizeof err) != 0) {
        fprintf(stderr, "sso-supervisor: %s (try --help)\n", err);
        return 2;
    }
    if (options.help) {
        sup_print_usage(stdout);
        return 0;
    }
    if (options.selftest) {
        sup_selftest(false);
        return sso_test_summary();
    }
    return sup_run(&options);
}
