/* ssoctl completion: a bash completion script made from the command table and the parser's
   option table, the same ones --help and the parser use, so it never lists a command or an
   option that does not exist or misses one that does. */
#include "ssoctl_cmd.h"
#include "ssoctl_util.h"
#include <stdlib.h>
#include <string.h>

/* The script's fixed part. _ssoctl_words (generated, before it) answers the words that may
   come next: "" the commands, a command its subcommands, "opts:<command words>" the options
   of that command. bash splits words at '=' and ':' ("--name=x", "http://x"): they are glued
   back first. Positionals are the words that are neither an option nor an option's value. */
static const char s_driver[] =
    "_ssoctl() {\n"
    "    local cur=${COMP_WORDS[COMP_CWORD]} word valued= glue= i\n"
    "    local -a words=() pos=()\n"
    "    COMPREPLY=()\n"
    "    for ((i = 1; i <= COMP_CWORD; i++)); do\n"
    "        word=${COMP_WORDS[i]}\n"
    "        if [[ -n $glue || $word == [=:] ]] && ((${#words[@]})); then\n"
    "            words[${#words[@]}-1]+=$word\n"
    "            glue=\n"
    "            [[ $word == [=:] ]] && glue=1\n"
    "        else\n"
    "            words+=(\"$word\")\n"
    "        fi\n"
    "    done\n"
    "    local last=$((${#words[@]} - 1))\n"
    "    for ((i = 0; i < last; i++)); do\n"
    "        word=${words[i]}\n"
    "        if [[ -n $valued ]]; then\n"
    "            valued=\n"
    "            continue\n"
    "        fi\n"
    "        case $word in\n"
    "        --*=*) ;;\n"
    "        -*) [[ \" $_ssoctl_valued \" == *\" ${word#--} \"* ]] && valued=$word ;;\n"
    "        *) pos+=(\"$word\") ;;\n"
    "        esac\n"
    "    done\n"
    "    [[ ${words[last]} == --*=* ]] && valued=${words[last]%%=*}\n"
    "    [[ $cur == [=:] ]] && cur=\n"
    "    if [[ -n $valued ]]; then\n"
    "        [[ $valued == --*-file ]] && COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "        return 0\n"
    "    fi\n"
    "    [[ ${pos[0]} == help ]] && pos=(\"${pos[@]:1}\")\n"
    "    local choices\n"
    "    if [[ $cur == -* ]]; then\n"
    "        choices=$(_ssoctl_words \"opts:${pos[0]} ${pos[1]}\")\n"
    "        [[ -z $choices ]] && choices=$(_ssoctl_words \"opts:${pos[0]}\")\n"
    "        choices=\"$_ssoctl_global $choices\"\n"
    "    elif ((${#pos[@]} < 2)); then\n"
    "        choices=$(_ssoctl_words \"${pos[0]}\")\n"
    "    fi\n"
    "    COMPREPLY=($(compgen -W \"$choices\" -- \"$cur\"))\n"
    "}\n"
    "complete -F _ssoctl ssoctl\n";

/* " --name --redirect-uri" for a command's own options. */
static void s_options(ssoctl_buf_t *buf, const char *const *options)
{
    for (size_t i = 0; options && options[i]; i++) {
        ssoctl_buf_puts(buf, " --");
        ssoctl_buf_puts(buf, options[i]);
    }
}

int ssoctl_completion_bash(char **out)
{
    size_t ngroups = 0;
    const ssoctl_cmd_t *const *groups = ssoctl_cmd_groups(&ngroups);
    ssoctl_buf_t buf = {0};
    ssoctl_buf_puts(&buf, "# bash completion for ssoctl, made by 'ssoctl completion bash'.\n"
                          "# Load it with: source <(ssoctl completion bash)\n");
    /* The options: every command's globals, and those that take a value. */
    ssoctl_buf_t global = {0}, valued = {0};
    bool takes_value = false, is_global = false;
    const char *name;
    for (size_t i = 0; (name = ssoctl_args_spec(i, &takes_value, &is_global)) != NULL; i++) {
        if (is_global) {
            ssoctl_buf_puts(&global, global.len ? " --" : "--");
            ssoctl_buf_puts(&global, name);
        }
        if (takes_value) {
            ssoctl_buf_puts(&valued, valued.len ? " " : "");
            ssoctl_buf_puts(&valued, name);
        }
    }
    char *global_text = ssoctl_buf_take(&global), *valued_text = ssoctl_buf_take(&valued);
    ssoctl_buf_puts(&buf, "_ssoctl_global='");
    ssoctl_buf_puts(&buf, global_text ? global_text : "");
    ssoctl_buf_puts(&buf, "'\n_ssoctl_valued='");
    ssoctl_buf_puts(&buf, valued_text ? valued_text : "");
    ssoctl_buf_puts(&buf, "'\n_ssoctl_words() {\n    case $1 in\n    '') echo 'help");
    bool failed = !global_text || !valued_text;
    free(global_text);
    free(valued_text);
    for (size_t g = 0; g < ngroups; g++) {
        ssoctl_buf_puts(&buf, " ");
        ssoctl_buf_puts(&buf, groups[g]->group);
    }
    ssoctl_buf_puts(&buf, "' ;;\n");
    for (size_t g = 0; g < ngroups; g++) {
        const ssoctl_cmd_t *group = groups[g];
        if (group->name) {
            ssoctl_buf_puts(&buf, "    '");
            ssoctl_buf_puts(&buf, group->group);
            ssoctl_buf_puts(&buf, "') echo '");
            for (const ssoctl_cmd_t *cmd = group; cmd->group; cmd++) {
                ssoctl_buf_puts(&buf, cmd == group ? "" : " ");
                ssoctl_buf_puts(&buf, cmd->name);
            }
            ssoctl_buf_puts(&buf, "' ;;\n");
        }
        for (const ssoctl_cmd_t *cmd = group; cmd->group; cmd++) {
            ssoctl_buf_puts(&buf, "    'opts:");
            ssoctl_buf_puts(&buf, cmd->group);
            if (cmd->name) {
                ssoctl_buf_puts(&buf, " ");
                ssoctl_buf_puts(&buf, cmd->name);
            }
            ssoctl_buf_puts(&buf, "') echo '");
            s_options(&buf, cmd->options);
            ssoctl_buf_puts(&buf, "' ;;\n");
        }
    }
    ssoctl_buf_puts(&buf, "    esac\n}\n");
    ssoctl_buf_puts(&buf, s_driver);
    *out = ssoctl_buf_take(&buf);
    if (failed) {
        free(*out);
        *out = NULL;
    }
    return *out ? 0 : -1;
}

static int s_bash(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    (void) args;
    if (ctx->json)
        return ssoctl_usage_error(ctx, "--json does not apply here: the script is bash");
    char *script = NULL;
    if (ssoctl_completion_bash(&script) != 0)
        return ssoctl_fail(ctx, "out of memory");
    int rc = fputs(script, ctx->out) < 0 ? ssoctl_fail(ctx, "cannot write the output") : 0;
    free(script);
    return rc;
}

const ssoctl_cmd_t ssoctl_completion_cmds[] = {
    {"completion", "bash", "completion bash", "Print a bash completion script for ssoctl.",
     "It completes the commands, their subcommands and each command's options, and file\n"
     "names after the options that read a file.\n"
     "\n"
     "Examples:\n"
     "  source <(ssoctl completion bash)        # this shell\n"
     "  ssoctl completion bash > ~/.local/share/bash-completion/completions/ssoctl\n",
     NULL, 0, 0, s_bash},
    {0},
};
