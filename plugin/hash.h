/*
 * hash.h - the one string hash of msfaq (FNV-1a, 32 bits), shared by the
 * library's tables and by the build tools that write tables for it: a
 * table made at build time must hash exactly as the library looks up.
 */
#ifndef MSFAQ_HASH_H
#define MSFAQ_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t msfaqp_fnv1a(const char *w, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

#endif /* MSFAQ_HASH_H */
