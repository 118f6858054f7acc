#!/usr/bin/env bash
# Regenerate the encrypted key files of this directory with the OpenSSL command line, the way
# MariaDB's documentation makes them (plugin/file_key_management/parser.cc: "openssl enc
# -aes-256-cbc -md sha1 -k secret -in keys.txt -out keys.enc"), so the library's decryption is
# checked against an independent producer. The salt is random: every run gives new files that
# decrypt to the same text. The committed files were made by this script with OpenSSL 3.0.
set -euo pipefail
cd "$(dirname "$0")"
# -pass file: uses the first line of secret.txt without its newline: "ibdcrypt test secret".
openssl enc -aes-256-cbc -md sha1 -salt -pass file:secret.txt -in good.txt -out good.enc 2>/dev/null
# Check the round trip with OpenSSL itself before anyone relies on the file.
openssl enc -d -aes-256-cbc -md sha1 -pass file:secret.txt -in good.enc 2>/dev/null | cmp - good.txt
echo "made good.enc (from good.txt, secret in secret.txt)"
