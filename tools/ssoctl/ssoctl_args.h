/* ssoctl_args: the command line as positionals plus long options, parsed once in one pass so
   options may appear anywhere (`ssoctl --json orgs list` == `ssoctl orgs list --json`). */
#ifndef SSOCTL_ARGS_H
#define SSOCTL_ARGS_H
#include <stdbool.h>
#include <stddef.h>

#define SSOCTL_ARGS_MAX 64

typedef struct {
    const char *name;  /* without the leading "--" */
    const char *value; /* NULL for a flag */
} ssoctl_opt_t;

typedef struct {
    const char *pos[SSOCTL_ARGS_MAX];
    size_t npos;
    ssoctl_opt_t opts[SSOCTL_ARGS_MAX];
    size_t nopts;
} ssoctl_args_t;

/* Parses argv[1..argc-1]. Strings are lent from argv. Returns 0, or -1 with a message in err
   (unknown option, missing value, a value given to a flag, a single option given twice). */
int ssoctl_args_parse(int argc, char **argv, ssoctl_args_t *args, char *err, size_t errlen);

/* Checks that every option given is a global one or in allowed (NULL-terminated), and that
   the positionals after the first `skip` number between min and max. 0, or -1 with err. */
int ssoctl_args_check(const ssoctl_args_t *args, const char *const *allowed, size_t skip,
                      size_t min, size_t max, char *err, size_t errlen);

/* The index-th option the parser knows (its name without "--"), or NULL past the last; with
   whether it takes a value and whether every command accepts it (either pointer may be
   NULL). For shell completion, which must know the same options as the parser. */
const char *ssoctl_args_spec(size_t index, bool *takes_value, bool *global);

/* Value of an option (the last one), or NULL. */
const char *ssoctl_args_get(const ssoctl_args_t *args, const char *name);
bool ssoctl_args_flag(const ssoctl_args_t *args, const char *name);
size_t ssoctl_args_count(const ssoctl_args_t *args, const char *name);
/* The index-th value of a repeatable option, or NULL. */
const char *ssoctl_args_nth(const ssoctl_args_t *args, const char *name, size_t index);

/* Splits text, the value of a KEY=VALUE option (`option` names it in messages), at its first
   '=': key gets a copy of KEY (keylen with the NUL), *value points into text. An empty key is
   refused, and so is an empty value unless allow_empty. 0, or -1 with err. */
int ssoctl_args_pair(const char *option, const char *text, bool allow_empty, char *key,
                     size_t keylen, const char **value, char *err, size_t errlen);

void ssoctl_args_test(bool verbose);
#endif
