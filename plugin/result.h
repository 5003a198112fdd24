/* result.h - the msfaq_result struct, shared by ask.c and result.c. */
#ifndef MSFAQ_RESULT_H
#define MSFAQ_RESULT_H

#include <jansson.h>

#include "msfaq_private.h"

/* One reply, and everything it shows, in one allocation (result.c): it
 * stays valid after its KB is closed, and freeing it is one free(). */
struct msfaq_result {
    int kind;            /* enum msfaq_kind */
    const char *intent;  /* "" for a generic fallback */
    double confidence;
    const char *answer;
    const char *section; /* NULL unless kind is answer */
    const char **follow_ups;
    size_t n_follow_ups;
    const char *json;    /* one JSON line */
    const char *explain; /* JSON object, or NULL */
};

/* A reply while it is made: borrowed strings (the KB's, or own's), put
 * together into one msfaq_result by msfaqp_result_make. */
#define MSFAQP_DRAFT_PARTS 3
typedef struct msfaqp_draft {
    int kind;
    const char *intent;
    double confidence;
    const char *answer[MSFAQP_DRAFT_PARTS];   /* joined, NULLs skipped */
    const char *section;
    const char **follow_ups;
    size_t n_follow_ups, cap_follow_ups;
    const char *follow_ups_here[8];   /* follow_ups until it outgrows them */
    msfaqp_buf own;      /* text made for this reply ({topic} filled in, a
                            did-you-mean's options), NUL-separated */
} msfaqp_draft;

MSFAQP_HIDDEN void msfaqp_draft_init(msfaqp_draft *d);
MSFAQP_HIDDEN void msfaqp_draft_free(msfaqp_draft *d);
/* Adds q to the follow-ups unless it is there; -1 when out of memory. */
MSFAQP_HIDDEN int msfaqp_draft_follow_up(msfaqp_draft *d, const char *q);
/* The result, with its JSON line and explain (NULL: none) attached, or
 * NULL when out of memory. */
MSFAQP_HIDDEN msfaq_result *msfaqp_result_make(const msfaqp_draft *d,
                                               json_t *explain);

#endif
