/*
 * kb_answers.c - responses/answers.json: the replies, each answer citing
 * the exact heading of the article section it quotes; and every intent's
 * reply resolved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_load.h"


static bool is_heading(const msfaq_kb *kb, const char *s)
{
    for (int i = 0; i < kb->n_headings; i++)
        if (strcmp(kb->headings[i], s) == 0)
            return true;
    return false;
}

/* True when line appears in the article as a whole line. */
static bool article_has_line(const char *article, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = article; (p = strstr(p, line)); p++) {
        bool starts = p == article || p[-1] == '\n';
        char after = p[n];
        if (starts && (after == '\n' || after == '\r' || after == '\0'))
            return true;
    }
    return false;
}

int msfaqp_load_answers(loader *ld)
{
    msfaq_kb *kb = ld->kb;
    int rc;
    json_t *root = msfaqp_ld_json(ld, F_ANSWERS);
    if (!root)
        return msfaqp_ld_code(ld);
    static const char *const top_keys[] = {"description", "disclaimer",
                                           "fallback", "clarify",
                                           "sections", "responses", NULL};
    if ((rc = msfaqp_ld_keys(ld, root, "(top level)", top_keys)))
        goto out;
    json_t *d = json_object_get(root, "disclaimer");
    json_t *c = json_object_get(root, "clarify");
    if (!json_is_string(d) || !json_is_string(c)) {
        rc = msfaqp_ld_shape(ld, "(top level)", "\"disclaimer\" and \"clarify\" "
                             "must be strings");
        goto out;
    }
    kb->disclaimer = msfaqp_strdup(json_string_value(d));
    kb->clarify_text = msfaqp_strdup(json_string_value(c));
    json_t *fb = json_object_get(root, "fallback");
    static const char *const fb_keys[] = {"text", "follow_ups", NULL};
    if (!json_is_object(fb) || !json_is_string(json_object_get(fb, "text"))) {
        rc = msfaqp_ld_shape(ld, "fallback", "must be an object with \"text\"");
        goto out;
    }
    if ((rc = msfaqp_ld_keys(ld, fb, "fallback", fb_keys)))
        goto out;
    kb->fallback_text = msfaqp_strdup(
        json_string_value(json_object_get(fb, "text")));
    if ((rc = msfaqp_ld_strings(ld, json_object_get(fb, "follow_ups"),
                                "fallback.follow_ups", &kb->fallback_follow_ups,
                                &kb->n_fallback_follow_ups)))
        goto out;

    /* sections: the article's headings, in order; each must be a line of
     * the article, which is what makes a cited section checkable */
    if ((rc = msfaqp_ld_strings(ld, json_object_get(root, "sections"), "sections",
                                &kb->headings, &kb->n_headings)))
        goto out;
    if (kb->n_headings == 0) {
        rc = msfaqp_ld_shape(ld, "sections", "must list the article's headings");
        goto out;
    }
    for (int i = 0; i < kb->n_headings; i++) {
        if (!article_has_line(kb->article, kb->headings[i])) {
            char at[32];
            snprintf(at, sizeof at, "sections[%d]", i);
            rc = msfaqp_ld_fail(ld, MSFAQ_EREF, -1, at,
                                "\"%.80s\" is not a line of " F_ARTICLE,
                                kb->headings[i]);
            goto out;
        }
    }

    json_t *rs = json_object_get(root, "responses");
    if (!json_is_object(rs) || json_object_size(rs) == 0) {
        rc = msfaqp_ld_shape(ld, "responses", "must be an object keyed by response "
                             "id");
        goto out;
    }
    kb->responses = calloc(json_object_size(rs), sizeof *kb->responses);
    if (!kb->responses) {
        rc = MSFAQ_ENOMEM;
        goto out;
    }
    const char *key;
    json_t *r;
    json_object_foreach(rs, key, r) {
        char where[200];
        snprintf(where, sizeof where, "responses.%.100s", key);
        msfaqp_response *re = &kb->responses[kb->n_responses++];
        static const char *const rkeys[] = {"title", "text", "section",
                                            "follow_ups", NULL};
        if (!msfaqp_ld_name(key)) {
            rc = msfaqp_ld_shape(ld, where, "an id holds a-z, 0-9 and _ only");
            goto out;
        }
        if (!json_is_object(r)) {
            rc = msfaqp_ld_shape(ld, where, "must be an object");
            goto out;
        }
        if ((rc = msfaqp_ld_keys(ld, r, where, rkeys)))
            goto out;
        json_t *title = json_object_get(r, "title");
        json_t *text = json_object_get(r, "text");
        json_t *sec = json_object_get(r, "section");
        if (!json_is_string(title) || !json_is_string(text) ||
            json_string_length(text) == 0) {
            rc = msfaqp_ld_shape(ld, where, "needs \"title\" and non-empty \"text\"");
            goto out;
        }
        if (sec && !json_is_null(sec)) {
            if (!json_is_string(sec)) {
                rc = msfaqp_ld_shape(ld, where, "\"section\" must be a heading or "
                                     "null");
                goto out;
            }
            if (!is_heading(kb, json_string_value(sec))) {
                char at[240];
                snprintf(at, sizeof at, "%s.section", where);
                rc = msfaqp_ld_fail(ld, MSFAQ_EREF, -1, at,
                                    "\"%.80s\" is not in \"sections\"",
                                    json_string_value(sec));
                goto out;
            }
            re->section = msfaqp_strdup(json_string_value(sec));
            if (!re->section) {
                rc = MSFAQ_ENOMEM;
                goto out;
            }
        }
        re->id = msfaqp_strdup(key);
        re->title = msfaqp_strdup(json_string_value(title));
        re->text = msfaqp_strdup(json_string_value(text));
        if (!re->id || !re->title || !re->text) {
            rc = MSFAQ_ENOMEM;
            goto out;
        }
        char w[240];
        snprintf(w, sizeof w, "%s.follow_ups", where);
        if ((rc = msfaqp_ld_strings(ld, json_object_get(r, "follow_ups"), w,
                                    &re->follow_ups, &re->n_follow_ups)))
            goto out;
    }
    /* every intent's response exists, and only answers cite a section */
    for (int i = 0; i < kb->n_intents; i++) {
        msfaqp_intent *in = &kb->intents[i];
        for (int k = 0; k < kb->n_responses && !in->resp; k++)
            if (strcmp(kb->responses[k].id, in->response_id) == 0)
                in->resp = &kb->responses[k];
        if (!in->resp) {
            rc = msfaqp_ld_fail(ld, MSFAQ_EREF, -1, "responses",
                                "no response \"%.80s\" for intent \"%.80s\"",
                                in->response_id, in->id);
            goto out;
        }
        if ((in->kind == MSFAQ_KIND_ANSWER) != (in->resp->section != NULL)) {
            char at[160];
            snprintf(at, sizeof at, "responses.%s", in->resp->id);
            rc = msfaqp_ld_fail(ld, MSFAQ_ESCHEMA, -1, at,
                                "intent \"%.80s\" is of kind "
                                "%s, so the response %s a section",
                                in->id,
                                msfaq_kind_name(in->kind),
                                in->kind == MSFAQ_KIND_ANSWER ? "needs"
                                : "cannot cite");
            rc = MSFAQ_ESCHEMA;
            goto out;
        }
    }
    /* the reply for each kind of fact the article does not give */
    for (int i = 0; i < kb->n_asks; i++) {
        msfaqp_ask_kind *a = &kb->asks[i];
        for (int k = 0; k < kb->n_responses && !a->resp; k++)
            if (strcmp(kb->responses[k].id, a->response_id) == 0)
                a->resp = &kb->responses[k];
        if (!a->resp || a->resp->section) {
            rc = msfaqp_ld_fail(ld, MSFAQ_EREF, -1, "responses",
                                "\"specifics\" kind %.80s needs a "
                                "response \"%.80s\" that cites no section",
                                a->name, a->response_id);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* Returns the body of a section: from the line after its heading to the
 * next listed heading (or the end), not NUL-terminated. */
const char *msfaqp_section_body(const msfaq_kb *kb, const char *heading,
                                size_t *len)
{
    const char *a = kb->article;
    const char *start = NULL;
    size_t n = strlen(heading);
    for (const char *p = a; (p = strstr(p, heading)); p++) {
        if ((p == a || p[-1] == '\n') &&
            (p[n] == '\n' || p[n] == '\r' || p[n] == '\0')) {
            start = p + n;
            break;
        }
    }
    if (!start)
        return NULL;
    const char *end = start + strlen(start);
    for (int i = 0; i < kb->n_headings; i++) {
        const char *h = kb->headings[i];
        size_t hn = strlen(h);
        for (const char *p = start; (p = strstr(p, h)) && p < end; p++) {
            if (p[-1] == '\n' &&
                (p[hn] == '\n' || p[hn] == '\r' || p[hn] == '\0')) {
                end = p;
                break;
            }
        }
    }
    *len = (size_t)(end - start);
    return start;
}
