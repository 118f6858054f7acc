/*
 * cmd_rekey.c - `ibdcrypt rekey`: rotate the keys of a stopped server's datadir in place
 * (rekeyjob.c does the work).
 */
#include <string.h>

#include "rekeyjob.h"

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ibdcrypt rekey --datadir=DIR --to-keyfile=NEWKEYS [--mode=reencrypt|rewrap]\n"
            "                      [current key options]\n"
            "\n"
            "Offline key rotation of a stopped server's datadir, in place: afterwards the server\n"
            "must be started with only NEWKEYS (file_key_management has no rotation of its own).\n"
            "Refuses while a server holds the files. Run on a backup's directory, it brings the\n"
            "backup's manifest along, as prepare does (prepare is the command for backups).\n"
            "\n"
            "  --datadir=DIR           the datadir (default: datadir of --defaults-file)\n"
            "  (default mode: reencrypt)\n"
            "%s"
            "\n%s"
            "\n"
            "Exit status: 0 done; 1 a key does not open a tablespace, or bad pages (nothing\n"
            "written); 2 usage error, or a journal from a different interrupted run; 3\n"
            "environment error (server running, another run on the directory, missing key,\n"
            "I/O, no space).\n"
            "\n"
            "Example:\n"
            "  systemctl stop mariadb\n"
            "  ibdcrypt rekey --defaults-file=/etc/mysql/my.cnf --to-keyfile=/etc/mysql/keys-2027.txt\n"
            "  (point file_key_management_filename at keys-2027.txt, then start the server)\n",
            rekey_help_common, cli_keys_help);
}

static int run(cli_global *g, int argc, char **argv)
{
    rekey_opts o = {.command = "rekey", .mode = IBC_REKEY_REENCRYPT};
    cli_keys keys = {0};
    for (int i = 1; i < argc; i++) {
        const char *v;
        int k = rekey_option(&o, &keys, argc, argv, &i);
        if (k < 0)
            return EXIT_USAGE;
        if (k)
            continue;
        if (cli_opt_value("--datadir", argc, argv, &i, &v)) {
            o.dir = v;
            continue;
        }
        cli_err("rekey: unknown argument '%s' (see ibdcrypt rekey --help)", argv[i]);
        return EXIT_USAGE;
    }
    int rc = rekey_run(g, &o, &keys);
    cli_keys_free(&keys);
    return rc;
}

const cli_command cmd_rekey = {"rekey", "rotate the keys of a stopped datadir in place", run,
                               help};
