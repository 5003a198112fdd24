/*
 * regex.c - running a KB regex: its literal prefilter, then PCRE2, with the
 * JIT compiled only for the regexes that prove busy.
 */
#include "msfaq_private.h"

#include <string.h>

int msfaqp_regex_run(const msfaq_kb *kb, const msfaqp_regex *r,
                     const char *s, size_t len, pcre2_match_data *md)
{
    return msfaqp_regex_run_from(kb, r, s, len, 0, md);
}

int msfaqp_regex_run_from(const msfaq_kb *kb, const msfaqp_regex *r,
                          const char *s, size_t len, size_t start,
                          pcre2_match_data *md)
{
    int jit = atomic_load_explicit(&r->jit, memory_order_acquire);
    msfaqp_regex *w = (msfaqp_regex *)r;
    /* short texts are interpreted until the regex proves busy; long ones
     * go to the JIT at once: the interpreter's finer step count would hit
     * the match limit on long but harmless input */
    if (jit == 0 && len <= MSFAQP_INTERPRET_MAX &&
        atomic_fetch_add_explicit(&w->runs, 1, memory_order_relaxed) <
            MSFAQP_JIT_AFTER)
        return pcre2_match(r->code, (PCRE2_SPTR)s, len, start, 0, md,
                           kb->mctx);
    if (jit == 0) {
        /* the KB is shared and otherwise immutable: one thread compiles
         * the JIT code while others wait, and publishes it with a release
         * store; until then everyone interprets the same code, which
         * PCRE2 allows from many threads */
        pthread_mutex_lock((pthread_mutex_t *)&kb->jit_lock);
        jit = atomic_load_explicit(&w->jit, memory_order_relaxed);
        if (jit == 0) {
            jit = pcre2_jit_compile(w->code, PCRE2_JIT_COMPLETE) == 0 ? 1
                                                                       : 2;
            atomic_store_explicit(&w->jit, jit, memory_order_release);
        }
        pthread_mutex_unlock((pthread_mutex_t *)&kb->jit_lock);
    }
    /* the JIT entry skips the interpreter's option checks; the match limit
     * still applies (the depth limit is an interpreter notion) */
    if (jit == 1)
        return pcre2_jit_match(r->code, (PCRE2_SPTR)s, len, start, 0, md,
                               kb->mctx);
    return pcre2_match(r->code, (PCRE2_SPTR)s, len, start, 0, md, kb->mctx);
}
