/* result.h - the msfaq_result struct, shared by ask.c and result.c. */
#ifndef MSFAQ_RESULT_H
#define MSFAQ_RESULT_H

#include <jansson.h>

#include "msfaq_private.h"

struct msfaq_result {
    int kind;            /* enum msfaq_kind */
    char *intent;        /* "" for a generic fallback */
    double confidence;
    char *answer;
    char *section;       /* NULL unless kind is answer */
    char **follow_ups;
    size_t n_follow_ups;
    char *json;          /* one JSON line, made by msfaqp_result_finish */
    char *explain;       /* JSON object, or NULL */
};

MSFAQP_HIDDEN int msfaqp_result_finish(msfaq_result *r, json_t *explain);

#endif
