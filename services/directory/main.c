/* sso-directory: the directory service. */
#include "dir_service.h"

int main(int argc, char **argv)
{
    return sso_service_main(argc, argv, &directory_service);
}
