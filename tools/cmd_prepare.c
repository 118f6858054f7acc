/*
 * cmd_prepare.c - `ibdcrypt prepare`: make a backup restorable on a server that holds only a
 * new key file (rekeyjob.c does the work).
 */
#include <string.h>

#include "manifest.h"
#include "rekeyjob.h"

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ibdcrypt prepare --target-dir=DIR --to-keyfile=NEWKEYS [--mode=rewrap|reencrypt]\n"
            "                        [current key options]\n"
            "\n"
            "Make a backup (made by ibdcrypt backup or mariadb-backup) restorable on a server that\n"
            "holds only NEWKEYS. The current keys open the backup (--keyfile/--defaults-file, or\n"
            "the key file named in the backup's backup-my.cnf); backup-my.cnf, when present, is\n"
            "pointed at NEWKEYS so that `mariadb-backup --prepare` uses them. The manifest of\n"
            "an ibdcrypt backup (" MANIFEST_NAME ") is updated for the files prepare\n"
            "changes, in the same crash-safe run, and records the plan and the new keys'\n"
            "fingerprints under \"prepared\": `verify --manifest` with NEWKEYS checks the\n"
            "prepared backup, and still names a file that had changed before prepare (a\n"
            "manifest that does not parse is left as it is, with a warning).\n"
            "An incremental backup of mariadb-backup (.delta files) is refused: its pages\n"
            "would stay under the current keys. Apply it to its base first, with the current\n"
            "keys (mariadb-backup --prepare --target-dir=BASE, then the same with\n"
            "--incremental-dir=INC), then prepare BASE.\n"
            "\n"
            "  --target-dir=DIR        the backup (changed in place)\n"
            "%s"
            "\n%s"
            "\n"
            "Exit status: 0 done; 1 a key does not open a tablespace, or bad pages (nothing\n"
            "written); 2 usage error, or a journal from a different interrupted run; 3\n"
            "environment error (another run on the directory, missing key, I/O, no space).\n"
            "\n"
            "Example:\n"
            "  ibdcrypt prepare --target-dir=/backup/mon --keyfile=/etc/mysql/keys.txt \\\n"
            "      --to-keyfile=/restore/keys.txt        # default: --mode=rewrap\n",
            rekey_help_common, cli_keys_help);
}

static int run(cli_global *g, int argc, char **argv)
{
    rekey_opts o = {.command = "prepare", .mode = IBC_REKEY_REWRAP, .update_backup_cnf = 1};
    cli_keys keys = {0};
    for (int i = 1; i < argc; i++) {
        const char *v;
        int k = rekey_option(&o, &keys, argc, argv, &i);
        if (k < 0)
            return EXIT_USAGE;
        if (k)
            continue;
        if (cli_opt_value("--target-dir", argc, argv, &i, &v)) {
            o.dir = v;
            continue;
        }
        cli_err("prepare: unknown argument '%s' (see ibdcrypt prepare --help)", argv[i]);
        return EXIT_USAGE;
    }
    /* a mariadb-backup backup names its keys in backup-my.cnf */
    static char cnf[4200];
    if (o.dir && !keys.keyfile && !keys.defaults) {
        snprintf(cnf, sizeof(cnf), "%s/backup-my.cnf", o.dir);
        FILE *f = fopen(cnf, "r");
        if (f) {
            fclose(f);
            keys.defaults = cnf;
        }
    }
    int rc = rekey_run(g, &o, &keys);
    cli_keys_free(&keys);
    return rc;
}

const cli_command cmd_prepare = {"prepare", "re-key a backup for a server with other keys", run,
                                 help};
