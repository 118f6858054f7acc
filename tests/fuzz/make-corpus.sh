#!/usr/bin/env bash
# Write the seed corpus of fuzz_keyfile from tests/keys/. An input is one mode byte and a
# file (see fuzz_keyfile.c): 0x00 plain, 0x01 encrypted by the target, 0x02 as is with the
# secret; 0x03 and 0x07 are modes 0 and 1 with other message buffer sizes. Rerunning it
# reproduces the committed corpus.
set -euo pipefail
cd "$(dirname "$0")"
keys=../keys
out=corpus/fuzz_keyfile
rm -rf "$out"
mkdir -p "$out"
seed() { # seed MODE_BYTE_OCTAL NAME FILE [HEAD_BYTES]
  { printf "\\$1"; if [[ -n ${4:-} ]]; then head -c "$4" "$3"; else cat "$3"; fi; } > "$out/$2"
}
for f in "$keys"/good.txt "$keys"/good-crlf.txt "$keys"/err-*.txt; do
  seed 000 "plain-$(basename "$f")" "$f"
done
seed 001 enc-good.txt "$keys/good.txt"
seed 001 enc-err-duplicate.txt "$keys/err-duplicate.txt"
seed 001 enc-err-nul.txt "$keys/err-nul.txt"
seed 003 plain-nomsg-good-crlf.txt "$keys/good-crlf.txt"
seed 007 enc-shortmsg-err-bad-hex.txt "$keys/err-bad-hex.txt"
seed 002 raw-good.enc "$keys/good.enc"
seed 002 raw-truncated.enc "$keys/good.enc" 100
seed 000 plain-good.enc-without-secret "$keys/good.enc"
seed 002 raw-plain-with-secret.txt "$keys/good.txt"
ls "$out" | wc -l
