/*
 * fuzz_manifest.c - libFuzzer target: the reader of a backup's manifest (tools/manifest.c),
 * the JSON that verify --manifest and verify --stream=xbstream trust for sizes and CRCs.
 *
 * Whatever the input: no crash, no leak, no read outside it; on success every entry has a
 * path with no NUL inside, the entries are sorted and distinct, and each one is found by its
 * own path; on failure nothing is kept and the message is one NUL-terminated line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes: reading past it is caught */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    manifest m;
    char err[256];
    if (manifest_parse(text, size, &m, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < m.n; i++) {
            if (manifest_find(&m, m.v[i].path) != &m.v[i])
                abort();
            if (i && strcmp(m.v[i - 1].path, m.v[i].path) >= 0)
                abort();
        }
        manifest_free(&m);
    } else {
        if (m.n || m.v || !memchr(err, 0, sizeof(err)) || strchr(err, '\n'))
            abort();
    }
    free(text);
    return 0;
}
