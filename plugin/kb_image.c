/*
 * kb_image.c - a compiled knowledge base: an open KB written as one binary
 * image, and read back without parsing anything.
 *
 * Opening a KB from its JSON files parses them, compiles every regex,
 * stems every word and builds every table: milliseconds, on every start of
 * a one-question "msfaq ask".  The image holds what all that produced:
 * the tables as arrays, every string once in a pool, the term and literal
 * indexes, and the regexes as PCRE2 serialized code
 * (pcre2_serialize_encode).  Reading it is a bounds-checked walk that
 * points the KB's structures into the image; the only work left is
 * decoding the regexes (their JIT code is still made lazily, see
 * regex.c) and a small index rebuilt from what is stored.
 *
 * Layout (native byte order, checked):
 *   header   magic "MSFAQKB\0", format version, a byte-order mark, the
 *            library version that wrote it, the payload's size and its
 *            checksum (FNV-1a 64 over 8-byte words)
 *   payload  blocks, each: u32 tag, u32 element size, u64 count, the
 *            elements, padding to 8 bytes; in a fixed order
 * An image that is truncated, of another format version, of another byte
 * order, or whose checksum does not hold is refused with MSFAQ_EIMAGE.  So
 * is one that passes the checksum but whose contents do not add up (an
 * index out of range, a chain that would loop): every number read is
 * checked before it is used, because an image is a file like any other.
 * Compiled PCRE2 code is used only from the built-in image (and only when
 * the PCRE2 library is the one that wrote it): PCRE2 trusts serialized
 * code, so the regexes of an image file, like those of a built-in image
 * another PCRE2 wrote, are compiled from their stored sources, each on its
 * first use.
 *
 * An image-backed KB borrows its strings and most arrays from the image;
 * what the loader allocates comes from one arena, freed at once
 * (msfaqp_image_free).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msfaq_private.h"

#define MAGIC "MSFAQKB"              /* 8 bytes with its NUL */
#define FORMAT 4
#define BOM 0x01020304u
#define NONE UINT32_MAX              /* no string */

typedef struct header {
    char magic[8];
    uint32_t format;
    uint32_t bom;
    char version[16];                /* the library that wrote it */
    uint64_t size;                   /* payload bytes */
    uint64_t checksum;               /* FNV-1a 64 of the payload */
    uint32_t pcre2;                  /* PCRE2_MAJOR * 1000 + PCRE2_MINOR */
    uint32_t reserved[3];
} header;

enum {                               /* blocks, in the order written */
    B_POOL = 1, B_META, B_HEADINGS, B_FALLBACK_FU, B_CONCEPTS, B_REGEXES,
    B_INTS, B_STRLIST, B_TERMS, B_INTENTS, B_GROUPS, B_ANY, B_PATTERNS,
    B_RESPONSES, B_REWRITES, B_CONFUSIONS, B_ASKS,
    B_MAP_KEYS, B_MAP_VALUES,        /* four maps, keys then values */
    B_SET_SLOTS, B_SET_WORDS,        /* three sets, slots then words */
    B_BY_FIRST, B_FIRST_MASKS, B_FIRST_LENS, B_FIRST_AT, B_STEM_CACHE,
    B_LITS, B_LIT_AT, B_LIT_CLAUSES,
    B_AC_ROOT, B_AC_EDGE_AT, B_AC_EDGE_SYM, B_AC_EDGE_TO, B_AC_FAIL,
    B_AC_OUT, B_AC_LINK,             /* the automaton (literals.c) */
    B_GROUP_AT, B_GROUP_OF,          /* three groups of the index
                                        (kb_index.c), at then values */
    B_PCRE2_AT, B_PCRE2,             /* each regex's code on its own */
    B_END
};

/* Records: fixed-size, no pointers; strings are pool offsets, lists are
 * (first, count) ranges of B_INTS or B_STRLIST. */
typedef struct meta {
    double threshold, clarify_margin;
    uint32_t disclaimer, fallback_text, clarify_text, article;
    int32_t n_clauses, n_confusion_stems;
} meta;
typedef struct img_concept {
    uint32_t name, source;
    int32_t role, screen, re_first, n_re, alias_first, n_alias,
        unless_first, n_unless;
} img_concept;
typedef struct img_regex {
    uint32_t source;                 /* the regex as compiled */
    int32_t need_first, n_need, concept, intent;
} img_regex;
typedef struct img_term {
    uint32_t text, stems;
    int32_t n_words, key_at, concept, next;
} img_term;
typedef struct img_intent {
    uint32_t id, response_id;
    int32_t kind, priority, all_first, n_all, any_first, n_any, none_first,
        n_none, pat_first, n_pat, ex_first, n_ex, neg_first, n_neg, resp,
        cov_first, n_cov, backstop;
} img_intent;
typedef struct img_group {
    int32_t first, count;
} img_group;
typedef struct img_weighted {
    int32_t concept, pad;
    double weight;
} img_weighted;
typedef struct img_pattern {
    uint32_t source;
    int32_t regex, alias, pad;       /* regex: its id, or -1 (an alias) */
    double weight;
} img_pattern;
typedef struct img_response {
    uint32_t id, title, text, section;
    int32_t fu_first, n_fu;
} img_response;
typedef struct img_pair {
    uint32_t a, b;
} img_pair;
typedef struct img_ask {
    uint32_t name, response_id;
    int32_t concept, resp;
} img_ask;

/* FNV-1a over 8-byte words (and the tail byte by byte): it catches a
 * damaged or truncated file; it is no defence against a crafted one,
 * which is why every value read is checked besides. */
uint64_t msfaqp_image_checksum(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037u;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        h = (h ^ w) * 1099511628211u;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

/* ============================================================ writing */

typedef struct writer {
    msfaqp_buf pool;
    msfaqp_strmap pooled;            /* string -> its offset */
    msfaqp_buf blocks;               /* every block but the pool */
    msfaqp_buf ints, strlist;        /* B_INTS and B_STRLIST, filled while
                                        the records are written */
    bool oom;
} writer;

static uint32_t str(writer *w, const char *s)
{
    if (!s)
        return NONE;
    size_t n = strlen(s);
    int at = msfaqp_strmap_get(&w->pooled, s, n);
    if (at >= 0)
        return (uint32_t)at;
    at = (int)w->pool.len;
    msfaqp_buf_put(&w->pool, s, n + 1);
    if (w->pool.oom || msfaqp_strmap_put(&w->pooled, s, n, at))
        w->oom = true;
    return (uint32_t)at;
}

static void block(writer *w, uint32_t tag, uint32_t size, uint64_t count,
                  const void *data)
{
    uint32_t head[2] = {tag, size};
    msfaqp_buf_put(&w->blocks, (const char *)head, sizeof head);
    msfaqp_buf_put(&w->blocks, (const char *)&count, sizeof count);
    if (count)
        msfaqp_buf_put(&w->blocks, data, (size_t)(size * count));
    static const char zero[8];
    size_t pad = (8 - w->blocks.len % 8) % 8;
    msfaqp_buf_put(&w->blocks, zero, pad);
}

static int32_t ints(writer *w, const int *v, int n)
{
    int32_t first = (int32_t)(w->ints.len / sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        int32_t x = v[i];
        msfaqp_buf_put(&w->ints, (const char *)&x, sizeof x);
    }
    return first;
}

static int32_t strs(writer *w, char *const *v, int n)
{
    int32_t first = (int32_t)(w->strlist.len / sizeof(uint32_t));
    for (int i = 0; i < n; i++) {
        uint32_t o = str(w, v[i]);
        msfaqp_buf_put(&w->strlist, (const char *)&o, sizeof o);
    }
    return first;
}

/* A table's keys as the image keeps them: 1 + pool offset, 0 for none,
 * so that the reader uses the slots where they lie (strmap.c). */
static uint32_t *keys_of(writer *w, const uint32_t *keys, size_t n,
                         const char *pool)
{
    uint32_t *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) {
        w->oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        k[i] = keys[i] ? 1 + str(w, pool + keys[i] - 1) : 0;
    return k;
}

static void map_block(writer *w, const msfaqp_strmap *m)
{
    uint32_t *k = keys_of(w, m->keys, m->cap, m->pool);
    if (!k)
        return;
    block(w, B_MAP_KEYS, sizeof *k, m->cap, k);
    block(w, B_MAP_VALUES, sizeof(int32_t), m->cap, m->values);
    free(k);
}

static void set_block(writer *w, const msfaqp_wordset *s)
{
    uint32_t *k = keys_of(w, s->slots, s->cap, s->pool);
    if (!k)
        return;
    block(w, B_SET_SLOTS, sizeof *k, s->cap, k);
    free(k);
    if (!(k = keys_of(w, s->words, s->n_words, s->pool)))
        return;
    block(w, B_SET_WORDS, sizeof *k, s->n_words, k);
    free(k);
}

/* A group of the index: key k's values are of[at[k]..at[k + 1]). */
static void group_block(writer *w, const int *at, const int *of, int n_keys)
{
    block(w, B_GROUP_AT, sizeof(int32_t), (uint64_t)n_keys + 1, at);
    block(w, B_GROUP_OF, sizeof(int32_t), (uint64_t)at[n_keys], of);
}

/* The records of every array, in block order; the regexes' PCRE2 code
 * serialized in the order of kb->index. */
static void write_records(writer *w, const msfaq_kb *kb)
{
    meta m = {kb->threshold, kb->clarify_margin, str(w, kb->disclaimer),
              str(w, kb->fallback_text), str(w, kb->clarify_text),
              str(w, kb->article), kb->lits.n_clauses, kb->n_confusions};
    block(w, B_META, sizeof m, 1, &m);
    uint32_t *o = malloc(((size_t)kb->n_headings +
                          (size_t)kb->n_fallback_follow_ups + 1) * sizeof *o);
    if (!o) {
        w->oom = true;
        return;
    }
    for (int i = 0; i < kb->n_headings; i++)
        o[i] = str(w, kb->headings[i]);
    block(w, B_HEADINGS, sizeof *o, (uint64_t)kb->n_headings, o);
    for (int i = 0; i < kb->n_fallback_follow_ups; i++)
        o[i] = str(w, kb->fallback_follow_ups[i]);
    block(w, B_FALLBACK_FU, sizeof *o, (uint64_t)kb->n_fallback_follow_ups,
          o);
    free(o);

    const msfaqp_index *x = &kb->index;
    img_concept *ic = calloc((size_t)kb->n_concepts + 1, sizeof *ic);
    img_regex *ir = calloc((size_t)x->n_regexes + 1, sizeof *ir);
    img_term *it = calloc((size_t)kb->n_terms + 1, sizeof *it);
    if (!ic || !ir || !it)
        goto nomem;
    for (int c = 0; c < kb->n_concepts; c++) {
        const msfaqp_concept *cp = &kb->concepts[c];
        ic[c] = (img_concept){str(w, cp->name), str(w, cp->source), cp->role,
                              cp->screen,
                              cp->n_regexes ? cp->regexes[0].id : 0,
                              cp->n_regexes, ints(w, cp->aliases,
                                                  cp->n_aliases),
                              cp->n_aliases,
                              ints(w, cp->unless, cp->n_unless),
                              cp->n_unless};
    }
    for (int r = 0; r < x->n_regexes; r++) {
        const msfaqp_regex *re = x->regex[r];
        ir[r] = (img_regex){str(w, re->source),
                            ints(w, re->need, re->n_need), re->n_need,
                            x->regex_concept[r], x->regex_intent[r]};
    }
    for (int t = 0; t < kb->n_terms; t++) {
        const msfaqp_term *tm = &kb->terms[t];
        it[t] = (img_term){str(w, tm->text), str(w, tm->stems), tm->n_words,
                           tm->key_at, tm->concept, tm->next};
    }
    block(w, B_CONCEPTS, sizeof *ic, (uint64_t)kb->n_concepts, ic);
    block(w, B_REGEXES, sizeof *ir, (uint64_t)x->n_regexes, ir);
    /* B_INTS and B_STRLIST are filled by the intents too: written after */
    msfaqp_buf intents = {0}, groups = {0}, anys = {0}, pats = {0};
    for (int i = 0; i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        img_intent r = {str(w, in->id), str(w, in->response_id), in->kind,
                        in->priority,
                        (int32_t)(groups.len / sizeof(img_group)), in->n_all,
                        (int32_t)(anys.len / sizeof(img_weighted)), in->n_any,
                        ints(w, in->none, in->n_none), in->n_none,
                        (int32_t)(pats.len / sizeof(img_pattern)),
                        in->n_patterns, strs(w, in->examples, in->n_examples),
                        in->n_examples,
                        strs(w, in->negatives, in->n_negatives),
                        in->n_negatives,
                        (int32_t)(in->resp - kb->responses),
                        ints(w, in->covers, in->n_covers), in->n_covers,
                        in->backstop};
        msfaqp_buf_put(&intents, (const char *)&r, sizeof r);
        for (int g = 0; g < in->n_all; g++) {
            img_group gr = {ints(w, in->all[g].concepts, in->all[g].count),
                            in->all[g].count};
            msfaqp_buf_put(&groups, (const char *)&gr, sizeof gr);
        }
        for (int k = 0; k < in->n_any; k++) {
            img_weighted a = {in->any[k].concept, 0, in->any[k].weight};
            msfaqp_buf_put(&anys, (const char *)&a, sizeof a);
        }
        for (int p = 0; p < in->n_patterns; p++) {
            const msfaqp_pattern *P = &in->patterns[p];
            img_pattern ip = {str(w, P->source),
                              P->alias >= 0 ? -1 : P->re.id, P->alias, 0,
                              P->weight};
            msfaqp_buf_put(&pats, (const char *)&ip, sizeof ip);
        }
    }
    msfaqp_buf resps = {0};
    for (int r = 0; r < kb->n_responses; r++) {
        const msfaqp_response *rp = &kb->responses[r];
        img_response ir2 = {str(w, rp->id), str(w, rp->title),
                            str(w, rp->text), str(w, rp->section),
                            strs(w, rp->follow_ups, rp->n_follow_ups),
                            rp->n_follow_ups};
        msfaqp_buf_put(&resps, (const char *)&ir2, sizeof ir2);
    }
    msfaqp_buf pairs = {0}, asks = {0}, conf = {0};
    for (int r = 0; r < kb->n_rewrites; r++) {
        img_pair p = {str(w, kb->rewrites[r].from),
                      str(w, kb->rewrites[r].to)};
        msfaqp_buf_put(&pairs, (const char *)&p, sizeof p);
    }
    for (int i = 0; i < kb->n_confusions; i++) {
        uint32_t s = str(w, kb->confusion_stems[i]);
        msfaqp_buf_put(&conf, (const char *)&s, sizeof s);
    }
    for (int a = 0; a < kb->n_asks; a++) {
        const msfaqp_ask_kind *ak = &kb->asks[a];
        img_ask ia = {str(w, ak->name), str(w, ak->response_id), ak->concept,
                      (int32_t)(ak->resp - kb->responses)};
        msfaqp_buf_put(&asks, (const char *)&ia, sizeof ia);
    }
    block(w, B_INTS, sizeof(int32_t), w->ints.len / sizeof(int32_t),
          w->ints.p);
    block(w, B_STRLIST, sizeof(uint32_t), w->strlist.len / sizeof(uint32_t),
          w->strlist.p);
    block(w, B_TERMS, sizeof *it, (uint64_t)kb->n_terms, it);
    block(w, B_INTENTS, sizeof(img_intent), (uint64_t)kb->n_intents,
          intents.p);
    block(w, B_GROUPS, sizeof(img_group), groups.len / sizeof(img_group),
          groups.p);
    block(w, B_ANY, sizeof(img_weighted), anys.len / sizeof(img_weighted),
          anys.p);
    block(w, B_PATTERNS, sizeof(img_pattern), pats.len / sizeof(img_pattern),
          pats.p);
    block(w, B_RESPONSES, sizeof(img_response), (uint64_t)kb->n_responses,
          resps.p);
    block(w, B_REWRITES, sizeof(img_pair), (uint64_t)kb->n_rewrites, pairs.p);
    block(w, B_CONFUSIONS, sizeof(uint32_t), (uint64_t)kb->n_confusions,
          conf.p);
    block(w, B_ASKS, sizeof(img_ask), (uint64_t)kb->n_asks, asks.p);
    w->oom = w->oom || intents.oom || groups.oom || anys.oom || pats.oom ||
             resps.oom || pairs.oom || asks.oom || conf.oom || w->ints.oom ||
             w->strlist.oom;
    free(intents.p);
    free(groups.p);
    free(anys.p);
    free(pats.p);
    free(resps.p);
    free(pairs.p);
    free(asks.p);
    free(conf.p);

    map_block(w, &kb->by_stem);
    map_block(w, &kb->concept_ids);
    map_block(w, &kb->confusion_of);
    map_block(w, &kb->stem_of);
    set_block(w, &kb->term_stems);
    set_block(w, &kb->vocab);
    set_block(w, &kb->targets);
    size_t nt = kb->targets.n_words;
    uint32_t *bf = malloc((nt + 1) * sizeof *bf);
    uint32_t *sc = malloc((kb->n_stem_cache + 1) * sizeof *sc);
    uint32_t *ls = malloc(((size_t)kb->lits.n + 1) * sizeof *ls);
    if (!bf || !sc || !ls) {
        free(bf);
        free(sc);
        free(ls);
        goto nomem;
    }
    for (size_t i = 0; i < nt; i++)
        bf[i] = str(w, kb->by_first[i]);
    block(w, B_BY_FIRST, sizeof *bf, nt, bf);
    block(w, B_FIRST_MASKS, sizeof(uint32_t), nt, kb->first_masks);
    block(w, B_FIRST_LENS, 1, nt, kb->first_lens);
    uint64_t at[257];
    for (int i = 0; i < 257; i++)
        at[i] = kb->first_at[i];
    block(w, B_FIRST_AT, sizeof *at, 257, at);
    for (size_t i = 0; i < kb->n_stem_cache; i++)
        sc[i] = str(w, kb->stem_cache[i]);
    block(w, B_STEM_CACHE, sizeof *sc, kb->n_stem_cache, sc);
    for (int i = 0; i < kb->lits.n; i++)
        ls[i] = str(w, kb->lits.strs[i]);
    block(w, B_LITS, sizeof *ls, (uint64_t)kb->lits.n, ls);
    block(w, B_LIT_AT, sizeof(int32_t), (uint64_t)kb->lits.n + 1,
          kb->lits.lit_at);
    block(w, B_LIT_CLAUSES, sizeof(int32_t),
          (uint64_t)kb->lits.lit_at[kb->lits.n], kb->lits.lit_clauses);
    free(bf);
    free(sc);
    free(ls);
    const msfaqp_lits *l = &kb->lits;
    size_t ns = (size_t)l->n_states;
    block(w, B_AC_ROOT, sizeof(int32_t), 38, l->root);
    block(w, B_AC_EDGE_AT, sizeof(int32_t), ns + 1, l->edge_at);
    block(w, B_AC_EDGE_SYM, 1, (size_t)l->edge_at[ns], l->edge_sym);
    block(w, B_AC_EDGE_TO, sizeof(int32_t), (size_t)l->edge_at[ns],
          l->edge_to);
    block(w, B_AC_FAIL, sizeof(int32_t), ns, l->fail);
    block(w, B_AC_OUT, sizeof(int32_t), ns, l->out);
    block(w, B_AC_LINK, sizeof(int32_t), ns, l->link);
    group_block(w, x->clause_at, x->clause_regex, kb->lits.n_clauses);
    group_block(w, x->concept_at, x->concept_intent, kb->n_concepts);
    group_block(w, x->alias_at, x->alias_of, kb->n_concepts);
    map_block(w, &x->rewrite_of);

    /* each regex's code, serialized on its own so that a question decodes
     * only the regexes it runs (regex.c) */
    msfaqp_buf code = {0};
    uint32_t *code_at = malloc(((size_t)x->n_regexes + 1) * sizeof *code_at);
    if (!code_at)
        goto nomem;
    for (int r = 0; r < x->n_regexes; r++) {
        code_at[r] = (uint32_t)code.len;
        uint8_t *bytes = NULL;
        PCRE2_SIZE n_bytes = 0;
        bool ready = msfaqp_regex_ready(kb, x->regex[r]); /* else crafted */
        const pcre2_code *one = x->regex[r]->code;
        if (!ready ||
            pcre2_serialize_encode(&one, 1, &bytes, &n_bytes, NULL) < 0 ||
            code.len + n_bytes > UINT32_MAX) {
            w->oom = true;
            pcre2_serialize_free(bytes);
            break;
        }
        static const char zero[8];       /* each starts 8-byte aligned */
        msfaqp_buf_put(&code, (const char *)bytes, n_bytes);
        msfaqp_buf_put(&code, zero, (8 - n_bytes % 8) % 8);
        pcre2_serialize_free(bytes);
    }
    code_at[x->n_regexes] = (uint32_t)code.len;
    w->oom = w->oom || code.oom;
    block(w, B_PCRE2_AT, sizeof *code_at, (uint64_t)x->n_regexes + 1,
          code_at);
    block(w, B_PCRE2, 1, code.len, code.p);
    free(code.p);
    free(code_at);
    block(w, B_END, 1, 0, NULL);
    free(ic);
    free(ir);
    free(it);
    return;
nomem:
    free(ic);
    free(ir);
    free(it);
    w->oom = true;
}

int msfaqp_image_write(const msfaq_kb *kb, msfaqp_buf *out)
{
    writer w = {0};
    /* offset 0 is a real string: the empty one */
    msfaqp_buf_put(&w.pool, "", 1);
    write_records(&w, kb);
    if (!w.oom && !w.pool.oom && !w.blocks.oom) {
        msfaqp_buf payload = {0};
        uint32_t head[2] = {B_POOL, 1};
        uint64_t count = w.pool.len;
        msfaqp_buf_put(&payload, (const char *)head, sizeof head);
        msfaqp_buf_put(&payload, (const char *)&count, sizeof count);
        msfaqp_buf_put(&payload, w.pool.p, w.pool.len);
        static const char zero[8];
        msfaqp_buf_put(&payload, zero, (8 - payload.len % 8) % 8);
        msfaqp_buf_put(&payload, w.blocks.p, w.blocks.len);
        header h;
        memset(&h, 0, sizeof h);
        memcpy(h.magic, MAGIC, sizeof MAGIC);
        h.format = FORMAT;
        h.bom = BOM;
        snprintf(h.version, sizeof h.version, "%s", MSFAQ_VERSION_STRING);
        h.size = payload.len;
        h.checksum = payload.oom ? 0
                                 : msfaqp_image_checksum(
                                       (const unsigned char *)payload.p,
                                       payload.len);
        h.pcre2 = PCRE2_MAJOR * 1000 + PCRE2_MINOR;
        msfaqp_buf_put(out, (const char *)&h, sizeof h);
        msfaqp_buf_put(out, payload.p, payload.len);
        w.oom = payload.oom;
        free(payload.p);
    }
    free(w.pool.p);
    free(w.blocks.p);
    free(w.ints.p);
    free(w.strlist.p);
    msfaqp_strmap_free(&w.pooled);
    return w.oom || out->oom ? MSFAQ_ENOMEM : 0;
}

/* ============================================================ reading */

/* One arena for everything the loader allocates.  Its chunks are big
 * enough for calloc to map them fresh (glibc's threshold is 128 KiB at
 * first): they come zeroed without a pass over them, and a page nothing
 * was written to costs no memory. */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} arena_chunk;

#define ARENA_CHUNK ((size_t)256 * 1024)

static void *arena_alloc(msfaq_kb *kb, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    arena_chunk *c = kb->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        arena_chunk *nc = calloc(1, sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->next = c;
        nc->cap = cap;
        kb->arena = nc;
        c = nc;
    }
    void *p = c->data + c->used;    /* zero: a chunk is never reused */
    c->used += n;
    return p;
}

typedef struct reader {
    msfaq_kb *kb;
    const unsigned char *p, *end;
    const char *pool;
    size_t pool_size;
    const int32_t *ints;
    size_t n_ints;
    const uint32_t *strlist;
    size_t n_strlist;
    const char *bad;                 /* what did not add up, or NULL */
    bool oom;
    bool trusted;                    /* the built-in image: written by this
                                        very library's build, so its
                                        numbers are not checked one by one
                                        (which would read every page) */
} reader;

/* The next block, which must be tag with elements of size bytes. */
static const void *next(reader *r, uint32_t tag, uint32_t size, size_t *count)
{
    *count = 0;
    if (r->bad)
        return NULL;
    if ((size_t)(r->end - r->p) < 16) {
        r->bad = "a block is cut short";
        return NULL;
    }
    uint32_t head[2];
    uint64_t n;
    memcpy(head, r->p, sizeof head);
    memcpy(&n, r->p + 8, sizeof n);
    if (head[0] != tag || head[1] != size) {
        r->bad = "a block is not the one expected";
        return NULL;
    }
    size_t left = (size_t)(r->end - r->p) - 16;
    if (size && n > left / size) {
        r->bad = "a block is longer than the image";
        return NULL;
    }
    const void *data = r->p + 16;
    size_t bytes = (size_t)n * size;
    bytes += (8 - bytes % 8) % 8;
    if (bytes > left) {
        r->bad = "a block is longer than the image";
        return NULL;
    }
    r->p += 16 + bytes;
    *count = (size_t)n;
    return data;
}

static const char *string_at(reader *r, uint32_t off, bool may_be_none)
{
    if (off == NONE && may_be_none)
        return NULL;
    if (!r->trusted && off >= r->pool_size) {
        r->bad = "a string is outside the pool";
        return "";
    }
    return r->pool + off;
}

static bool in_range(reader *r, int64_t v, int64_t lo, int64_t hi,
                     const char *what)
{
    if (!r->trusted && (v < lo || v >= hi)) {
        if (!r->bad)
            r->bad = what;
        return false;
    }
    return true;
}

/* A (first, count) range of B_INTS, every value in [lo, hi). */
static int *int_list(reader *r, int32_t first, int32_t count, int lo, int hi,
                     const char *what)
{
    if (count == 0)
        return NULL;
    if (first < 0 || count < 0 || (size_t)first > r->n_ints ||
        (size_t)count > r->n_ints - (size_t)first) {
        r->bad = what;
        return NULL;
    }
    const int32_t *v = r->ints + first;
    for (int32_t i = 0; i < count && !r->trusted; i++)
        if (!in_range(r, v[i], lo, hi, what))
            return NULL;
    return (int *)v;            /* int32_t is int here (checked below) */
}

/* A (first, count) range of B_STRLIST as a NULL-free array of strings. */
static char **str_list(reader *r, int32_t first, int32_t count)
{
    if (count == 0)
        return NULL;
    if (first < 0 || count < 0 || (size_t)first > r->n_strlist ||
        (size_t)count > r->n_strlist - (size_t)first) {
        r->bad = "a list of strings is outside the image";
        return NULL;
    }
    char **v = arena_alloc(r->kb, (size_t)count * sizeof *v);
    if (!v) {
        r->oom = true;
        return NULL;
    }
    for (int32_t i = 0; i < count; i++)
        v[i] = (char *)string_at(r, r->strlist[first + i], false);
    return v;
}

/* Words in s, single spaces apart with none empty, or -1. */
static int word_count(const char *s)
{
    int n = 0;
    for (const char *w = s; *w; n++) {
        size_t len = strcspn(w, " ");
        if (!len)
            return -1;
        w += len;
        if (*w == ' ' && !*++w)
            return -1;                    /* a trailing space */
    }
    return n;
}

static bool power_of_two(size_t n)
{
    return n && !(n & (n - 1));
}

/* A table's slots: 1 + pool offsets, 0 for none.  The built-in image's
 * are not read one by one (that would touch every page of them); an image
 * file's must each be in the pool, and a table must have an empty slot,
 * where a look-up ends. */
static void check_keys(reader *r, const uint32_t *k, size_t n, bool slots)
{
    if (r->trusted)
        return;
    size_t used = 0;
    for (size_t i = 0; i < n && !r->bad; i++)
        if (k[i]) {
            string_at(r, k[i] - 1, false);
            used++;
        } else if (!slots) {
            r->bad = "a word set is malformed";
        }
    if (slots && n && used >= n && !r->bad)
        r->bad = "a table is full";
}

/* A map's keys and values, each value in [0, hi), used in place. */
static void read_map(reader *r, msfaqp_strmap *m, int hi)
{
    size_t nk, nv;
    const uint32_t *k = next(r, B_MAP_KEYS, sizeof *k, &nk);
    const int32_t *v = next(r, B_MAP_VALUES, sizeof *v, &nv);
    if (r->bad)
        return;
    if (nk != nv || (nk && !power_of_two(nk))) {
        r->bad = "a map is malformed";
        return;
    }
    m->keys = (uint32_t *)k;
    m->values = (int *)v;
    m->cap = nk;
    m->pool = r->pool;
    m->borrowed = true;
    check_keys(r, k, nk, true);
    for (size_t i = 0; i < nk && !r->trusted; i++)
        if (k[i])
            in_range(r, v[i], 0, hi, "a map value is out of range");
}

static void read_set(reader *r, msfaqp_wordset *s)
{
    size_t ns, nw;
    const uint32_t *slots = next(r, B_SET_SLOTS, sizeof *slots, &ns);
    const uint32_t *words = next(r, B_SET_WORDS, sizeof *words, &nw);
    if (r->bad)
        return;
    if (ns && !power_of_two(ns)) {
        r->bad = "a word set is malformed";
        return;
    }
    s->slots = (uint32_t *)slots;
    s->cap = ns;
    s->words = (uint32_t *)words;
    s->n_words = nw;
    s->pool = r->pool;
    s->borrowed = true;
    check_keys(r, slots, ns, true);
    check_keys(r, words, nw, false);
}

/* A group of the index for keys [0, n_keys), its values in [0, hi):
 * used in place, each at[] in order and within of[]. */
static void read_group(reader *r, int **at_out, int **of_out, int n_keys,
                       int hi)
{
    size_t n_at, n_of;
    const int32_t *at = next(r, B_GROUP_AT, sizeof *at, &n_at);
    const int32_t *of = next(r, B_GROUP_OF, sizeof *of, &n_of);
    if (r->bad)
        return;
    if (n_at != (size_t)n_keys + 1 || at[0] != 0 ||
        (size_t)at[n_keys] != n_of) {
        r->bad = "the index does not add up";
        return;
    }
    for (int k = 0; k < n_keys && !r->trusted; k++)
        if (at[k + 1] < at[k])
            r->bad = "the index does not add up";
    for (size_t i = 0; i < n_of && !r->trusted; i++)
        in_range(r, of[i], 0, hi, "an index value is out of range");
    *at_out = (int *)at;
    *of_out = (int *)of;
}

/* The built-in image's regexes keep their serialized code, which is part
 * of the library like its machine code, and each is decoded when first
 * run (msfaqp_regex_ready); when PCRE2 refuses it (another version wrote
 * it), or for an image file, whose code is not trusted, a regex is
 * compiled from its source instead. */
static void read_code(reader *r, const uint32_t *at, size_t n_at,
                      const uint8_t *bytes, size_t n_bytes)
{
    const msfaqp_index *x = &r->kb->index;
    if ((size_t)x->n_regexes + 1 != n_at || at[0] != 0 ||
        at[n_at - 1] != n_bytes) {
        r->bad = "the regexes' code does not add up";
        return;
    }
    for (size_t i = 0; i + 1 < n_at; i++)
        if (at[i + 1] < at[i] || at[i] % 8) {
            r->bad = "the regexes' code does not add up";
            return;
        }
    if (!r->trusted)
        return;
    for (int i = 0; i < x->n_regexes; i++)
        if (at[i + 1] > at[i])
            x->regex[i]->serialized = bytes + at[i];
}

static bool valid_literal(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == ' '))
            return false;
    return true;
}

/* The automaton, checked so that every walk of it ends: children and
 * failure links point forward and back in breadth-first order. */
static void read_automaton(reader *r, msfaqp_lits *l, size_t n_lits)
{
    size_t nr, na, nsym, nto, nf, no, nl;
    const int32_t *root = next(r, B_AC_ROOT, 4, &nr);
    const int32_t *at = next(r, B_AC_EDGE_AT, 4, &na);
    const unsigned char *sym = next(r, B_AC_EDGE_SYM, 1, &nsym);
    const int32_t *to = next(r, B_AC_EDGE_TO, 4, &nto);
    const int32_t *fail = next(r, B_AC_FAIL, 4, &nf);
    const int32_t *out = next(r, B_AC_OUT, 4, &no);
    const int32_t *link = next(r, B_AC_LINK, 4, &nl);
    if (r->bad)
        return;
    size_t ns = nf;
    if (nr != 38 || ns < 1 || ns > INT32_MAX / 2 || na != ns + 1 ||
        no != ns || nl != ns || nsym != nto || at[0] != 0 ||
        (size_t)at[ns] != nto) {
        r->bad = "the literal automaton does not add up";
        return;
    }
    for (size_t s = 0; s < ns && !r->bad && !r->trusted; s++) {
        if (at[s + 1] < at[s])
            r->bad = "the literal automaton does not add up";
        for (int32_t e = at[s]; e < at[s + 1] && !r->bad; e++)
            if (sym[e] < 1 || sym[e] > 37 ||
                !in_range(r, to[e], (int64_t)s + 1, (int64_t)ns,
                          "the literal automaton loops"))
                r->bad = r->bad ? r->bad : "the literal automaton loops";
        if (!in_range(r, fail[s], 0, s ? (int64_t)s : 1,
                      "the literal automaton loops") ||
            !in_range(r, out[s], -1, (int64_t)n_lits,
                      "the literal automaton does not add up") ||
            !in_range(r, link[s], -1, s ? (int64_t)s : 0,
                      "the literal automaton loops"))
            break;
    }
    for (int a = 0; a < 38 && !r->bad; a++)
        in_range(r, root[a], -1, (int64_t)ns, "the literal automaton loops");
    if (r->bad || root[0] != -1)
        return;
    memcpy(l->root, root, sizeof l->root);
    l->edge_at = (int32_t *)at;
    l->edge_sym = (unsigned char *)sym;
    l->edge_to = (int32_t *)to;
    l->fail = (int32_t *)fail;
    l->out = (int32_t *)out;
    l->link = (int32_t *)link;
    l->n_states = (int)ns;
}

/* Reads every block after the header into kb; returns 0, MSFAQ_ENOMEM or
 * MSFAQ_EIMAGE (r->bad says what did not add up). */
static int read_payload(reader *r, bool trusted)
{
    msfaq_kb *kb = r->kb;
    size_t n;
    r->pool = next(r, B_POOL, 1, &r->pool_size);
    size_t bad_at;
    if (!r->bad && (!r->pool_size || r->pool[r->pool_size - 1] != '\0'))
        r->bad = "the string pool is not terminated";
    else if (!r->bad && !trusted &&
             msfaqp_check_utf8(r->pool, r->pool_size, &bad_at))
        r->bad = "a string is not UTF-8";     /* as every JSON string is */
    const meta *m = next(r, B_META, sizeof(meta), &n);
    if (!r->bad && n != 1)
        r->bad = "no settings";
    if (r->bad)
        return MSFAQ_EIMAGE;
    kb->threshold = m->threshold;
    kb->clarify_margin = m->clarify_margin;
    if (!(kb->threshold > 0 && kb->threshold <= 1) ||
        !(kb->clarify_margin >= 0 && kb->clarify_margin < 1e6))
        r->bad = "a setting is out of range";
    kb->disclaimer = (char *)string_at(r, m->disclaimer, false);
    kb->fallback_text = (char *)string_at(r, m->fallback_text, false);
    kb->clarify_text = (char *)string_at(r, m->clarify_text, false);
    kb->article = (char *)string_at(r, m->article, false);
    if (!*kb->fallback_text || !*kb->clarify_text)
        r->bad = "a reply is empty";       /* as the JSON loader requires */

    const uint32_t *heads = next(r, B_HEADINGS, 4, &n);
    kb->n_headings = (int)n;
    kb->headings = arena_alloc(kb, (n + 1) * sizeof *kb->headings);
    for (size_t i = 0; kb->headings && i < n; i++)
        kb->headings[i] = (char *)string_at(r, heads[i], false);
    const uint32_t *ffu = next(r, B_FALLBACK_FU, 4, &n);
    kb->n_fallback_follow_ups = (int)n;
    kb->fallback_follow_ups = arena_alloc(kb, (n + 1) * sizeof(char *));
    for (size_t i = 0; kb->fallback_follow_ups && i < n; i++)
        kb->fallback_follow_ups[i] = (char *)string_at(r, ffu[i], false);
    if (!kb->headings || !kb->fallback_follow_ups)
        return MSFAQ_ENOMEM;

    size_t n_concepts, n_regexes;
    const img_concept *ic = next(r, B_CONCEPTS, sizeof *ic, &n_concepts);
    const img_regex *ir = next(r, B_REGEXES, sizeof *ir, &n_regexes);
    r->ints = next(r, B_INTS, 4, &r->n_ints);
    r->strlist = next(r, B_STRLIST, 4, &r->n_strlist);
    if (r->bad)
        return MSFAQ_EIMAGE;
    if (n_concepts > MSFAQP_MAX_CONCEPTS || n_regexes > INT32_MAX / 2) {
        r->bad = "too many concepts or regexes";
        return MSFAQ_EIMAGE;
    }
    int n_clauses = m->n_clauses;
    if (n_clauses < 0) {
        r->bad = "a count is negative";
        return MSFAQ_EIMAGE;
    }

    /* the regexes: one array, owned by concepts and patterns */
    msfaqp_regex *re = arena_alloc(kb, (n_regexes + 1) * sizeof *re);
    kb->concepts = arena_alloc(kb, (n_concepts + 1) * sizeof *kb->concepts);
    if (!re || !kb->concepts)
        return MSFAQ_ENOMEM;
    kb->n_concepts = (int)n_concepts;
    for (size_t i = 0; i < n_regexes; i++) {
        re[i].source = (char *)string_at(r, ir[i].source, false);
        re[i].need = int_list(r, ir[i].need_first, ir[i].n_need, 0, n_clauses,
                              "a regex needs a clause out of range");
        re[i].n_need = ir[i].n_need > 0 ? ir[i].n_need : 0;
        re[i].id = (int)i;
    }
    for (size_t c = 0; c < n_concepts && !r->bad; c++) {
        msfaqp_concept *cp = &kb->concepts[c];
        cp->name = (char *)string_at(r, ic[c].name, false);
        cp->source = (char *)string_at(r, ic[c].source, true);
        cp->role = ic[c].role;
        if (cp->role != MSFAQP_ROLE_ANCHOR && cp->role != MSFAQP_ROLE_TOPIC &&
            cp->role != MSFAQP_ROLE_FUNCTION &&
            cp->role != MSFAQP_ROLE_SMALLTALK && cp->role != MSFAQP_ROLE_CUE)
            r->bad = "a concept has no known role";
        cp->screen = ic[c].screen != 0;
        if (ic[c].n_re < 0 || ic[c].re_first < 0 ||
            (size_t)ic[c].re_first + (size_t)ic[c].n_re > n_regexes) {
            r->bad = "a concept's regexes are out of range";
            break;
        }
        cp->regexes = ic[c].n_re ? re + ic[c].re_first : NULL;
        cp->n_regexes = ic[c].n_re;
        for (int k = 0; k < cp->n_regexes; k++)
            if (ir[ic[c].re_first + k].concept != (int32_t)c)
                r->bad = "a regex is not its concept's";
        /* an alias is an earlier concept: presence never loops */
        cp->aliases = int_list(r, ic[c].alias_first, ic[c].n_alias, 0, (int)c,
                               "an alias is not an earlier concept");
        cp->n_aliases = ic[c].n_alias > 0 ? ic[c].n_alias : 0;
        cp->unless = int_list(r, ic[c].unless_first, ic[c].n_unless, 0,
                              (int)c, "an unless is not an earlier concept");
        cp->n_unless = ic[c].n_unless > 0 ? ic[c].n_unless : 0;
    }
    if (r->bad)
        return MSFAQ_EIMAGE;

    const img_term *it = next(r, B_TERMS, sizeof *it, &n);
    kb->terms = arena_alloc(kb, (n + 1) * sizeof *kb->terms);
    if (!kb->terms)
        return MSFAQ_ENOMEM;
    kb->n_terms = (int)n;
    for (size_t t = 0; t < n && !r->bad; t++) {
        msfaqp_term *tm = &kb->terms[t];
        tm->text = (char *)string_at(r, it[t].text, false);
        tm->stems = (char *)string_at(r, it[t].stems, false);
        tm->n_words = it[t].n_words;
        tm->key_at = it[t].key_at;
        tm->concept = it[t].concept;
        tm->next = it[t].next;
        /* a chain only goes back: it ends */
        if (r->trusted)
            continue;
        if (tm->n_words < 1 || tm->key_at < 0 || tm->key_at >= tm->n_words ||
            word_count(tm->stems) != tm->n_words ||
            !in_range(r, tm->concept, 0, (int)n_concepts,
                      "a term's concept is out of range") ||
            !in_range(r, tm->next, -1, (int)t, "a term chain loops"))
            r->bad = r->bad ? r->bad : "a term is malformed";
    }

    size_t n_intents, n_groups, n_any, n_pats, n_resp, n_rw, n_conf, n_asks;
    const img_intent *ii = next(r, B_INTENTS, sizeof *ii, &n_intents);
    const img_group *ig = next(r, B_GROUPS, sizeof *ig, &n_groups);
    const img_weighted *ia = next(r, B_ANY, sizeof *ia, &n_any);
    const img_pattern *ip = next(r, B_PATTERNS, sizeof *ip, &n_pats);
    const img_response *irp = next(r, B_RESPONSES, sizeof *irp, &n_resp);
    const img_pair *irw = next(r, B_REWRITES, sizeof *irw, &n_rw);
    const uint32_t *icf = next(r, B_CONFUSIONS, 4, &n_conf);
    const img_ask *iak = next(r, B_ASKS, sizeof *iak, &n_asks);
    if (r->bad)
        return MSFAQ_EIMAGE;
    if (n_intents > INT32_MAX / 2 || n_resp > INT32_MAX / 2 ||
        (int32_t)n_conf != m->n_confusion_stems) {
        r->bad = "a count does not add up";
        return MSFAQ_EIMAGE;
    }

    kb->responses = arena_alloc(kb, (n_resp + 1) * sizeof *kb->responses);
    if (!kb->responses)
        return MSFAQ_ENOMEM;
    kb->n_responses = (int)n_resp;
    for (size_t i = 0; i < n_resp; i++) {
        msfaqp_response *rp = &kb->responses[i];
        rp->id = (char *)string_at(r, irp[i].id, false);
        rp->title = (char *)string_at(r, irp[i].title, false);
        rp->text = (char *)string_at(r, irp[i].text, false);
        if (!*rp->text)
            r->bad = "a reply is empty";
        rp->section = (char *)string_at(r, irp[i].section, true);
        rp->follow_ups = str_list(r, irp[i].fu_first, irp[i].n_fu);
        rp->n_follow_ups = irp[i].n_fu > 0 ? irp[i].n_fu : 0;
    }
    kb->asks = arena_alloc(kb, (n_asks + 1) * sizeof *kb->asks);
    if (!kb->asks)
        return MSFAQ_ENOMEM;
    kb->n_asks = (int)n_asks;
    for (size_t a = 0; a < n_asks; a++) {
        msfaqp_ask_kind *ak = &kb->asks[a];
        ak->name = (char *)string_at(r, iak[a].name, false);
        ak->response_id = (char *)string_at(r, iak[a].response_id, false);
        if (in_range(r, iak[a].concept, 0, (int)n_concepts,
                     "a kind of fact names no concept") &&
            in_range(r, iak[a].resp, 0, (int)n_resp,
                     "a kind of fact names no reply")) {
            ak->concept = iak[a].concept;
            ak->resp = &kb->responses[iak[a].resp];
        }
    }

    kb->intents = arena_alloc(kb, (n_intents + 1) * sizeof *kb->intents);
    if (!kb->intents)
        return MSFAQ_ENOMEM;
    kb->n_intents = (int)n_intents;
    for (size_t i = 0; i < n_intents && !r->bad; i++) {
        const img_intent *s = &ii[i];
        msfaqp_intent *in = &kb->intents[i];
        in->id = (char *)string_at(r, s->id, false);
        in->response_id = (char *)string_at(r, s->response_id, false);
        in->kind = s->kind;
        in->priority = s->priority;
        in->backstop = s->backstop != 0;
        if ((s->backstop != 0 && s->backstop != 1) ||
            (s->backstop && s->kind != MSFAQ_KIND_SAFETY))
            r->bad = "an intent's backstop flag is not 0, or 1 for a rule";
        if (s->kind != MSFAQ_KIND_ANSWER && s->kind != MSFAQ_KIND_FALLBACK &&
            s->kind != MSFAQ_KIND_SAFETY && s->kind != MSFAQ_KIND_SMALLTALK)
            r->bad = "an intent has no known kind";
        if (!in_range(r, s->resp, 0, (int)n_resp, "an intent has no reply"))
            break;
        in->resp = &kb->responses[s->resp];
        if (s->kind == MSFAQ_KIND_ANSWER && !in->resp->section)
            r->bad = "an answer cites no section";
        if (s->n_all < 0 || s->all_first < 0 ||
            (size_t)s->all_first + (size_t)s->n_all > n_groups ||
            s->n_any < 0 || s->any_first < 0 ||
            (size_t)s->any_first + (size_t)s->n_any > n_any ||
            s->n_pat < 0 || s->pat_first < 0 ||
            (size_t)s->pat_first + (size_t)s->n_pat > n_pats) {
            r->bad = "an intent's lists are out of range";
            break;
        }
        in->n_all = s->n_all;
        in->all = arena_alloc(kb, ((size_t)s->n_all + 1) * sizeof *in->all);
        in->n_any = s->n_any;
        in->any = arena_alloc(kb, ((size_t)s->n_any + 1) * sizeof *in->any);
        in->n_patterns = s->n_pat;
        in->patterns = arena_alloc(kb, ((size_t)s->n_pat + 1) *
                                           sizeof *in->patterns);
        if (!in->all || !in->any || !in->patterns)
            return MSFAQ_ENOMEM;
        for (int g = 0; g < s->n_all; g++) {
            const img_group *gr = &ig[s->all_first + g];
            in->all[g].concepts = int_list(r, gr->first, gr->count, 0,
                                           (int)n_concepts,
                                           "a group names no concept");
            in->all[g].count = gr->count;
            if (gr->count < 1)
                r->bad = "a group is empty";
        }
        for (int k = 0; k < s->n_any; k++) {
            const img_weighted *a = &ia[s->any_first + k];
            in_range(r, a->concept, 0, (int)n_concepts,
                     "a weight names no concept");
            if (!(a->weight > -1e6 && a->weight < 1e6))   /* NaN too */
                r->bad = "a weight is out of range";
            in->any[k].concept = a->concept;
            in->any[k].weight = a->weight;
        }
        in->none = int_list(r, s->none_first, s->n_none, 0, (int)n_concepts,
                            "a veto names no concept");
        in->n_none = s->n_none > 0 ? s->n_none : 0;
        for (int p = 0; p < s->n_pat; p++) {
            const img_pattern *P = &ip[s->pat_first + p];
            msfaqp_pattern *dst = &in->patterns[p];
            dst->source = (char *)string_at(r, P->source, false);
            dst->weight = P->weight;
            if (!(P->weight > -1e6 && P->weight < 1e6))
                r->bad = "a weight is out of range";
            dst->alias = P->alias;
            if (P->regex < 0) {
                in_range(r, P->alias, 0, (int)n_concepts,
                         "a pattern names no concept");
            } else if (in_range(r, P->regex, 0, (int)n_regexes,
                                "a pattern has no regex") &&
                       ir[P->regex].intent == (int32_t)i) {
                /* the pattern owns its regex: a copy of the record (code
                 * and JIT state live in the copy, index points at it) */
                dst->re = re[P->regex];
                dst->alias = -1;
            } else {
                r->bad = "a regex is not its pattern's";
            }
        }
        in->examples = str_list(r, s->ex_first, s->n_ex);
        in->n_examples = s->n_ex > 0 ? s->n_ex : 0;
        in->negatives = str_list(r, s->neg_first, s->n_neg);
        in->n_negatives = s->n_neg > 0 ? s->n_neg : 0;
        in->covers = int_list(r, s->cov_first, s->n_cov, 0, (int)n_asks,
                              "an intent covers no kind of fact");
        in->n_covers = s->n_cov > 0 ? s->n_cov : 0;
    }
    for (size_t i = 0; i < n_regexes && !r->bad; i++)
        if (!((ir[i].concept >= 0 && ir[i].concept < (int32_t)n_concepts &&
               ir[i].intent == -1) ||
              (ir[i].concept == -1 && ir[i].intent >= 0 &&
               ir[i].intent < (int32_t)n_intents)))
            r->bad = "a regex belongs to nothing";

    kb->rewrites = arena_alloc(kb, (n_rw + 1) * sizeof *kb->rewrites);
    kb->confusion_stems = arena_alloc(kb, (n_conf + 1) * sizeof(char *));
    if (!kb->rewrites || !kb->confusion_stems)
        return MSFAQ_ENOMEM;
    kb->n_rewrites = (int)n_rw;
    for (size_t i = 0; i < n_rw; i++) {
        kb->rewrites[i].from = (char *)string_at(r, irw[i].a, false);
        kb->rewrites[i].to = (char *)string_at(r, irw[i].b, false);
        if (i && strcmp(kb->rewrites[i - 1].from, kb->rewrites[i].from) >= 0)
            r->bad = "the rewrites are not sorted";   /* so each "from" is there once */
    }
    kb->n_confusions = (int)n_conf;
    for (size_t i = 0; i < n_conf; i++)
        kb->confusion_stems[i] = (char *)string_at(r, icf[i], false);
    if (r->bad)
        return MSFAQ_EIMAGE;

    read_map(r, &kb->by_stem, kb->n_terms);
    read_map(r, &kb->concept_ids, kb->n_concepts);
    read_map(r, &kb->confusion_of, kb->n_confusions);
    read_map(r, &kb->stem_of, INT32_MAX);       /* checked below */
    read_set(r, &kb->term_stems);
    read_set(r, &kb->vocab);
    read_set(r, &kb->targets);
    const uint32_t *bf = next(r, B_BY_FIRST, 4, &n);
    size_t nm, nl, na;
    const uint32_t *masks = next(r, B_FIRST_MASKS, 4, &nm);
    const unsigned char *lens = next(r, B_FIRST_LENS, 1, &nl);
    const uint64_t *at = next(r, B_FIRST_AT, 8, &na);
    if (r->bad)
        return r->oom ? MSFAQ_ENOMEM : MSFAQ_EIMAGE;
    if (n != kb->targets.n_words || nm != n || nl != n || na != 257) {
        r->bad = "the typo index does not add up";
        return MSFAQ_EIMAGE;
    }
    kb->by_first = arena_alloc(kb, (n + 1) * sizeof *kb->by_first);
    if (!kb->by_first)
        return MSFAQ_ENOMEM;
    for (size_t i = 0; i < n; i++)
        kb->by_first[i] = string_at(r, bf[i], false);
    kb->first_masks = (uint32_t *)masks;
    kb->first_lens = (unsigned char *)lens;
    for (int i = 0; i < 257; i++) {
        kb->first_at[i] = (size_t)at[i];
        if (at[i] > n || (i && at[i] < at[i - 1]))
            r->bad = "the typo index does not add up";
    }
    for (size_t i = 0; i < n && !r->bad && !r->trusted; i++)
        if (lens[i] != (strlen(kb->by_first[i]) < 255
                            ? strlen(kb->by_first[i]) : 255))
            r->bad = "the typo index does not add up";
    const uint32_t *sc = next(r, B_STEM_CACHE, 4, &n);
    kb->stem_cache = arena_alloc(kb, (n + 1) * sizeof *kb->stem_cache);
    if (!kb->stem_cache)
        return MSFAQ_ENOMEM;
    kb->n_stem_cache = kb->stem_cache_cap = n;
    for (size_t i = 0; i < n; i++)
        kb->stem_cache[i] = (char *)string_at(r, sc[i], false);
    for (size_t i = 0; i < kb->stem_of.cap && !r->trusted; i++)
        if (kb->stem_of.keys[i])
            in_range(r, kb->stem_of.values[i], 0, (int)n,
                     "a cached stem is out of range");

    /* the literal index and its automaton */
    msfaqp_lits *l = &kb->lits;
    size_t n_lits, n_at, n_lc;
    const uint32_t *ls = next(r, B_LITS, 4, &n_lits);
    const int32_t *lat = next(r, B_LIT_AT, 4, &n_at);
    const int32_t *lc = next(r, B_LIT_CLAUSES, 4, &n_lc);
    read_automaton(r, l, n_lits);
    msfaqp_index *x = &kb->index;
    x->borrowed = true;
    read_group(r, &x->clause_at, &x->clause_regex, n_clauses,
               (int)n_regexes);   /* n_regexes is bounded above */
    read_group(r, &x->concept_at, &x->concept_intent, kb->n_concepts,
               kb->n_intents);
    read_group(r, &x->alias_at, &x->alias_of, kb->n_concepts,
               kb->n_concepts);
    read_map(r, &x->rewrite_of, kb->n_rewrites);
    size_t n_code_at, n_code;
    const uint32_t *code_at = next(r, B_PCRE2_AT, 4, &n_code_at);
    const uint8_t *code = next(r, B_PCRE2, 1, &n_code);
    size_t n_end;
    next(r, B_END, 1, &n_end);
    if (r->bad)
        return MSFAQ_EIMAGE;
    if (r->p != r->end || n_at != n_lits + 1 || n_lits > INT32_MAX / 2) {
        r->bad = "the literal index does not add up";
        return MSFAQ_EIMAGE;
    }
    l->strs = arena_alloc(kb, (n_lits + 1) * sizeof *l->strs);
    if (!l->strs)
        return MSFAQ_ENOMEM;
    l->n = (int)n_lits;
    l->n_clauses = n_clauses;
    for (size_t i = 0; i < n_lits; i++) {
        l->strs[i] = (char *)string_at(r, ls[i], false);
        if (!r->bad && !r->trusted && !valid_literal(l->strs[i]))
            r->bad = "a literal holds what no question holds";
        if (!r->trusted && (lat[i] < 0 || lat[i + 1] < lat[i]))
            r->bad = "the literal index does not add up";
    }
    if (!r->bad && (lat[0] != 0 || (size_t)lat[n_lits] != n_lc ||
                    (size_t)n_clauses > n_lc))  /* a clause has a literal */
        r->bad = "the literal index does not add up";
    for (size_t i = 0; i < n_lc && !r->bad && !r->trusted; i++)
        in_range(r, lc[i], 0, n_clauses, "a literal meets no clause");
    if (r->bad)
        return MSFAQ_EIMAGE;
    l->lit_at = (int *)lat;
    l->lit_clauses = (int *)lc;

    /* the regexes' owners point at the records; then the index, which
     * renumbers them in the same order (checked), and the code */
    if (msfaqp_index_build(kb, false))
        return MSFAQ_ENOMEM;
    if (x->n_regexes != (int)n_regexes) {
        r->bad = "the regexes do not add up";
        return MSFAQ_EIMAGE;
    }
    for (size_t i = 0; i < n_regexes; i++) {
        const msfaqp_regex *one = x->regex[i];
        if (one->source != re[i].source || one->need != re[i].need ||
            x->regex_concept[i] != ir[i].concept ||
            x->regex_intent[i] != ir[i].intent) {
            r->bad = "the regexes do not add up";
            return MSFAQ_EIMAGE;
        }
    }
    read_code(r, code_at, n_code_at, code, n_code);
    return r->bad ? MSFAQ_EIMAGE : 0;
}

/* Compile-time facts the format relies on. */
_Static_assert(sizeof(int) == sizeof(int32_t), "int is 32 bits");
_Static_assert(sizeof(header) == MSFAQP_IMAGE_HEADER, "header is 64 bytes");

msfaq_kb *msfaqp_image_open(const unsigned char *data, size_t size,
                            bool copy, const char *source, msfaq_error *err)
{
    if (err)
        memset(err, 0, sizeof *err), err->line = err->column = -1,
                                     err->offset = -1;
    /* the built-in image is part of the library, like its code: reading
     * all of it for a checksum would only make every page resident */
    bool trusted = data == msfaqp_embedded_image;
    const char *why = NULL;
    header h;
    if (size < sizeof MAGIC || memcmp(data, MAGIC, sizeof MAGIC) != 0) {
        why = "not a compiled msfaq KB";
    } else if (size < sizeof h) {
        why = "truncated (shorter than its header)";
    } else {
        memcpy(&h, data, sizeof h);
        if (h.bom != BOM)
            why = "written on a machine of another byte order";
        else if (h.format != FORMAT)
            why = "of another format version (compile it again with msfaq "
                  "compile)";
        else if (h.size != size - sizeof h)
            why = h.size > size - sizeof h ? "truncated"
                                            : "longer than it says";
        else if (!trusted && msfaqp_image_checksum(data + sizeof h,
                                                   (size_t)h.size) !=
                                 h.checksum)
            why = "damaged (checksum mismatch)";
    }
    if (why) {
        msfaqp_error_set(err, MSFAQ_EIMAGE, source, -1, -1, -1,
                         "KB image %s", why);
        return NULL;
    }
    msfaq_kb *kb = calloc(1, sizeof *kb);
    if (!kb)
        goto nomem;
    pthread_mutex_init(&kb->jit_lock, NULL);
    kb->is_image = true;
    if (copy) {
        /* 8-aligned, like every block in it */
        kb->image = malloc(size ? size : 1);
        if (!kb->image)
            goto nomem;
        memcpy(kb->image, data, size);
        data = kb->image;
    }
    if (msfaqp_stems_init(kb) || !(kb->source = msfaqp_strdup(source)))
        goto nomem;
    reader r = {kb, data + sizeof h, data + size, NULL, 0, NULL, 0, NULL, 0,
                NULL, false, trusted};
    int rc = read_payload(&r, trusted);
    if (rc == 0 && (r.bad || r.oom))
        rc = r.oom ? MSFAQ_ENOMEM : MSFAQ_EIMAGE;
    if (rc == MSFAQ_ENOMEM || r.oom)
        goto nomem;
    if (rc) {
        if (r.bad)
            msfaqp_error_set(err, MSFAQ_EIMAGE, source, -1, -1, -1,
                             "KB image damaged: %s", r.bad);
        msfaq_kb_close(kb);
        return NULL;
    }
    kb->mctx = pcre2_match_context_create(NULL);
    if (!kb->mctx)
        goto nomem;
    pcre2_set_match_limit(kb->mctx, MSFAQP_MATCH_LIMIT);
    pcre2_set_depth_limit(kb->mctx, MSFAQP_DEPTH_LIMIT);
    return kb;
nomem:
    msfaq_kb_close(kb);
    msfaqp_error_set(err, MSFAQ_ENOMEM, source, -1, -1, -1, "out of memory");
    return NULL;
}

void msfaqp_image_free(msfaq_kb *kb)
{
    for (int r = 0; r < kb->index.n_regexes; r++)
        pcre2_code_free(kb->index.regex[r]->code);
    msfaqp_index_free(&kb->index);
    for (arena_chunk *c = kb->arena, *nx; c; c = nx) {
        nx = c->next;
        free(c);
    }
    kb->arena = NULL;
    free(kb->image);
    kb->image = NULL;
}

/* =========================================================== public */

int msfaq_kb_save(const msfaq_kb *kb, const char *path, msfaq_error *err)
{
    if (err)
        memset(err, 0, sizeof *err), err->line = err->column = -1,
                                     err->offset = -1;
    if (!kb || !path) {
        msfaqp_error_set(err, MSFAQ_EINVAL, NULL, -1, -1, -1,
                         "msfaq_kb_save needs a KB and a path");
        return MSFAQ_EINVAL;
    }
    msfaqp_buf img = {0};
    if (msfaqp_image_write(kb, &img)) {
        free(img.p);
        msfaqp_error_set(err, MSFAQ_ENOMEM, path, -1, -1, -1,
                         "out of memory");
        return MSFAQ_ENOMEM;
    }
    /* written next to it, then renamed: a reader never sees half */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    int rc = 0;
    if (!fp || fwrite(img.p, 1, img.len, fp) != img.len || fflush(fp) ||
        fclose(fp)) {
        int e = errno;
        if (fp)
            fclose(fp);
        remove(tmp);
        msfaqp_error_set(err, MSFAQ_EIO, path, -1, -1, -1,
                         "cannot write: %s", strerror(e));
        rc = MSFAQ_EIO;
    } else if (rename(tmp, path)) {
        int e = errno;
        remove(tmp);
        msfaqp_error_set(err, MSFAQ_EIO, path, -1, -1, -1,
                         "cannot write: %s", strerror(e));
        rc = MSFAQ_EIO;
    }
    free(img.p);
    return rc;
}
