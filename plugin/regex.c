/*
 * regex.c - running a KB regex: PCRE2, with the code made on first use
 * when the KB came from an image file, and the JIT compiled only for the
 * regexes that prove busy.
 */
#include "msfaq_private.h"

#include <string.h>

/* An image's regexes are made when first run: a question touches a few,
 * so a one-question "msfaq ask" pays for those alone.  The built-in
 * image's are decoded from their serialized code; an image file's are
 * compiled from their sources, never decoded from the file: PCRE2 checks
 * a pattern it compiles, but trusts serialized code, and a file is only a
 * file.  The first thread makes the code under jit_lock and publishes it
 * with a release store; a source that does not compile (only a crafted
 * image has one) leaves the regex matching nothing. */
bool msfaqp_regex_ready(const msfaq_kb *kb, const msfaqp_regex *r)
{
    int ready = atomic_load_explicit(&r->ready, memory_order_acquire);
    if (ready == 0) {
        msfaqp_regex *w = (msfaqp_regex *)r;
        pthread_mutex_lock((pthread_mutex_t *)&kb->jit_lock);
        ready = atomic_load_explicit(&w->ready, memory_order_relaxed);
        if (ready == 0) {
            int ec;
            PCRE2_SIZE off;
            if (w->serialized &&
                pcre2_serialize_decode(&w->code, 1, w->serialized, NULL) != 1)
                w->code = NULL;      /* another PCRE2 wrote it: compile */
            if (!w->code)
                w->code = pcre2_compile(
                    (PCRE2_SPTR)(w->source ? w->source : ""),
                    PCRE2_ZERO_TERMINATED,
                    PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C, &ec, &off, NULL);
            ready = w->code ? 1 : 2;
            atomic_store_explicit(&w->ready, ready, memory_order_release);
        }
        pthread_mutex_unlock((pthread_mutex_t *)&kb->jit_lock);
    }
    return ready == 1;
}

int msfaqp_regex_run(const msfaq_kb *kb, const msfaqp_regex *r,
                     const char *s, size_t len, pcre2_match_data *md)
{
    return msfaqp_regex_run_from(kb, r, s, len, 0, 0, md);
}

int msfaqp_regex_run_from(const msfaq_kb *kb, const msfaqp_regex *r,
                          const char *s, size_t len, size_t start,
                          uint32_t opts, pcre2_match_data *md)
{
    if (!msfaqp_regex_ready(kb, r))
        return PCRE2_ERROR_NOMATCH;
    int jit = atomic_load_explicit(&r->jit, memory_order_acquire);
    msfaqp_regex *w = (msfaqp_regex *)r;
    /* short texts are interpreted until the regex proves busy; long ones
     * go to the JIT at once: the interpreter's finer step count would hit
     * the match limit on long but harmless input */
    if (jit == 0 && len <= MSFAQP_INTERPRET_MAX &&
        atomic_fetch_add_explicit(&w->runs, 1, memory_order_relaxed) <
            MSFAQP_JIT_AFTER)
        return pcre2_match(r->code, (PCRE2_SPTR)s, len, start, opts, md,
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
        return pcre2_jit_match(r->code, (PCRE2_SPTR)s, len, start, opts,
                               md, kb->mctx);
    return pcre2_match(r->code, (PCRE2_SPTR)s, len, start, opts, md,
                       kb->mctx);
}
