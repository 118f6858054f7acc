/*
 * crc32c_vaes512.c - CRC32C for the vaes512 tier: VPCLMULQDQ folding on zmm fused with three
 * crc32 chains (crc32c_vpclmul_template.h, the body shared with the aesni and vaes256 tiers;
 * only the vector width differs).
 *
 * Measured on Zen 5, where the chain share per step (Q in scripts/gen_crc32c_tables.py) was
 * tuned: 1.2-1.4x ISA-L's crc32_iscsi. The folding threshold is still the conservative choice
 * from the Zen 4 limits in perf-ceilings.md.
 *
 * crc32c_vaes512_fold, folding alone, is the table's CRC32C on Intel cores (one VPCLMULQDQ zmm
 * per cycle, IBC_CPU_CLMUL512_FULL): on a Xeon with AMX (2026-11-24) it ran at 1.13x ISA-L
 * where the fused kernel ran at 0.92x.
 */
#define VL               64
#define KERNEL           crc32c_vaes512
#define KERNEL_FOLD      crc32c_vaes512_fold
#define MB_KERNEL        crc32c_mb_vaes512
#define TIER             IBC_TIER_VAES512
#define CRC32C_VFOLD_MIN 512
#include "crc32c_vpclmul_template.h"
