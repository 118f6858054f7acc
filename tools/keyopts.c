/*
 * keyopts.c - key options and --defaults-file, shared by every command.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "keyopts.h"

const char cli_keys_help[] =
    "Keys (a key is never given on the command line itself):\n"
    "  --keyfile=PATH         file_key_management key file (id;hex lines)\n"
    "  --keyfile-key=FILE:PATH | ENV:VAR\n"
    "                         secret of an encrypted key file (openssl enc -aes-256-cbc\n"
    "                         -md sha1), read from a file or an environment variable\n"
    "  --algorithm=AES_CBC|AES_CTR|auto\n"
    "                         file_key_management_encryption_algorithm (not stored in the\n"
    "                         files; default auto: found by a trial decryption)\n"
    "  --defaults-file=FILE   the server's option file: datadir, file_key_management_*\n";

static int parse_algo(const char *v, ibc_algo *out)
{
    if (!strcasecmp(v, "aes_cbc") || !strcasecmp(v, "cbc"))
        *out = IBC_ALGO_CBC;
    else if (!strcasecmp(v, "aes_ctr") || !strcasecmp(v, "ctr"))
        *out = IBC_ALGO_CTR;
    else if (!strcasecmp(v, "auto"))
        *out = IBC_ALGO_AUTO;
    else
        return -1;
    return 0;
}

int cli_keys_option(cli_keys *k, int argc, char **argv, int *i)
{
    const char *v;
    if (cli_opt_value("--keyfile", argc, argv, i, &v)) {
        k->keyfile = v;
        return 1;
    }
    if (cli_opt_value("--keyfile-key", argc, argv, i, &v)) {
        if (strncmp(v, "FILE:", 5) && strncmp(v, "ENV:", 4)) {
            cli_err("--keyfile-key: give the secret as FILE:/path or ENV:VARIABLE, never "
                    "literally on the command line");
            return -1;
        }
        k->filekey = v;
        return 1;
    }
    if (cli_opt_value("--algorithm", argc, argv, i, &v)) {
        if (parse_algo(v, &k->algo)) {
            cli_err("--algorithm: expected AES_CBC, AES_CTR or auto, got '%s'", v);
            return -1;
        }
        return 1;
    }
    if (cli_opt_value("--defaults-file", argc, argv, i, &v)) {
        k->defaults = v;
        return 1;
    }
    return 0;
}

int cli_keys_load(cli_keys *k)
{
    char err[512];
    if (k->defaults) {
        if (mycnf_read(&k->cnf, k->defaults, err, sizeof(err))) {
            cli_err("--defaults-file: %s", err);
            return EXIT_ENV;
        }
        if (!k->keyfile)
            k->keyfile = k->cnf.keyfile;
        if (!k->filekey)
            k->filekey = k->cnf.filekey;
        if (k->algo == IBC_ALGO_AUTO && k->cnf.algorithm && parse_algo(k->cnf.algorithm, &k->algo)) {
            cli_err("%s: file_key_management_encryption_algorithm=%s is not AES_CBC or AES_CTR",
                    k->defaults, k->cnf.algorithm);
            return EXIT_USAGE;
        }
    }
    if (!k->keyfile) {
        if (k->filekey) {
            cli_err("--keyfile-key given without a key file (--keyfile)");
            return EXIT_USAGE;
        }
        return 0;
    }
    const char *fk = k->filekey && *k->filekey ? k->filekey : NULL;
    int literal = fk && strncmp(fk, "FILE:", 5) && strncmp(fk, "ENV:", 4);
    if (literal) {
        /* a literal secret from the option file: hand it over through this process's own
         * environment (not visible in /proc/PID/environ) and drop it right after */
        setenv("IBDCRYPT_FILEKEY_FROM_CNF", fk, 1);
        fk = "ENV:IBDCRYPT_FILEKEY_FROM_CNF";
    }
    ibc_status st = ibc_keyring_load(k->keyfile, fk, &k->kr, err, sizeof(err));
    if (literal) {
        char *v = getenv("IBDCRYPT_FILEKEY_FROM_CNF");
        if (v)
            explicit_bzero(v, strlen(v));
        unsetenv("IBDCRYPT_FILEKEY_FROM_CNF");
    }
    if (st != IBC_OK) {
        cli_err("%s", err);
        return EXIT_ENV;
    }
    return 0;
}

const char *cli_keys_datadir(const cli_keys *k)
{
    return k->cnf.datadir;
}

void cli_keys_no_datadir(const cli_keys *k, const char *cmd, const char *what)
{
    if (k->defaults)
        cli_err("%s: %s (with the files it includes) sets no datadir, so the server uses its "
                "built-in one (/var/lib/mysql in the Debian, Ubuntu and Red Hat packages): give "
                "%s",
                cmd, k->defaults, what);
    else
        cli_err("%s: give %s (or --defaults-file with a datadir)", cmd, what);
}

void cli_keys_free(cli_keys *k)
{
    ibc_keyring_free(k->kr);
    mycnf_free(&k->cnf);
    k->kr = NULL;
}
