/*
 * cmd_cpu.c - `ibdcrypt cpu`: CPU model, detected features, tiers compiled in, tiers usable
 * here and the selected one.
 */
#include <string.h>

#include "cli.h"

static void help(FILE *out)
{
    fputs("Usage: ibdcrypt cpu [--json] [--isa=TIER]\n"
          "\n"
          "Show the CPU model, the features ibdcrypt detected (AVX and AVX-512 only when the\n"
          "OS saves their register state), the kernel tiers compiled into this build, the\n"
          "tiers this CPU can run, and the tier that would be used (the best usable one, or\n"
          "the one forced with --isa).\n"
          "\n"
          "Tiers: portable (constant-time C), aesni (AES-NI + PCLMULQDQ + SSE4.2),\n"
          "vaes256 (+ AVX2, VAES, VPCLMULQDQ on ymm), vaes512 (+ AVX-512 F/BW/VL, zmm),\n"
          "armce (ARMv8 AES + PMULL + CRC32).\n"
          "\n"
          "Exit status: 0, or 2 if --isa names a tier that is unknown or unusable here.\n",
          out);
}

static int run(cli_global *g, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        cli_err("cpu: unexpected argument '%s'", argv[i]);
        return EXIT_USAGE;
    }
    ibc_cpu_info info;
    ibc_cpu_info_get(&info);
    ibc_engine *e = NULL;
    ibc_status st = ibc_engine_new(g->isa, &e);
    if (st != IBC_OK) {
        cli_err("--isa=%s: %s (usable here: %s)", g->isa ? g->isa : "auto", ibc_strerror(st),
                info.usable);
        return EXIT_USAGE;
    }
    const char *sel = ibc_engine_isa(e);
    if (g->json) {
        printf("{\"model\":");
        cli_json_str(stdout, info.model);
        printf(",\"arch\":");
        cli_json_str(stdout, info.arch);
        printf(",\"features\":");
        cli_json_str(stdout, info.features);
        printf(",\"compiled\":");
        cli_json_str(stdout, info.compiled);
        printf(",\"usable\":");
        cli_json_str(stdout, info.usable);
        printf(",\"selected\":");
        cli_json_str(stdout, sel);
        printf(",\"lanes\":%u,\"version\":", ibc_engine_lanes(e));
        cli_json_str(stdout, ibc_version());
        printf("}\n");
    } else {
        printf("model:     %s\n", info.model);
        printf("arch:      %s\n", info.arch);
        printf("features:  %s\n", info.features[0] ? info.features : "(none)");
        printf("compiled:  %s\n", info.compiled);
        printf("usable:    %s\n", info.usable);
        printf("selected:  %s%s\n", sel, g->isa && strcmp(g->isa, "auto") ? " (forced)" : "");
        printf("lanes:     %u\n", ibc_engine_lanes(e));
    }
    ibc_engine_free(e);
    return 0;
}

const cli_command cmd_cpu = {"cpu", "CPU features, compiled tiers, selected tier", run, help};
