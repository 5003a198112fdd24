/*
 * msfaq_private.h - the in-memory knowledge base, shared by the plugin
 * sources only.
 *
 * A KB is built once by kb_load.c and never modified afterwards, which is
 * what makes msfaq_ask() safe to call from many threads: every per-question
 * buffer (match data, normalised text, scores) lives on the asking thread.
 */
#ifndef MSFAQ_PRIVATE_H
#define MSFAQ_PRIVATE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "msfaq.h"

#define MSFAQP_HIDDEN __attribute__((visibility("hidden")))

/* Bounds that keep one question's work small and predictable. */
#define MSFAQP_MAX_TOKENS 512      /* words looked at per question */
#define MSFAQP_MATCH_LIMIT 100000  /* PCRE2 match limit per pattern run */
#define MSFAQP_DEPTH_LIMIT 1000    /* PCRE2 depth (backtracking) limit */
#define MSFAQP_MAX_CONCEPTS 1024
#define MSFAQP_MAX_TOP 5           /* intents listed in explain/suggest */
#define MSFAQP_MAX_REGEX 65536     /* bytes of a regex after {expansion} */

/* A compiled regex with its literal prefilter.  JIT compilation is
 * tiered: JIT-compiling costs as much as hundreds of interpreted runs, so a
 * regex is interpreted for its first MSFAQP_JIT_AFTER runs (a one-question
 * "msfaq ask" never pays for JIT) and JIT-compiled once it proves busy.
 * jit goes 0 -> 1 (JIT code ready) or 2 (JIT unavailable) once, under
 * kb->jit_lock: the one thing about an open KB that changes; see
 * msfaqp_regex_run(). */
#define MSFAQP_JIT_AFTER 16
#define MSFAQP_INTERPRET_MAX 256   /* longer texts always use the JIT */
typedef struct msfaqp_regex {
    pcre2_code *code;
    char *needle;        /* text every match holds, or NULL */
    atomic_int jit;
    atomic_int runs;     /* interpreted runs so far, while jit is 0 */
} msfaqp_regex;

/* A named, reusable piece of meaning: CAR-T, "side effects", "my doctor".
 * Its literal terms are found through the KB's term index (terms.c); its
 * regex patterns, if any, are compiled into one PCRE2 code. */
typedef struct msfaqp_concept {
    char *name;
    char *source;        /* terms and patterns as one regex: what {name}
                            expands to in other patterns, and explain */
    msfaqp_regex *regexes;   /* its patterns, each compiled alone */
    int n_regexes;
    int *aliases;        /* patterns that are exactly "{other}": present */
    int n_aliases;       /* whenever that earlier concept is */
} msfaqp_concept;

/* One literal term ("car t cell", "relaps*"), indexed by its first word. */
typedef struct msfaqp_term {
    char *text;          /* normalised words; '*' ends a prefix word */
    int concept;
    int next;            /* next term under the same index key, or -1 */
} msfaqp_term;

/* An open-addressing map from strings to ints (strmap.c). */
typedef struct msfaqp_strmap {
    char **keys;
    int *values;
    size_t cap;          /* power of two */
    size_t count;
} msfaqp_strmap;
MSFAQP_HIDDEN int msfaqp_strmap_get(const msfaqp_strmap *m, const char *w,
                                    size_t n);              /* -1: absent */
MSFAQP_HIDDEN int msfaqp_strmap_put(msfaqp_strmap *m, const char *w,
                                    size_t n, int value);   /* -1: ENOMEM */
MSFAQP_HIDDEN void msfaqp_strmap_free(msfaqp_strmap *m);

/* A weighted regex over the normalised question, owned by an intent. */
typedef struct msfaqp_pattern {
    char *source;        /* as written, before {concept} expansion */
    msfaqp_regex re;     /* re.code is NULL for an alias */
    int alias;           /* exactly "{concept}": that concept's index */
    double weight;
} msfaqp_pattern;

typedef struct msfaqp_group {   /* satisfied when any member concept is */
    int *concepts;
    int count;
} msfaqp_group;

typedef struct msfaqp_weighted {
    int concept;
    double weight;
} msfaqp_weighted;

typedef struct msfaqp_intent {
    char *id;
    int kind;            /* enum msfaq_kind (never CLARIFY) */
    int priority;        /* a matching higher tier always wins */
    msfaqp_group *all;   /* every group must hold */
    int n_all;
    msfaqp_weighted *any;  /* optional concepts that add weight */
    int n_any;
    int *none;           /* any of these present: intent is out */
    int n_none;
    msfaqp_pattern *patterns;
    int n_patterns;
    char **examples;     /* must reach this intent (lint) */
    int n_examples;
    char **negatives;    /* must not reach this intent (lint) */
    int n_negatives;
    char *response_id;   /* defaults to id */
    const struct msfaqp_response *resp;   /* resolved by kb_load.c */
} msfaqp_intent;

/* A reply from responses/answers.json; several intents may share one. */
typedef struct msfaqp_response {
    char *id;
    char *title;         /* short topic name for suggestions */
    char *text;          /* the reply, without the disclaimer */
    char *section;       /* exact article heading, or NULL */
    char **follow_ups;
    int n_follow_ups;
} msfaqp_response;

typedef struct msfaqp_rewrite {   /* one word -> replacement words */
    char *from;
    char *to;
} msfaqp_rewrite;

/* Open-addressing string set: the vocabulary typos are corrected to. */
typedef struct msfaqp_wordset {
    char **slots;
    size_t cap;          /* power of two */
    size_t count;
    char **words;        /* insertion order, for the corrector's scan */
    size_t n_words;
} msfaqp_wordset;

struct msfaq_kb {
    char *source;        /* "embedded" or the directory */
    msfaqp_concept *concepts;
    int n_concepts;
    msfaqp_term *terms;
    int n_terms;
    msfaqp_strmap by_word;       /* exact first word -> first term */
    msfaqp_strmap by_stem;       /* first three letters of a prefix word
                                    -> first term */
    msfaqp_strmap concept_ids;   /* concept name -> index */
    msfaqp_intent *intents;
    int n_intents;
    msfaqp_response *responses;
    int n_responses;
    msfaqp_rewrite *rewrites;
    int n_rewrites;
    msfaqp_wordset vocab;        /* every word the KB knows */
    msfaqp_wordset targets;      /* words a typo may be corrected to */
    const char **by_first;       /* targets grouped by first letter: */
    uint32_t *first_masks;       /* ...with the set of letters of each */
    size_t first_at[257];        /* by_first[first_at[c]..first_at[c+1]) */
    msfaqp_wordset stems;        /* prefix terms ("relaps"): any word they
                                    start is known, never "corrected" */
    double threshold;    /* minimum confidence for a reply */
    double clarify_margin;       /* score gap under which we ask back */
    char *disclaimer;
    char *fallback_text;
    char *clarify_text;
    char **fallback_follow_ups;
    int n_fallback_follow_ups;
    char *article;       /* responses/article.txt, NUL-terminated */
    char **headings;     /* section headings found in the article */
    int n_headings;
    pcre2_match_context *mctx;   /* limits; read-only once built */
    pthread_mutex_t jit_lock;    /* serialises first-use JIT compiles */
};

/* ---- error.c */
MSFAQP_HIDDEN void msfaqp_error_set(msfaq_error *err, int code,
                                    const char *file, int line, int column,
                                    long offset, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* ---- normalize.c: question text -> lowercase ASCII words */
typedef struct msfaqp_text {
    char *norm;          /* words joined by single spaces */
    size_t len;
    char *raw_words;     /* words before correction, same layout */
    int n_words;
    int n_corrected;
    char *corrections;   /* "from>to" pairs joined by "|" ("to" may be
                            two words: "sideefects>side effects") */
} msfaqp_text;

MSFAQP_HIDDEN int msfaqp_check_utf8(const char *s, size_t len,
                                    size_t *bad_at);
MSFAQP_HIDDEN int msfaqp_normalize(const msfaq_kb *kb, const char *q,
                                   msfaqp_text *out);
MSFAQP_HIDDEN void msfaqp_text_free(msfaqp_text *t);
/* The question sentences of a message that also holds other sentences
 * ("My aunt has MS. What is a DMT?" -> "What is a DMT?"), as a new
 * string; NULL when the whole message is the question. */
MSFAQP_HIDDEN char *msfaqp_focus(const char *q);

/* ---- spell.c */
MSFAQP_HIDDEN int msfaqp_wordset_add(msfaqp_wordset *s, const char *w,
                                     size_t len);
MSFAQP_HIDDEN bool msfaqp_wordset_has(const msfaqp_wordset *s,
                                      const char *w, size_t len);
MSFAQP_HIDDEN void msfaqp_wordset_free(msfaqp_wordset *s);
/* A word the KB knows (see spell.c). */
MSFAQP_HIDDEN bool msfaqp_known(const msfaq_kb *kb, const char *w, size_t n);
/* Two known words run together ("physicaltherapy"): writes "left right"
 * into out and returns true, or returns false. */
MSFAQP_HIDDEN bool msfaqp_split(const msfaq_kb *kb, const char *w, size_t n,
                                char *out, size_t size);
/* The set of letters a-z in w[0..n), one bit each. */
MSFAQP_HIDDEN uint32_t msfaqp_letter_mask(const char *w, size_t n);
/* Groups the targets by first letter for msfaqp_correct(). */
MSFAQP_HIDDEN int msfaqp_targets_index(msfaq_kb *kb);
/* The unique closest target word within the edit budget, or NULL. */
MSFAQP_HIDDEN const char *msfaqp_correct(const msfaq_kb *kb, const char *w,
                                         size_t len);
MSFAQP_HIDDEN int msfaqp_damerau(const char *a, size_t la, const char *b,
                                 size_t lb, int max);

/* ---- terms.c: literal terms found by word lookup, not by regex scan */
MSFAQP_HIDDEN int msfaqp_terms_add(msfaq_kb *kb, const char *text,
                                   int concept);
MSFAQP_HIDDEN void msfaqp_terms_scan(const msfaq_kb *kb, const char *norm,
                                     unsigned char *concept_hit);
MSFAQP_HIDDEN void msfaqp_terms_free(msfaq_kb *kb);

/* ---- json_pos.c: byte offset of the value at a JSON path ("a.b[2]") in
 * a JSON text, or -1 */
MSFAQP_HIDDEN long msfaqp_json_path_offset(const char *text,
                                           const char *path);

/* ---- prefilter.c: a literal that every match of the regex contains
 * (new string), or NULL when there is no such guarantee */
MSFAQP_HIDDEN char *msfaqp_required_literal(const char *regex);

/* ---- kb_load.c helpers used by match.c */
/* Matches r against s: PCRE2_ERROR_NOMATCH at once when r's needle is
 * not in s; else JIT-compiles r on first use and runs it.  Thread-safe. */
MSFAQP_HIDDEN int msfaqp_regex_run(const msfaq_kb *kb, const msfaqp_regex *r,
                                   const char *s, size_t len,
                                   pcre2_match_data *md);

/* ---- match.c: concepts and intent scores for one normalised question */
typedef struct msfaqp_score {
    int intent;
    double score;
} msfaqp_score;

typedef struct msfaqp_match {
    unsigned char *concept_hit;   /* per concept, whole message: 1 present,
                                     0 absent, 2 never needed (not asked
                                     with full) */
    unsigned char *focus_hit;     /* the same for the question sentences;
                                     == concept_hit when there is no focus */
    double *score;                /* n_intents; < 0: not a candidate */
    double *partial;              /* n_intents: evidence, even when an
                                     "all" group is missing (suggestions) */
    unsigned char *pattern_hit;   /* every intent's patterns, in order */
    int n_patterns;
    bool focus_used;              /* false: the whole message decided */
    msfaqp_score top[MSFAQP_MAX_TOP];
    int n_top;
    int best;                     /* intent index, or -1 */
    int runner_up;                /* intent index, or -1 */
    bool clarify;
    bool limit_hit;
} msfaqp_match;

/* Safety intents read the whole message t (a decision mentioned in any
 * sentence counts); the others read the question sentences focus, or t
 * when focus is NULL.  full: settle every concept and score every intent
 * completely (for explain), instead of stopping early. */
MSFAQP_HIDDEN int msfaqp_match_run(const msfaq_kb *kb,
                                   const msfaqp_text *t,
                                   const msfaqp_text *focus, bool full,
                                   msfaqp_match *m, msfaq_error *err);
MSFAQP_HIDDEN void msfaqp_match_free(msfaqp_match *m);
MSFAQP_HIDDEN double msfaqp_confidence(double score);
/* ---- ask.c: what msfaq_ask() and lint share */
typedef struct msfaqp_route {
    msfaqp_text text;    /* the whole message */
    msfaqp_text focus;   /* its question sentences, when has_focus */
    bool has_focus;
    msfaqp_match match;
} msfaqp_route;

/* Normalises q (already checked: UTF-8, length) and its focus, and
 * matches.  Free with msfaqp_route_free() whatever it returns. */
MSFAQP_HIDDEN int msfaqp_route_run(const msfaq_kb *kb, const char *q,
                                   bool full, msfaqp_route *rt,
                                   msfaq_error *err);
MSFAQP_HIDDEN void msfaqp_route_free(msfaqp_route *rt);

/* ---- kb_load.c */
MSFAQP_HIDDEN const char *msfaqp_section_body(const msfaq_kb *kb,
                                              const char *heading,
                                              size_t *len);

/* ---- embedded_kb.c (generated at build time) */
typedef struct msfaqp_embedded_file {
    const char *name;            /* "patterns/intents.json" */
    const unsigned char *data;
    size_t size;
} msfaqp_embedded_file;
extern MSFAQP_HIDDEN const msfaqp_embedded_file msfaqp_embedded_kb[];
extern MSFAQP_HIDDEN const size_t msfaqp_embedded_kb_count;

/* ---- buf.c: a growing string; oom is sticky (check once at the end) */
typedef struct msfaqp_buf {
    char *p;             /* NUL-terminated once anything was put */
    size_t len, cap;
    bool oom;
} msfaqp_buf;
MSFAQP_HIDDEN void msfaqp_buf_put(msfaqp_buf *b, const char *s, size_t n);
MSFAQP_HIDDEN void msfaqp_buf_puts(msfaqp_buf *b, const char *s);
MSFAQP_HIDDEN size_t msfaqp_hash(const char *w, size_t n);

/* ---- util */
MSFAQP_HIDDEN char *msfaqp_strdup(const char *s);
MSFAQP_HIDDEN char *msfaqp_strndup(const char *s, size_t n);

#endif /* MSFAQ_PRIVATE_H */
