/*
 * engine.c - engine creation (kernel tier resolution), versions, status strings, CPU report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

const char *ibc_version(void)
{
    return IBC_VERSION_STRING;
}

const char *ibc_strerror(ibc_status s)
{
    static const char *const msg[IBC_STATUS_COUNT] = {
        [IBC_OK] = "success",
        [IBC_ERR_INVALID_ARG] = "invalid argument",
        [IBC_ERR_NOMEM] = "out of memory",
        [IBC_ERR_ISA_UNKNOWN] = "unknown ISA tier",
        [IBC_ERR_ISA_UNSUPPORTED] = "ISA tier not supported by this CPU or build",
        [IBC_ERR_IO] = "I/O error",
        [IBC_ERR_FORMAT] = "unrecognised format",
        [IBC_ERR_KEY_MISSING] = "key not available",
        [IBC_ERR_KEY_FILE] = "bad key file",
        [IBC_ERR_KEY_MISMATCH] = "key does not match the data",
        [IBC_ERR_CORRUPT] = "data is corrupted",
        [IBC_ERR_UNSUPPORTED] = "unsupported format variant",
        [IBC_ERR_BUSY] = "files are in use by a running server",
        [IBC_ERR_NOSPACE] = "no space left on the target",
    };
    if ((unsigned)s < IBC_STATUS_COUNT && msg[s])
        return msg[s];
    return "unknown status";
}

static void tier_list(char *buf, size_t n, int usable_only, uint32_t features)
{
    size_t used = 0;
    buf[0] = 0;
    for (int t = 0; t < IBC_TIER_COUNT; t++) {
        if (!ibc_tier_kernels((ibc_tier_id)t))
            continue;
        if (usable_only && !ibc_tier_usable((ibc_tier_id)t, features))
            continue;
        int w = snprintf(buf + used, n - used, "%s%s", used ? "," : "",
                         ibc_tier_name((ibc_tier_id)t));
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}

void ibc_cpu_info_get(ibc_cpu_info *info)
{
    uint32_t f = ibc_cpu_features();
    memset(info, 0, sizeof(*info));
    ibc_cpu_model(info->model, sizeof(info->model));
#if defined(__x86_64__)
    snprintf(info->arch, sizeof(info->arch), "x86_64");
#elif defined(__aarch64__)
    snprintf(info->arch, sizeof(info->arch), "aarch64");
#else
    snprintf(info->arch, sizeof(info->arch), "other");
#endif
    ibc_cpu_feature_names(f, info->features, sizeof(info->features));
    tier_list(info->compiled, sizeof(info->compiled), 0, f);
    tier_list(info->usable, sizeof(info->usable), 1, f);
    snprintf(info->selected, sizeof(info->selected), "%s", ibc_tier_name(ibc_tier_best(f)));
}

ibc_status ibc_engine_new(const char *isa, ibc_engine **out)
{
    if (!out)
        return IBC_ERR_INVALID_ARG;
    *out = NULL;
    uint32_t f = ibc_cpu_features();
    ibc_tier_id t;
    if (!isa || !*isa || strcmp(isa, "auto") == 0) {
        t = ibc_tier_best(f);
    } else {
        int id = ibc_tier_from_name(isa);
        if (id < 0)
            return IBC_ERR_ISA_UNKNOWN;
        t = (ibc_tier_id)id;
        if (!ibc_tier_usable(t, f))
            return IBC_ERR_ISA_UNSUPPORTED;
    }
    ibc_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return IBC_ERR_NOMEM;
    e->k = ibc_tier_kernels(t);
    *out = e;
    return IBC_OK;
}

void ibc_engine_free(ibc_engine *e)
{
    free(e);
}

const char *ibc_engine_isa(const ibc_engine *e)
{
    return e->k->name;
}

unsigned ibc_engine_lanes(const ibc_engine *e)
{
    return e->k->mb_lanes;
}

uint32_t ibc_crc32c(const ibc_engine *e, uint32_t crc, const void *buf, size_t len)
{
    return e->k->crc32c(crc, buf, len);
}

uint32_t ibc_crc32z(const ibc_engine *e, uint32_t crc, const void *buf, size_t len)
{
    return e->k->crc32z(crc, buf, len);
}

uint32_t ibc_crc32c_join(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return ibc_crc32c_combine(crc_a, crc_b, len_b);
}

uint32_t ibc_crc32c_join_factor(uint64_t len_b)
{
    return ibc_crc32c_factor(len_b);
}

uint32_t ibc_crc32c_join_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor)
{
    return ibc_crc32c_combine_by(crc_a, crc_b, factor);
}

uint32_t ibc_crc32z_join(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return ibc_crc32z_combine_by(crc_a, crc_b, ibc_crc32z_factor(len_b));
}

uint32_t ibc_crc32z_join_factor(uint64_t len_b)
{
    return ibc_crc32z_factor(len_b);
}

uint32_t ibc_crc32z_join_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor)
{
    return ibc_crc32z_combine_by(crc_a, crc_b, factor);
}
