/*
 * words.c - is this a correctly spelt English word?
 *
 * The typo corrector must never turn a real word into a KB word ("form"
 * into "from", "trail" into "trial", "wallet" into anything): a word in
 * Debian's wamerican list is taken as meant.  The list is turned into a
 * hash set by the build (tools/embed_words.c -> english_words.c), so it
 * costs nothing at start-up and one probe sequence per look-up.
 */
#include <string.h>

#include "hash.h"
#include "msfaq_private.h"

bool msfaqp_english(const char *w, size_t n)
{
    uint32_t j = msfaqp_fnv1a(w, n) & msfaqp_english_mask;
    for (uint32_t at; (at = msfaqp_english_slots[j]); ) {
        const char *x = msfaqp_english_text + at - 1;
        if (strncmp(x, w, n) == 0 && x[n] == '\0')
            return true;
        j = (j + 1) & msfaqp_english_mask;
    }
    return false;
}

size_t msfaqp_english_size(void)
{
    return msfaqp_english_count;
}
