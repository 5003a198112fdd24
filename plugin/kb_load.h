/*
 * kb_load.h - what the KB loader's files share (kb_load.c, kb_concepts.c,
 * kb_intents.c, kb_answers.c); nothing else includes it.
 *
 * One loader reads the files of a KB in order, each file once; every
 * error names that file, the JSON path of the bad value and its line and
 * column (json_pos.c), so the helpers below take the loader.
 */
#ifndef MSFAQ_KB_LOAD_H
#define MSFAQ_KB_LOAD_H

#include <jansson.h>

#include "msfaq_private.h"

#define F_CONCEPTS "patterns/concepts.json"
#define F_SAFETY "patterns/safety.json"
#define F_INTENTS "patterns/intents.json"
#define F_ANSWERS "responses/answers.json"
#define F_ARTICLE "responses/article.txt"

typedef struct loader {
    msfaq_kb *kb;
    msfaq_error *err;
    const char *dir;       /* the KB folder */
    char path[512];        /* file being read, for messages */
    char *raw;             /* its text, to place errors by JSON path */
    msfaqp_wordset term_words;   /* every word of every term, for the
                                    vocabulary */
    bool screen;           /* reading safety.json */
} loader;

/* ---- kb_load.c: files and shape checks */
/* A whole file of the KB folder, NUL-terminated. */
MSFAQP_HIDDEN int msfaqp_ld_read(loader *ld, const char *name, char **data,
                                 size_t *size);
/* A JSON file whose top level is an object, or NULL with the error set. */
MSFAQP_HIDDEN json_t *msfaqp_ld_json(loader *ld, const char *name);
/* Sets the error: code, the JSON path where (notes in parentheses are
 * not part of it), the path's position in the file, and the message. */
MSFAQP_HIDDEN int msfaqp_ld_fail(loader *ld, int code, long offset,
                                 const char *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
MSFAQP_HIDDEN int msfaqp_ld_shape(loader *ld, const char *where,
                                  const char *what);
/* Rejects keys outside allowed (NULL-terminated). */
MSFAQP_HIDDEN int msfaqp_ld_keys(loader *ld, json_t *obj, const char *where,
                                 const char *const *allowed);
/* Copies a string array into *out; NULL v means an empty list. */
MSFAQP_HIDDEN int msfaqp_ld_strings(loader *ld, json_t *v,
                                    const char *where, char ***out, int *n);
MSFAQP_HIDDEN bool msfaqp_ld_name(const char *s);   /* a-z 0-9 _ */
/* The value of err->code after a failed load, for "return". */
MSFAQP_HIDDEN int msfaqp_ld_code(const loader *ld);

/* ---- kb_concepts.c */
/* concepts.json: rewrites, confusions and concepts. */
MSFAQP_HIDDEN int msfaqp_load_concepts(loader *ld);
/* The "concepts" object of a file (concepts.json or safety.json). */
MSFAQP_HIDDEN int msfaqp_load_concept_set(loader *ld, json_t *cs,
                                          const char *where);
MSFAQP_HIDDEN int msfaqp_find_concept(const msfaq_kb *kb, const char *name,
                                      size_t n);
/* A regex of an intent or concept: {concept}s expanded, compiled, its
 * required literal found.  alias: set to the concept when src is exactly
 * "{name}" (nothing is compiled then), else -1. */
MSFAQP_HIDDEN int msfaqp_load_regex(loader *ld, const char *src,
                                    const char *where, msfaqp_regex *re,
                                    int *alias);

/* ---- kb_intents.c: safety.json rules, intents.json */
MSFAQP_HIDDEN int msfaqp_load_safety(loader *ld);
MSFAQP_HIDDEN int msfaqp_load_intents(loader *ld);

/* ---- kb_answers.c: answers.json, and each intent's response */
MSFAQP_HIDDEN int msfaqp_load_answers(loader *ld);

#endif /* MSFAQ_KB_LOAD_H */
