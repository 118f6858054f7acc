#!/usr/bin/env bash
# Write the err-*.txt key files: each holds valid keys around one error (so the tests can
# check that no message quotes key hex). Rerunning reproduces the committed files exactly.
set -euo pipefail
cd "$(dirname "$0")"
K1=0123456789abcdef0123456789ABCDEF
K2=000102030405060708090a0b0c0d0e0f1011121314151617
K3=F5502320F8429037B8DAEF761B189D12F5502320F8429037B8DAEF761B189D12
printf '# bad hex digit\n1;%s\n2;00112233445566778899aabbccddeeXf00112233445566778899aabbccddeeff\n' $K1 > err-bad-hex.txt
printf '1;%s\n# odd number of hex digits\n2;00112233445566778899aabbccddeef\n' $K1 > err-odd-hex.txt
printf '1;%s\n2;00112233445566778899aabbccddee # 15 bytes\n' $K1 > err-key-short.txt
printf '1;%s\n3;%s00112233445566778899aabbccddeeff\n' $K1 $K3 > err-key-long.txt
printf '1;%s\n0;%s\n' $K1 $K2 > err-id-zero.txt
printf '1;%s\n4294967296;%s\n' $K1 $K2 > err-id-range.txt
printf '1;%s\n2 %s\n' $K1 $K2 > err-missing-semicolon.txt
printf '1;%s\n2;%s\n3;%s\n\n# 2 again\n2;%s\n' $K1 $K2 $K3 $K3 > err-duplicate.txt
printf '# no key 1\n2;%s\n3;%s\n' $K2 $K3 > err-no-key1.txt
: > err-empty.txt
printf '# only comments\n\n   # and blanks\n' > err-comments-only.txt
printf '1;%s\nkey2=%s\n' $K1 $K2 > err-syntax.txt
printf '1;%s\n2;%s # a NUL: \0\n' $K1 $K2 > err-nul.txt
printf '\357\273\2771;%s\n' $K1 > err-bom.txt
printf '1;%s\n2;\n' $K1 > err-missing-key.txt
