/*
 * msfaq_private.h - the in-memory knowledge base, shared by the plugin
 * sources only.
 *
 * A KB is built once by kb_load.c and never modified afterwards, which is
 * what makes msfaq_ask() safe to call from many threads: every per-question
 * buffer (match data, normalised text, scores) lives on the asking thread.
 * The two exceptions are guarded: a regex's JIT code is made once under
 * jit_lock, and the stemmers of the pool each have their own lock.
 *
 * A question goes through these stages (see docs/matcher.md):
 *   normalize.c  words, corrections (spell.c, words.c) and stems (stem.c)
 *   terms.c      literal concept terms, found by stem
 *   match.c      concepts present, intents scored (the view)
 *   route.c      the pipeline: safety screen, domain gate, intents,
 *                uncovered specifics; what explain shows
 *   ask.c        the reply
 */
#ifndef MSFAQ_PRIVATE_H
#define MSFAQ_PRIVATE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "msfaq.h"

#define MSFAQP_HIDDEN __attribute__((visibility("hidden")))

/* Bounds that keep one question's work small and predictable. */
#define MSFAQP_MAX_TOKENS 512      /* words looked at per question */
#define MSFAQP_MAX_WORD 64         /* longer words are read, not stemmed
                                      or corrected whole */
#define MSFAQP_STEMMERS 4          /* libstemmer objects in the pool */
#define MSFAQP_CHAT_UNKNOWN 1      /* unknown words small talk allows */
#define MSFAQP_MATCH_LIMIT 100000  /* PCRE2 match limit per pattern run */
#define MSFAQP_DEPTH_LIMIT 1000    /* PCRE2 depth (backtracking) limit */
#define MSFAQP_MAX_CONCEPTS 65536     /* a KB is bounded, not small */
#define MSFAQP_MAX_TOP 5           /* intents listed in explain/suggest */
#define MSFAQP_MAX_REGEX 65536     /* bytes of a regex after {expansion} */
#define MSFAQP_CHUNK_WORDS 64      /* a longer text is read by regexes in */
#define MSFAQP_CHUNK_STEP 40       /* stretches of this many words, this
                                      far apart (overlapping by 24) */

/* The text of a table's keys, when the table owns it (strmap.c). */
typedef struct msfaqp_pool {
    char *text;
    size_t len, cap;
} msfaqp_pool;

/* An open-addressing map from strings to ints (strmap.c).  keys[j] is 1 +
 * the offset of slot j's key in pool, 0 when the slot is empty: a
 * compiled image's maps are used in place (borrowed: keys, values and pool
 * are the image's). */
typedef struct msfaqp_strmap {
    uint32_t *keys;
    int *values;
    size_t cap;          /* power of two */
    size_t count;        /* keys put (0 in a borrowed map) */
    const char *pool;
    msfaqp_pool own;     /* pool, when put made it */
    bool borrowed;
} msfaqp_strmap;
MSFAQP_HIDDEN int msfaqp_strmap_get(const msfaqp_strmap *m, const char *w,
                                    size_t n);              /* -1: absent */
MSFAQP_HIDDEN int msfaqp_strmap_put(msfaqp_strmap *m, const char *w,
                                    size_t n, int value);   /* -1: ENOMEM */
MSFAQP_HIDDEN void msfaqp_strmap_free(msfaqp_strmap *m);

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
    char *source;        /* the regex as compiled ({names} expanded) */
    int *need;           /* what every match holds (prefilter.c): ids of
                            clauses of kb->lits, all of which must hold */
    int n_need;
    int id;              /* its number in kb->index */
    const uint8_t *serialized;   /* the built-in image's code for it, one
                                    pcre2_serialize_encode()d regex */
    atomic_int ready;    /* 1: code made; 0: not yet (an image's regexes
                            are decoded or compiled on first use); 2: its
                            source does not compile (matches nothing) */
    atomic_int jit;
    atomic_int runs;     /* interpreted runs so far, while jit is 0 */
} msfaqp_regex;

/* The literals the KB's regexes need, numbered, and an Aho-Corasick
 * automaton that finds them all in one pass over a question (literals.c). */
typedef struct msfaqp_lits {
    msfaqp_strmap ids;   /* literal -> id (while the KB loads) */
    char **strs;         /* by id */
    int n, cap;
    msfaqp_strmap clause_ids;    /* a clause's sorted literal ids, as text
                                    -> its id (while the KB loads): a
                                    clause many regexes share is one */
    int n_clauses;
    int *lit_clauses;    /* the clauses each literal meets: those of
                            literal i are lit_clauses[lit_at[i]..
                            lit_at[i + 1]) */
    int *lit_at;
    int *pairs;          /* (literal, clause) pairs, while the KB loads */
    int n_pairs, cap_pairs;
    int32_t root[38];    /* the root's child per symbol, or -1 */
    int32_t *edge_at;    /* state s's edges: [edge_at[s], edge_at[s+1]) */
    unsigned char *edge_sym;     /* an edge's symbol (sorted per state) */
    int32_t *edge_to;    /* an edge's state */
    int32_t *fail;       /* per state: the longest proper suffix state */
    int32_t *out;        /* per state: the literal ending there, or -1 */
    int32_t *link;       /* per state: the next suffix state with an out */
    int n_states;
} msfaqp_lits;

/* What a concept tells the stages besides its presence (concepts.json
 * "role"):
 *   anchor     the article's world (MS, immune therapy, a therapy it
 *              names, the article itself): the domain gate lets in any
 *              question that has one
 *   topic      a subject the KB answers or declines; a question made only
 *              of known words with a topic among them ("side effects?")
 *              is let in too
 *   function   words that carry no subject ("what", "tell me", "please")
 *   smalltalk  greetings, thanks, goodbyes, questions about the bot
 * A concept without a role is a cue: intents use it, the gate does not. */
enum {
    MSFAQP_ROLE_ANCHOR = 1,
    MSFAQP_ROLE_TOPIC = 2,
    MSFAQP_ROLE_FUNCTION = 4,
    MSFAQP_ROLE_SMALLTALK = 8,
    MSFAQP_ROLE_CUE = 16,        /* covers words, but no role */
    MSFAQP_COVER_CHAT = 32,      /* (cover only) a word inside a small-talk
                                    phrase: "catch" in "catch you later" */
    MSFAQP_COVER_SPAN = 64       /* (cover only) a word a small-talk pattern
                                    spans: "ms" in "can you explain ms to
                                    someone" */
};

/* A named, reusable piece of meaning: CAR-T, "side effects", "my doctor".
 * Its literal terms are found through the KB's term index (terms.c); its
 * regex patterns, if any, are compiled into one PCRE2 code. */
typedef struct msfaqp_concept {
    char *name;
    int role;            /* one MSFAQP_ROLE_*; CUE when none was given */
    bool screen;         /* a lexicon of the safety screen (safety.json) */
    char *source;        /* terms and patterns as one regex: what {name}
                            expands to in other patterns, and explain */
    msfaqp_regex *regexes;   /* its patterns, each compiled alone */
    int n_regexes;
    int *aliases;        /* patterns that are exactly "{other}": present */
    int n_aliases;       /* whenever that earlier concept is */
    int *unless;         /* earlier concepts that, present anywhere in the */
    int n_unless;        /* text, make this one absent ("a question of
                            fact", unless a person of the asker's is in
                            it): what a regex could only say with a
                            lookahead over the whole text */
} msfaqp_concept;

/* One literal term ("car t cell", "side effect"), indexed by the stem of
 * its longest word: it matches any words with the same stems ("side
 * effects"). */
typedef struct msfaqp_term {
    char *text;          /* normalised words, as written */
    char *stems;         /* their stems, single spaces */
    int n_words;
    int key_at;          /* the word it is filed under (its longest) */
    int concept;
    int next;            /* next term under the same index key, or -1 */
} msfaqp_term;


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
    bool backstop;       /* a safety rule for a message nothing else
                            answers (safety.json "backstop", route.c) */
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
    int *covers;         /* kinds of fact this answer gives (kb->asks) */
    int n_covers;
    int pattern_at;      /* its first pattern among all intents' patterns
                            (msfaqp_route.pattern_hit) */
} msfaqp_intent;

/* A kind of fact a question can ask for (how much, how often, at what
 * age, which is better...).  When the chosen answer's section does not
 * give that kind of fact, the reply says so instead of answering
 * (intents.json "specifics"). */
typedef struct msfaqp_ask_kind {
    char *name;          /* "amount" */
    int concept;         /* present: the question asks for it */
    char *response_id;
    const struct msfaqp_response *resp;
} msfaqp_ask_kind;

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

/* A stemmer of the pool (stem.c). */
typedef struct msfaqp_stemmer {
    pthread_mutex_t lock;
    struct sb_stemmer *st;
} msfaqp_stemmer;

/* Open-addressing string set: the vocabulary typos are corrected to
 * (strmap.c).  Slots as a map's keys; words in insertion order (1 + pool
 * offsets, for the corrector's scan: msfaqp_wordset_word()). */
typedef struct msfaqp_wordset {
    uint32_t *slots;
    size_t cap;          /* power of two */
    size_t count;        /* words added (0 in a borrowed set) */
    uint32_t *words;
    size_t n_words;
    const char *pool;
    msfaqp_pool own;
    bool borrowed;
} msfaqp_wordset;

/* Who depends on what (kb_index.c): every regex numbered with its owner;
 * per clause of kb->lits the regexes that need it; per concept the intents
 * that mention it and the concepts that are its aliases.  Key k's values
 * are xxx[xxx_at[k]..xxx_at[k + 1]). */
typedef struct msfaqp_index {
    int n_regexes;
    msfaqp_regex **regex;
    int *regex_concept;  /* the concept a regex belongs to, or -1 */
    int *regex_intent;   /* the intent a pattern belongs to, or -1 */
    int *free_regex;     /* regexes that need no literal: always live */
    int n_free;
    int *clause_at, *clause_regex;
    int *concept_at, *concept_intent;
    int *alias_at, *alias_of;
    msfaqp_strmap rewrite_of;    /* a rewrite's "from" -> its index */
    bool borrowed;       /* the groups (xxx_at, xxx) are a compiled
                            image's */
} msfaqp_index;

struct msfaq_kb {
    char *source;        /* "embedded", the directory or the image file */
    bool is_image;       /* read from a compiled image (kb_image.c): its
                            strings and most arrays are the image's, what
                            the loader made is in arena */
    unsigned char *image;        /* the image, when the KB owns a copy */
    void *image_map;             /* the image file, mapped */
    size_t image_map_size;
    void *arena;
    msfaqp_concept *concepts;
    int n_concepts;
    msfaqp_term *terms;
    int n_terms;
    msfaqp_strmap by_stem;       /* stem of a term's key word -> the
                                    first term filed under it */
    msfaqp_wordset term_stems;   /* every stem of every term word */
    msfaqp_strmap concept_ids;   /* concept name -> index */
    msfaqp_lits lits;            /* what the regexes need (literals.c) */
    msfaqp_index index;          /* who depends on what (kb_index.c) */
    msfaqp_intent *intents;
    int n_intents;
    msfaqp_response *responses;
    int n_responses;
    msfaqp_rewrite *rewrites;
    int n_rewrites;
    msfaqp_strmap confusion_of;  /* a real word -> index of the stem of
                                    the word it is mistaken for */
    char **confusion_stems;
    int n_confusions;
    msfaqp_ask_kind *asks;       /* kinds of fact (intents.json
                                    "specifics") */
    int n_asks;
    msfaqp_wordset vocab;        /* every word the KB knows */
    msfaqp_wordset targets;      /* words a typo may be corrected to */
    const char **by_first;       /* targets by first letter, then by
                                    length: */
    uint32_t *first_masks;       /* ...with the set of letters of each */
    unsigned char *first_lens;   /* ...and its length (255: longer) */
    size_t first_at[257];        /* by_first[first_at[c]..first_at[c+1]) */
    msfaqp_stemmer stemmers[MSFAQP_STEMMERS];
    msfaqp_strmap stem_of;       /* every word the KB knows -> its stem */
    char **stem_cache;           /* (stem.c), indexed by stem_of */
    size_t n_stem_cache, stem_cache_cap;
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
typedef struct msfaqp_token {
    uint32_t at, len;            /* the word in text->norm */
    uint32_t stem_at, stem_len;  /* its stem in text->stems */
    int alt;                     /* kb->confusion_stems index of the word
                                    it may be a slip for, or -1 */
} msfaqp_token;

typedef struct msfaqp_text {
    char *norm;          /* words joined by single spaces */
    size_t len;
    char *raw_words;     /* words before correction, same layout */
    char *stems;         /* the stem of each word of norm, same order */
    msfaqp_token *tokens;
    int n_words;         /* words of norm (tokens) */
    int n_corrected;
    char *corrections;   /* "from>to" pairs joined by "|" ("to" may be
                            two words: "sideefects>side effects") */
} msfaqp_text;

MSFAQP_HIDDEN int msfaqp_check_utf8(const char *s, size_t len,
                                    size_t *bad_at);
MSFAQP_HIDDEN int msfaqp_normalize(const msfaq_kb *kb, const char *q,
                                   msfaqp_text *out);
MSFAQP_HIDDEN void msfaqp_text_free(msfaqp_text *t);
/* The part of a message that asks: what follows a mention of someone in
 * its middle ("stop it guys @bot what is a DMT" -> "what is a DMT"), and
 * of that the question sentences when there are other sentences too ("My
 * aunt has MS. What is a DMT?" -> "What is a DMT?").  *focus is a new
 * string, or NULL when the whole message is the question.  Returns 0 or
 * MSFAQ_ENOMEM. */
MSFAQP_HIDDEN int msfaqp_focus(const char *q, char **focus);
/* Does t refer back to something said before it ("how does that work")? */
MSFAQP_HIDDEN bool msfaqp_refers_back(const msfaqp_text *t);

/* ---- words.c: Debian's English word list, made a set by the build */
MSFAQP_HIDDEN bool msfaqp_english(const char *w, size_t n);
MSFAQP_HIDDEN size_t msfaqp_english_size(void);
/* english_words.c, generated by tools/embed_words.c */
extern MSFAQP_HIDDEN const char msfaqp_english_text[];
extern MSFAQP_HIDDEN const uint32_t msfaqp_english_slots[];
extern MSFAQP_HIDDEN const uint32_t msfaqp_english_mask;
extern MSFAQP_HIDDEN const uint32_t msfaqp_english_count;

/* ---- stem.c: Snowball stems */
MSFAQP_HIDDEN int msfaqp_stems_init(msfaq_kb *kb);
/* 0 when libstemmer is there (opening it if need be), else -1 and why. */
MSFAQP_HIDDEN int msfaqp_stemmer_check(char *why, size_t size);
MSFAQP_HIDDEN void msfaqp_stems_free(msfaq_kb *kb);   /* the pool */
MSFAQP_HIDDEN void msfaqp_stem_cache_free(msfaq_kb *kb);
/* Stems w[0..n) into out (NUL-terminated); returns the stem's length. */
MSFAQP_HIDDEN size_t msfaqp_stem(const msfaq_kb *kb, const char *w,
                                 size_t n, char *out, size_t size);
/* Adds w's stem to the KB's cache (while it loads). */
MSFAQP_HIDDEN int msfaqp_stem_remember(msfaq_kb *kb, const char *w,
                                       size_t n);

/* ---- strmap.c: word sets */
MSFAQP_HIDDEN int msfaqp_wordset_add(msfaqp_wordset *s, const char *w,
                                     size_t len);
MSFAQP_HIDDEN bool msfaqp_wordset_has(const msfaqp_wordset *s,
                                      const char *w, size_t len);
MSFAQP_HIDDEN void msfaqp_wordset_free(msfaqp_wordset *s);
MSFAQP_HIDDEN const char *msfaqp_wordset_word(const msfaqp_wordset *s,
                                              size_t i);

/* ---- spell.c */
/* A word that is meant as written: an English word, a KB word, or a word
 * whose stem is a term's (see spell.c). */
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

/* ---- terms.c: literal terms found by stem lookup, not by regex scan */
MSFAQP_HIDDEN int msfaqp_terms_add(msfaq_kb *kb, const char *text,
                                   int concept);
/* Marks the concepts whose terms t holds (concept_hit[c] =
 * MSFAQP_PRESENT; each newly found one is appended to found[], which has
 * room for every concept), and ORs each concept's role into cover[] for
 * the words its term spans. */
MSFAQP_HIDDEN void msfaqp_terms_scan(const msfaq_kb *kb,
                                     const msfaqp_text *t,
                                     unsigned char *concept_hit,
                                     unsigned char *cover, int *found,
                                     int *n_found);
MSFAQP_HIDDEN void msfaqp_terms_free(msfaq_kb *kb);

/* ---- json_pos.c: byte offset of the value at a JSON path ("a.b[2]") in
 * a JSON text, or -1 */
MSFAQP_HIDDEN long msfaqp_json_path_offset(const char *text,
                                           const char *path);

/* ---- prefilter.c: what every match of a regex contains.  Calls add once
 * per clause (numbered from 0) with its literals, one of which a text must
 * hold for the regex to match; stops at the first add that fails.  Returns
 * 0, -1 when out of memory, or what add returned. */
typedef int (*msfaqp_need_fn)(void *ud, int clause, const char *const *lits,
                              int n);
MSFAQP_HIDDEN int msfaqp_need_of(const char *regex, msfaqp_need_fn add,
                                 void *ud);

/* ---- kb_index.c */
MSFAQP_HIDDEN int msfaqp_index_build(msfaq_kb *kb, bool grouped);
MSFAQP_HIDDEN void msfaqp_index_free(msfaqp_index *x);

/* ---- literals.c */
MSFAQP_HIDDEN int msfaqp_lits_intern(msfaqp_lits *l, const char *s,
                                     size_t n);     /* id, or -1: ENOMEM */
/* The id of the clause "one of these literals" (ids, n of them), or -1:
 * ENOMEM. */
MSFAQP_HIDDEN int msfaqp_lits_clause(msfaqp_lits *l, const char *const *lits,
                                     int n);
/* Files the clauses by literal, then builds the automaton. */
MSFAQP_HIDDEN int msfaqp_lits_build(msfaqp_lits *l);
/* The automaton alone, from strs and lit_at/lit_clauses (kb_image.c). */
MSFAQP_HIDDEN int msfaqp_lits_automaton(msfaqp_lits *l);
/* Sets bit c of met (n_clauses bits, zeroed by the caller) for every
 * clause that s meets: it holds one of the clause's literals.  With list,
 * also appends each clause met to list[] (room for n_clauses). */
MSFAQP_HIDDEN void msfaqp_lits_scan(const msfaqp_lits *l, const char *s,
                                    size_t len, unsigned char *met,
                                    int *list, int *n_list);
/* Are r's needs met by the clauses met?  (true when it has none) */
MSFAQP_HIDDEN bool msfaqp_need_met(const msfaqp_regex *r,
                                   const unsigned char *met);
MSFAQP_HIDDEN void msfaqp_lits_free(msfaqp_lits *l);

/* ---- regex.c */
/* Makes r's code when it has none yet (an image file's regexes); false
 * when its source does not compile.  Thread-safe. */
MSFAQP_HIDDEN bool msfaqp_regex_ready(const msfaq_kb *kb,
                                      const msfaqp_regex *r);
/* Matches r against s, JIT-compiling r once it is busy.  Thread-safe.
 * (The prefilter is the caller's: see msfaqp_need_met.) */
MSFAQP_HIDDEN int msfaqp_regex_run(const msfaq_kb *kb, const msfaqp_regex *r,
                                   const char *s, size_t len,
                                   pcre2_match_data *md);
/* The same from byte start of s on (lookbehinds still see before it),
 * with PCRE2 match options (PCRE2_NOTEOL). */
MSFAQP_HIDDEN int msfaqp_regex_run_from(const msfaq_kb *kb,
                                        const msfaqp_regex *r, const char *s,
                                        size_t len, size_t start,
                                        uint32_t opts, pcre2_match_data *md);

/* ---- match.c: what one text holds, and an intent's score on it */
enum { MSFAQP_ABSENT = 0, MSFAQP_PRESENT = 1, MSFAQP_UNKNOWN = 2 };

/* A text's concepts, settled lazily: literal terms are found up front (one
 * pass over the words); a concept's patterns run only when a stage asks
 * about that concept, so most questions run a fraction of the regexes. */
typedef struct msfaqp_view {
    const msfaq_kb *kb;
    const msfaqp_text *t;
    unsigned char *block;     /* the one allocation the arrays below (all
                                 but chunk_met) live in */
    unsigned char *hit;       /* per concept: MSFAQP_ABSENT, _PRESENT or
                                 _UNKNOWN (patterns not run yet) */
    unsigned char *met;       /* per clause of kb->lits, one bit: the text
                                 holds one of its literals */
    unsigned char *re_met;    /* per regex of kb->index: its clauses met so
                                 far; it may run once all are */
    int *cands;               /* intents some possible concept or live
                                 pattern mentions, ascending: no other
                                 intent has any evidence in this text */
    int n_cands;
    int *possible;            /* concepts that are not known absent */
    int n_possible;
    size_t *chunk;            /* the stretches of text regexes read:
                                 [chunk[2i], chunk[2i + 1]) (see match.c) */
    int n_chunks;
    unsigned char *chunk_met; /* when more than one: each stretch's own
                                 clauses met, n_clauses bits apiece */
    unsigned char *cover;     /* per word: the roles of the concepts whose
                                 terms (or, for a concept with a role, whose
                                 patterns) span it */
    pcre2_match_data *md;
    bool limit_hit;           /* a pattern hit its match limit */
} msfaqp_view;

MSFAQP_HIDDEN int msfaqp_view_init(msfaqp_view *v, const msfaq_kb *kb,
                                   const msfaqp_text *t,
                                   pcre2_match_data *md);
MSFAQP_HIDDEN void msfaqp_view_free(msfaqp_view *v);
MSFAQP_HIDDEN bool msfaqp_present(msfaqp_view *v, int concept);
/* Runs every pattern of a concept with a role over the whole text, so
 * that every word its matches span is covered (msfaqp_present stops at the
 * first match, and not at all when a term was found): what the domain gate
 * needs before it calls a word unknown. */
MSFAQP_HIDDEN void msfaqp_sweep(msfaqp_view *v, int concept);
/* An intent's score on v, or -1 when it is not a candidate (an "all"
 * group missing, a "none" concept present, no pattern of a pattern-only
 * intent).  full: look at everything, for *partial (the evidence even of a
 * non-candidate) and pattern_hit (one byte per pattern of the intent);
 * else stop at the first missing group. */
MSFAQP_HIDDEN double msfaqp_score_intent(msfaqp_view *v,
                                         const msfaqp_intent *in, bool full,
                                         double *partial,
                                         unsigned char *pattern_hit);
MSFAQP_HIDDEN double msfaqp_confidence(double score);

/* ---- route.c: the stages from words to one choice */
typedef struct msfaqp_score {
    int intent;
    double score;
} msfaqp_score;

/* The domain gate's finding on one text. */
typedef struct msfaqp_gate {
    bool in;              /* article answers and out-of-scope replies may
                             be given */
    bool anchor;          /* a word of the article's world */
    bool topic;           /* a subject the KB answers or declines */
    int n_uncovered;      /* words no concept knows */
    bool chat;            /* nothing of the domain, nothing else asked:
                             small talk may reply */
} msfaqp_gate;

typedef struct msfaqp_route {
    msfaqp_text text;     /* the whole message */
    msfaqp_text focus;    /* its question sentences, when has_focus */
    bool has_focus;
    msfaqp_view whole;    /* concepts of text */
    msfaqp_view question; /* concepts of focus (when has_focus) */
    bool focus_used;      /* false: the whole message decided */
    bool full;            /* every stage ran in full (explain, lint) */

    double *score;        /* per intent; < 0: not a candidate */
    double *partial;      /* per intent: its evidence, candidate or not */
    unsigned char *pattern_hit;   /* every intent's patterns, in order */
    int n_patterns;
    const int *scored;    /* the intents the last scoring looked at, in
                             file order (a view's cands; NULL: all) */
    int n_scored;
    unsigned char *is_touched;    /* one bit per intent given a score or
                                     evidence so far: only these entries
                                     of score, partial, pattern_hit hold
                                     anything */
    int n_touched;

    int screen;           /* the safety rule that fired, or -1 */
    bool backstop;        /* it fired as a backstop: nothing else answered */
    msfaqp_gate gate;     /* on the text that decided */
    int best;             /* the chosen intent, or -1: fallback */
    int runner_up;        /* the closest rival from another section */
    bool clarify;         /* too close to call: ask back */
    int unsaid;           /* kb->asks: a kind of fact the chosen answer
                             does not give, or -1 */
    msfaqp_score top[MSFAQP_MAX_TOP];   /* intents by evidence */
    int n_top;
    bool limit_hit;
} msfaqp_route;

/* Normalises q (already checked: UTF-8, length) and its question
 * sentences, and runs the stages: the safety screen on the whole message;
 * the domain gate, the intents and the check for uncovered specifics on
 * the question sentences (or the whole message when they say nothing
 * alone).  full: settle every concept and score every intent (explain,
 * lint).  Free with msfaqp_route_free() whatever it returns. */
MSFAQP_HIDDEN int msfaqp_route_run(const msfaq_kb *kb, const char *q,
                                   bool full, msfaqp_route *rt,
                                   msfaq_error *err);
MSFAQP_HIDDEN void msfaqp_route_free(msfaqp_route *rt);

/* ---- kb_answers.c */
MSFAQP_HIDDEN const char *msfaqp_section_body(const msfaq_kb *kb,
                                              const char *heading,
                                              size_t *len);

/* ---- buf.c: a growing string; oom is sticky (check once at the end) */
typedef struct msfaqp_buf {
    char *p;             /* NUL-terminated once anything was put */
    size_t len, cap;
    bool oom;
} msfaqp_buf;
MSFAQP_HIDDEN void msfaqp_buf_grow_put(msfaqp_buf *b, const char *s,
                                      size_t n);
MSFAQP_HIDDEN void msfaqp_buf_puts(msfaqp_buf *b, const char *s);

/* Inline for the common case, room to spare: normalising a question puts
 * a byte at a time. */
static inline void msfaqp_buf_put(msfaqp_buf *b, const char *s, size_t n)
{
    if (b->len + n < b->cap && !b->oom) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
    } else {
        msfaqp_buf_grow_put(b, s, n);
    }
}
MSFAQP_HIDDEN size_t msfaqp_hash(const char *w, size_t n);  /* hash.h */

/* ---- kb_image.c: a compiled KB */
MSFAQP_HIDDEN int msfaqp_image_write(const msfaq_kb *kb, msfaqp_buf *out);
/* Opens the image data[0..size).  data must be 8-aligned and outlive the
 * KB (the caller keeps it: the embedded image, a mapped file), or, with
 * copy, is copied first.  source names it in errors and msfaq_kb_source. */
MSFAQP_HIDDEN msfaq_kb *msfaqp_image_open(const unsigned char *data,
                                          size_t size, bool copy,
                                          const char *source,
                                          msfaq_error *err);
/* The checksum an image's header carries over its payload (the bytes after
 * the 64-byte header). */
MSFAQP_HIDDEN uint64_t msfaqp_image_checksum(const unsigned char *p,
                                             size_t n);
#define MSFAQP_IMAGE_HEADER 64
/* What msfaq_kb_close frees of an image-backed KB beyond the common parts. */
MSFAQP_HIDDEN void msfaqp_image_free(msfaq_kb *kb);
/* embedded_image.c, written by the build (tools/kb_compile.c) */
extern MSFAQP_HIDDEN const unsigned char msfaqp_embedded_image[];
extern MSFAQP_HIDDEN const size_t msfaqp_embedded_image_size;

/* ---- util */
MSFAQP_HIDDEN char *msfaqp_strdup(const char *s);
MSFAQP_HIDDEN char *msfaqp_strndup(const char *s, size_t n);

#endif /* MSFAQ_PRIVATE_H */
