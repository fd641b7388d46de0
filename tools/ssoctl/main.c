/* ssoctl: the CLI over the broker's management API. Dispatch lives in ssoctl_cmd.c. */
#include "ssoctl_cmd.h"
#include <curl/curl.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "ssoctl: cannot initialise libcurl\n");
        return SSOCTL_EXIT_FAIL;
    }
    int rc = ssoctl_run(argc, argv, stdout, stderr);
    curl_global_cleanup();
    return rc;
}
