/*
 * main.c - the ibdcrypt CLI: global options, then one subcommand.
 *
 *   ibdcrypt [global options] COMMAND [options] [args]
 *
 * Global options may come before or after the command name. Each subcommand lives in its own
 * file (cmd_<name>.c) and knows nothing about SIMD.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_command *const commands[] = {
    &cmd_cpu,
    &cmd_inspect,
    &cmd_verify,
    &cmd_backup,
    &cmd_prepare,
    &cmd_rekey,
    &cmd_demo,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: ibdcrypt [global options] COMMAND [options] [args]\n"
            "\n"
            "Verify, back up, re-key and inspect encrypted InnoDB data files (MariaDB\n"
            "data-at-rest encryption), on AES/CRC32C kernels chosen for this CPU.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out,
            "\n"
            "Global options:\n"
            "  --isa=TIER        auto (default), portable, aesni, vaes256, vaes512, armce\n"
            "  --threads=N       worker threads (alias --parallel=N; default: all cores)\n"
            "  --json            machine-readable report on stdout\n"
            "  --progress=MODE   auto, none or json (on stderr)\n"
            "  --io=BACKEND      pread (default) or io_uring for the large reads\n"
            "  -q, -v            quieter / more verbose diagnostics on stderr\n"
            "  --help            this text; `ibdcrypt COMMAND --help` for a command\n"
            "  --version         print the version\n"
            "\n"
            "Exit status: 0 all good; 1 the data has a problem (corrupt page, wrong key,\n"
            "mismatch); 2 usage error; 3 environment error (I/O, missing key, server\n"
            "running, no space).\n");
}

/* Consume a global option at argv[*i]; returns 1 if it was one, -1 on a bad value. */
static int global_option(cli_global *g, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v;
    if (cli_opt_value("--isa", argc, argv, i, &v)) {
        g->isa = v;
        return 1;
    }
    if (cli_opt_value("--threads", argc, argv, i, &v) ||
        cli_opt_value("--parallel", argc, argv, i, &v)) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*v == 0 || *end || n < 0 || n > 4096) {
            cli_err("%s: expected a thread count, got '%s'", a, v);
            return -1;
        }
        g->threads = (int)n;
        return 1;
    }
    if (cli_opt_value("--progress", argc, argv, i, &v)) {
        if (strcmp(v, "auto") && strcmp(v, "none") && strcmp(v, "json")) {
            cli_err("--progress: expected auto, none or json, got '%s'", v);
            return -1;
        }
        g->progress = v;
        return 1;
    }
    if (cli_opt_value("--io", argc, argv, i, &v)) {
        if (strcmp(v, "pread") && strcmp(v, "io_uring")) {
            cli_err("--io: expected pread or io_uring, got '%s'", v);
            return -1;
        }
        g->io_uring = !strcmp(v, "io_uring");
        return 1;
    }
    if (strcmp(a, "--json") == 0)
        return g->json = 1;
    if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
        return g->quiet = 1;
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
        return g->verbose = 1;
    return 0;
}

int main(int argc, char **argv)
{
    cli_global g = {.progress = "auto"};
    const cli_command *cmd = NULL;
    int want_help = 0;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    if (!rest)
        return EXIT_ENV;
    for (int i = 1; i < argc; i++) {
        int r = global_option(&g, argc, argv, &i);
        if (r < 0) {
            free(rest);
            return EXIT_USAGE;
        }
        if (r > 0)
            continue;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            want_help = 1;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            printf("ibdcrypt %s\n", ibc_version());
            free(rest);
            return 0;
        }
        if (!cmd) {
            for (size_t c = 0; c < NCOMMANDS; c++)
                if (strcmp(a, commands[c]->name) == 0)
                    cmd = commands[c];
            if (!cmd) {
                cli_err("unknown command '%s' (see ibdcrypt --help)", a);
                free(rest);
                return EXIT_USAGE;
            }
            rest[nrest++] = argv[i];
            continue;
        }
        rest[nrest++] = argv[i];
    }
    int rc;
    if (!cmd) {
        usage(want_help ? stdout : stderr);
        rc = want_help ? 0 : EXIT_USAGE;
    } else if (want_help) {
        cmd->help(stdout);
        rc = 0;
    } else {
        rc = cmd->run(&g, nrest, rest);
    }
    free(rest);
    return rc;
}
