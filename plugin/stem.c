/*
 * stem.c - words to their Snowball stems (Debian's libstemmer).
 *
 * Terms and questions meet on stems, so "walking", "walked" and "walks"
 * all find the term "walk", and "immunotherapies" finds "immunotherapy",
 * with no hand-written plural or prefix rules.
 *
 * A libstemmer object is not thread-safe, and the KB is shared by every
 * asking thread.  Two things keep that cheap:
 *   - every word the KB itself knows is stemmed once, when it is built,
 *     into a read-only cache: most words of most questions are found there;
 *   - the rest go to a small pool of stemmers, each behind its own lock,
 *     taken with trylock so that threads rarely wait for each other.
 *
 * libstemmer itself is opened (dlopen) when a word first misses the cache,
 * where the build knows its soname (MSFAQ_STEMMER_SONAME): loading it
 * costs a process more than opening the built-in KB does, and a question
 * made of the KB's own words never needs it.  A KB read from its JSON
 * files stems every word it knows, so opening one fails with the loader's
 * message when libstemmer cannot be opened (msfaqp_stemmer_check; the
 * build makes the built-in KB that way, so a build that could not open it
 * stops).  Should it go missing later (a broken install: the package
 * depends on it), words outside the cache are used as they are: their
 * exact forms still meet the KB's.
 */
#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

#ifdef MSFAQ_STEMMER_SONAME
#include <dlfcn.h>

static struct {
    struct sb_stemmer *(*create)(const char *, const char *);
    void (*destroy)(struct sb_stemmer *);
    const sb_symbol *(*stem)(struct sb_stemmer *, const sb_symbol *, int);
    int (*length)(struct sb_stemmer *);
} sb;
static pthread_once_t sb_once = PTHREAD_ONCE_INIT;

static char sb_why[256];       /* why it could not be opened, or "" */

static void *symbol(void *lib, const char *name, bool *ok)
{
    void *p = dlsym(lib, name);
    *ok = *ok && p;
    return p;
}

/* Never closed: stemmers made from it may live as long as the process. */
static void sb_open(void)
{
    void *lib = dlopen(MSFAQ_STEMMER_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(sb_why, sizeof sb_why, "%s", e ? e : "dlopen failed");
        return;
    }
    bool ok = true;
    void *p[4] = {symbol(lib, "sb_stemmer_new", &ok),
                  symbol(lib, "sb_stemmer_delete", &ok),
                  symbol(lib, "sb_stemmer_stem", &ok),
                  symbol(lib, "sb_stemmer_length", &ok)};
    if (!ok) {
        snprintf(sb_why, sizeof sb_why, "%s lacks the sb_stemmer_ functions",
                 MSFAQ_STEMMER_SONAME);
        return;
    }
    /* POSIX: a function's address from dlsym converts back to its type */
    memcpy(&sb.destroy, &p[1], sizeof p[1]);
    memcpy(&sb.stem, &p[2], sizeof p[2]);
    memcpy(&sb.length, &p[3], sizeof p[3]);
    memcpy(&sb.create, &p[0], sizeof p[0]);
}

static struct sb_stemmer *stemmer_new(void)
{
    pthread_once(&sb_once, sb_open);
    return sb.create ? sb.create("english", NULL) : NULL;
}
int msfaqp_stemmer_check(char *why, size_t size)
{
    pthread_once(&sb_once, sb_open);
    if (sb.create)
        return 0;
    snprintf(why, size, "libstemmer (%s) cannot be opened: %s",
             MSFAQ_STEMMER_SONAME, sb_why);
    return -1;
}

#define stemmer_delete(st) sb.destroy(st)
#define stemmer_stem(st, w, n) sb.stem(st, w, n)
#define stemmer_length(st) sb.length(st)
#else
static struct sb_stemmer *stemmer_new(void)
{
    return sb_stemmer_new("english", NULL);
}
int msfaqp_stemmer_check(char *why, size_t size)
{
    (void)why;
    (void)size;
    return 0;                   /* linked: the loader made sure of it */
}

#define stemmer_delete(st) sb_stemmer_delete(st)
#define stemmer_stem(st, w, n) sb_stemmer_stem(st, w, n)
#define stemmer_length(st) sb_stemmer_length(st)
#endif

/* The locks are made first and always, so msfaqp_stems_free() may run
 * whatever failed here; the stemmers are made when first needed. */
int msfaqp_stems_init(msfaq_kb *kb)
{
    for (int i = 0; i < MSFAQP_STEMMERS; i++) {
        pthread_mutex_init(&kb->stemmers[i].lock, NULL);
        kb->stemmers[i].st = NULL;
    }
    return 0;
}

void msfaqp_stems_free(msfaq_kb *kb)
{
    for (int i = 0; i < MSFAQP_STEMMERS; i++) {
        if (kb->stemmers[i].st)
            stemmer_delete(kb->stemmers[i].st);
        kb->stemmers[i].st = NULL;
        pthread_mutex_destroy(&kb->stemmers[i].lock);
    }
}

void msfaqp_stem_cache_free(msfaq_kb *kb)
{
    for (size_t i = 0; i < kb->n_stem_cache; i++)
        free(kb->stem_cache[i]);
    free(kb->stem_cache);
    kb->stem_cache = NULL;
    kb->n_stem_cache = 0;
    msfaqp_strmap_free(&kb->stem_of);
}

/* Stems w[0..n) with one of the pool's stemmers into out (NUL-terminated,
 * at most size - 1 bytes); returns the stem's length. */
static size_t stem_now(const msfaq_kb *kb, const char *w, size_t n,
                       char *out, size_t size)
{
    msfaq_kb *k = (msfaq_kb *)kb;          /* only the locks change */
    int slot = -1;
    for (int i = 0; i < MSFAQP_STEMMERS && slot < 0; i++)
        if (pthread_mutex_trylock(&k->stemmers[i].lock) == 0)
            slot = i;
    if (slot < 0) {
        slot = (int)(msfaqp_hash(w, n) % MSFAQP_STEMMERS);
        pthread_mutex_lock(&k->stemmers[slot].lock);
    }
    struct sb_stemmer *st = k->stemmers[slot].st;
    if (!st)
        st = k->stemmers[slot].st = stemmer_new();
    const sb_symbol *s =
        st ? stemmer_stem(st, (const sb_symbol *)w, (int)n) : NULL;
    size_t len = s ? (size_t)stemmer_length(st) : 0;
    if (!s) {                     /* no libstemmer, out of memory: the word */
        s = (const sb_symbol *)w;
        len = n;
    }
    if (len >= size)
        len = size - 1;
    memcpy(out, s, len);
    out[len] = '\0';
    pthread_mutex_unlock(&k->stemmers[slot].lock);
    return len;
}

size_t msfaqp_stem(const msfaq_kb *kb, const char *w, size_t n, char *out,
                   size_t size)
{
    int at = msfaqp_strmap_get(&kb->stem_of, w, n);
    if (at >= 0) {
        const char *s = kb->stem_cache[at];
        size_t len = strlen(s);
        if (len >= size)
            len = size - 1;
        memcpy(out, s, len);
        out[len] = '\0';
        return len;
    }
    return stem_now(kb, w, n, out, size);
}

int msfaqp_stem_remember(msfaq_kb *kb, const char *w, size_t n)
{
    if (msfaqp_strmap_get(&kb->stem_of, w, n) >= 0)
        return 0;
    char stem[MSFAQP_MAX_WORD];
    stem_now(kb, w, n, stem, sizeof stem);
    if (kb->n_stem_cache == kb->stem_cache_cap) {
        size_t cap = kb->stem_cache_cap ? 2 * kb->stem_cache_cap : 1024;
        char **more = realloc(kb->stem_cache, cap * sizeof *more);
        if (!more)
            return MSFAQ_ENOMEM;
        kb->stem_cache = more;
        kb->stem_cache_cap = cap;
    }
    char **v = kb->stem_cache;
    if (!(v[kb->n_stem_cache] = msfaqp_strdup(stem)))
        return MSFAQ_ENOMEM;
    if (msfaqp_strmap_put(&kb->stem_of, w, n, (int)kb->n_stem_cache)) {
        free(v[kb->n_stem_cache]);
        return MSFAQ_ENOMEM;
    }
    kb->n_stem_cache++;
    return 0;
}
