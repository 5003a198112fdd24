/*
 * msfaq.h - answer questions about immune therapy for multiple sclerosis.
 *
 * msfaq matches a question against the PCRE2 intent patterns of a knowledge
 * base (KB) and returns a curated answer taken from one article, "Immune
 * Therapy Options for MS Management", naming the article section it came
 * from.  It never gives personal medical advice: such questions get a
 * "safety" reply that sends the person to a neurologist or to urgent care.
 *
 * Life cycle:
 *
 *     msfaq_error err;
 *     msfaq_kb *kb = msfaq_kb_open(NULL, 0, &err);     // embedded KB
 *     msfaq_result *r;
 *     if (msfaq_ask(kb, "what is CAR T?", 0, &r, &err) >= 0) {
 *         puts(msfaq_result_answer(r));
 *         msfaq_result_free(r);
 *     }
 *     msfaq_kb_close(kb);
 *
 * Threads: an open KB is immutable.  Any number of threads may call
 * msfaq_ask() on the same KB at once; each result belongs to its caller.
 *
 * Errors: functions returning a pointer return NULL on failure, functions
 * returning int return an enum msfaq_code (negative on error).  When an
 * msfaq_error pointer is given it is filled on failure.  The library never
 * prints and never exits.
 */
#ifndef MSFAQ_H
#define MSFAQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MSFAQ_VERSION_MAJOR 1
#define MSFAQ_VERSION_MINOR 1
#define MSFAQ_VERSION_PATCH 0
#define MSFAQ_VERSION_STRING "1.1.0"
/* 0xMMmmpp: compare with msfaq_version_hex() at run time. */
#define MSFAQ_VERSION_HEX \
    ((MSFAQ_VERSION_MAJOR << 16) | (MSFAQ_VERSION_MINOR << 8) | \
     MSFAQ_VERSION_PATCH)

/* Longest question accepted, in bytes.  Longer input is refused with
 * MSFAQ_ETOOLONG rather than truncated, so no answer is given to a question
 * the matcher did not read in full. */
#define MSFAQ_MAX_QUESTION 4096

#ifndef MSFAQ_API
#define MSFAQ_API __attribute__((visibility("default")))
#endif

/* Result codes.  Negative values are errors. */
enum msfaq_code {
    MSFAQ_OK = 0,          /* an answer, safety or small-talk reply */
    MSFAQ_NOMATCH = 1,     /* not an error: the reply is a fallback or a
                              clarifying question */
    MSFAQ_EINVAL = -1,     /* bad argument (NULL KB or question) */
    MSFAQ_ENOMEM = -2,     /* out of memory */
    MSFAQ_EIO = -3,        /* a KB file could not be read */
    MSFAQ_EJSON = -4,      /* a KB file is not valid JSON */
    MSFAQ_ESCHEMA = -5,    /* a KB file is JSON of the wrong shape */
    MSFAQ_EREGEX = -6,     /* a KB pattern does not compile */
    MSFAQ_EREF = -7,       /* a KB name refers to nothing */
    MSFAQ_ETOOLONG = -8,   /* question longer than MSFAQ_MAX_QUESTION */
    MSFAQ_EUTF8 = -9,      /* question is not valid UTF-8 */
    MSFAQ_EMATCH = -10,    /* a pattern hit its match limit */
    MSFAQ_EIMAGE = -11     /* a compiled KB image is truncated, damaged,
                              foreign or of another format version */
};

/* An error, as a value.  file/line/column locate a bad KB file: line and
 * column are 1-based, or -1 when unknown (a file that cannot be read).
 * Errors about a value's shape, a reference or a regex also name the
 * value's JSON path in text ("intents[3].patterns[1]: ...") and place it
 * at that value.  offset is a byte offset in the file, or in the regular
 * expression for MSFAQ_EREGEX, or -1. */
typedef struct msfaq_error {
    int code;          /* enum msfaq_code */
    int line;
    int column;
    long offset;
    char file[128];    /* "" when no file is involved; shortened from the
                          left with "..." when too long */
    char text[256];    /* one English line, NUL-terminated */
} msfaq_error;

/* Static English text for a code; never NULL. */
MSFAQ_API const char *msfaq_strerror(int code);

/* Run-time version: "1.1.0" and MSFAQ_VERSION_HEX of the built library. */
MSFAQ_API const char *msfaq_version(void);
MSFAQ_API unsigned msfaq_version_hex(void);

/* ------------------------------------------------------------------ KB */

typedef struct msfaq_kb msfaq_kb;          /* opaque, immutable once open */

/*
 * Open a knowledge base.  path is a directory holding
 *     patterns/concepts.json   patterns/safety.json   patterns/intents.json
 *     responses/answers.json   responses/article.txt
 * (every pattern is compiled and every reference checked before this
 * returns), or a compiled image of one written by msfaq_kb_save() or
 * "msfaq compile" (read without parsing: the fast start-up of the built-in
 * KB; an image that is truncated, damaged or of another format version is
 * refused with MSFAQ_EIMAGE), or NULL for the KB compiled into the
 * library.  flags must be 0 (reserved).
 * Returns a handle to free with msfaq_kb_close(), or NULL with err filled.
 * Thread-safe.
 */
MSFAQ_API msfaq_kb *msfaq_kb_open(const char *path, unsigned flags,
                                  msfaq_error *err);

/* Write kb as a compiled image to path (replaced atomically): the same KB,
 * every reply the same, opened in a fraction of the time.  0 or an
 * error code (MSFAQ_EIO, MSFAQ_ENOMEM) with err filled.  Since 1.1. */
MSFAQ_API int msfaq_kb_save(const msfaq_kb *kb, const char *path,
                            msfaq_error *err);

/* Free a KB.  NULL is a no-op.  No msfaq_ask() may be running on it. */
MSFAQ_API void msfaq_kb_close(msfaq_kb *kb);

/* Number of intents, and a short description ("embedded" or the
 * directory) of where the KB came from.  Borrowed strings. */
MSFAQ_API size_t msfaq_kb_intent_count(const msfaq_kb *kb);
MSFAQ_API const char *msfaq_kb_source(const msfaq_kb *kb);

/* ----------------------------------------------------------------- ask */

typedef struct msfaq_result msfaq_result;  /* opaque; one reply */

enum msfaq_kind {
    MSFAQ_KIND_ANSWER = 0,     /* from an article section */
    MSFAQ_KIND_FALLBACK = 1,   /* the article does not cover it */
    MSFAQ_KIND_SAFETY = 2,     /* see a neurologist / urgent care */
    MSFAQ_KIND_SMALLTALK = 3,  /* greetings, thanks, help */
    MSFAQ_KIND_CLARIFY = 4     /* did you mean A or B? */
};

/* msfaq_ask() flags. */
#define MSFAQ_ASK_EXPLAIN 0x1u   /* record why: see msfaq_result_explain() */

/*
 * Answer one question (UTF-8, at most MSFAQ_MAX_QUESTION bytes; an empty or
 * blank question gets a fallback).  On success *out is a result to free with
 * msfaq_result_free() and the return is MSFAQ_OK or MSFAQ_NOMATCH (the reply
 * is a fallback or clarifying question).  On error *out is NULL, the return
 * is negative and err is filled.  Thread-safe on a shared KB.
 */
MSFAQ_API int msfaq_ask(const msfaq_kb *kb, const char *question,
                        unsigned flags, msfaq_result **out,
                        msfaq_error *err);

/* Free a result.  NULL is a no-op. */
MSFAQ_API void msfaq_result_free(msfaq_result *r);

/* Accessors.  Strings are borrowed: they live as long as the result. */
MSFAQ_API int msfaq_result_kind(const msfaq_result *r);  /* msfaq_kind */
MSFAQ_API const char *msfaq_kind_name(int kind);  /* "answer", ...; static */
/* Intent id ("car_t_trials"), or "" for a generic fallback. */
MSFAQ_API const char *msfaq_result_intent(const msfaq_result *r);
/* In [0, 1]: how sure the matcher is of this reply. */
MSFAQ_API double msfaq_result_confidence(const msfaq_result *r);
/* The reply text; for an answer it ends with the not-medical-advice note. */
MSFAQ_API const char *msfaq_result_answer(const msfaq_result *r);
/* Exact article section heading, or NULL when the reply is not an answer. */
MSFAQ_API const char *msfaq_result_section(const msfaq_result *r);
/* Follow-up questions a person might ask next (i in [0, count)). */
MSFAQ_API size_t msfaq_result_follow_up_count(const msfaq_result *r);
MSFAQ_API const char *msfaq_result_follow_up(const msfaq_result *r,
                                             size_t i);
/* The result as one line of JSON (no newline): the fields kind, intent,
 * confidence, section, answer, follow_ups; with MSFAQ_ASK_EXPLAIN also
 * "explain".  Never NULL for a valid result. */
MSFAQ_API const char *msfaq_result_json(const msfaq_result *r);
/* Why this reply, as a JSON object: normalised text, corrected words,
 * concepts and patterns matched, top intents with scores, margin.  NULL
 * unless the question was asked with MSFAQ_ASK_EXPLAIN. */
MSFAQ_API const char *msfaq_result_explain(const msfaq_result *r);

/* ---------------------------------------------------------------- lint */

/* One lint finding: where (file, JSON path) and what. */
typedef void (*msfaq_lint_fn)(void *ud, const char *file, const char *where,
                              const char *text);

/*
 * Check a KB beyond what msfaq_kb_open() guarantees: every section is a
 * heading of responses/article.txt; every answer sentence is found in (or
 * stays close to) its section; every example question reaches its own
 * intent and no negative example does; no two intents collide on each
 * other's examples.  Calls fn once per finding.  Returns the number of
 * findings (0: clean) or a negative msfaq_code.
 */
MSFAQ_API int msfaq_kb_lint(const msfaq_kb *kb, msfaq_lint_fn fn, void *ud);

/* -------------------------------------------------------------- plugin */

/* Bumped only when the table below changes incompatibly. */
#define MSFAQ_PLUGIN_ABI 1

/*
 * The function table a host gets from msfaq_plugin_entry().  Members are
 * only ever appended: a host checks that size covers a member before
 * calling it.
 */
typedef struct msfaq_plugin {
    uint32_t abi;              /* MSFAQ_PLUGIN_ABI of the plugin */
    uint32_t size;             /* sizeof(msfaq_plugin) in the plugin */
    const char *version;       /* msfaq_version() */
    msfaq_kb *(*kb_open)(const char *, unsigned, msfaq_error *);
    void (*kb_close)(msfaq_kb *);
    int (*ask)(const msfaq_kb *, const char *, unsigned, msfaq_result **,
               msfaq_error *);
    void (*result_free)(msfaq_result *);
    int (*result_kind)(const msfaq_result *);
    const char *(*result_intent)(const msfaq_result *);
    double (*result_confidence)(const msfaq_result *);
    const char *(*result_answer)(const msfaq_result *);
    const char *(*result_section)(const msfaq_result *);
    size_t (*result_follow_up_count)(const msfaq_result *);
    const char *(*result_follow_up)(const msfaq_result *, size_t);
    const char *(*result_json)(const msfaq_result *);
    const char *(*result_explain)(const msfaq_result *);
    const char *(*kind_name)(int);
    const char *(*strerror)(int);
} msfaq_plugin;

/*
 * The one symbol a dlopen() host looks up.  host_abi is the
 * MSFAQ_PLUGIN_ABI the host was built with.  Returns the static table, or
 * NULL when this plugin cannot serve that ABI.
 */
MSFAQ_API const msfaq_plugin *msfaq_plugin_entry(uint32_t host_abi);
typedef const msfaq_plugin *(*msfaq_plugin_entry_fn)(uint32_t host_abi);
#define MSFAQ_PLUGIN_ENTRY_SYMBOL "msfaq_plugin_entry"

#ifdef __cplusplus
}
#endif
#endif /* MSFAQ_H */
