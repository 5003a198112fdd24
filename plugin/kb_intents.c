/*
 * kb_intents.c - the safety screen's rules (patterns/safety.json) and the
 * other intents (patterns/intents.json), with the settings and the kinds
 * of fact a question may ask for.
 *
 * An intent is concept groups that must all hold ("all"), concepts that
 * add weight ("any") or rule it out ("none"), weighted regexes, and the
 * example and negative questions lint proves.  The screen's rules are
 * intents of kind safety; they live in their own file, with their own
 * lexicons, so that everything that can send a person to a doctor is in
 * one place, and no other file can add or hide one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_load.h"


static int concept_ref(loader *ld, json_t *v, const char *where, int *out)
{
    if (!json_is_string(v))
        return msfaqp_ld_shape(ld, where, "must be a concept name");
    const char *name = json_string_value(v);
    int c = msfaqp_find_concept(ld->kb, name, strlen(name));
    if (c < 0)
        return msfaqp_ld_fail(ld, MSFAQ_EREF, -1, where, "unknown concept \"%.80s\"",
                              name);
    *out = c;
    return 0;
}

static int kind_of(const char *s)
{
    static const char *const names[] = {"answer", "fallback", "safety",
                                        "smalltalk"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* One intent of arr ("intents" of intents.json, or "rules" of
 * safety.json, where the kind is safety and need not be said). */
static int load_intent(loader *ld, json_t *o, const char *arr, int index,
                       msfaqp_intent *in)
{
    char where[200], w[240];
    bool safety_file = strcmp(arr, "rules") == 0;
    snprintf(where, sizeof where, "%s[%d]", arr, index);
    if (!json_is_object(o))
        return msfaqp_ld_shape(ld, where, "must be an object");
    static const char *const keys[] = {
        "id", "description", "kind", "priority", "backstop", "response",
        "all", "any", "none", "patterns", "covers", "examples", "negatives",
        NULL};
    int rc = msfaqp_ld_keys(ld, o, where, keys);
    if (rc)
        return rc;
    json_t *id = json_object_get(o, "id");
    if (!json_is_string(id) || !msfaqp_ld_name(json_string_value(id)))
        return msfaqp_ld_shape(ld, where, "\"id\" must be a name of a-z, 0-9, _");
    in->id = msfaqp_strdup(json_string_value(id));
    if (!in->id)
        return MSFAQ_ENOMEM;
    snprintf(where, sizeof where, "%s[%d] (%.60s)", arr, index, in->id);
    json_t *resp = json_object_get(o, "response");
    if (resp && (!json_is_string(resp) ||
                 !msfaqp_ld_name(json_string_value(resp))))
        return msfaqp_ld_shape(ld, where, "\"response\" must be a response id");
    in->response_id = msfaqp_strdup(resp ? json_string_value(resp) : in->id);
    if (!in->response_id)
        return MSFAQ_ENOMEM;
    if (!json_is_string(json_object_get(o, "description")))
        return msfaqp_ld_shape(ld, where, "\"description\" must be a string");
    json_t *kind = json_object_get(o, "kind");
    in->kind = json_is_string(kind) ? kind_of(json_string_value(kind))
             : !kind && safety_file ? MSFAQ_KIND_SAFETY
                                    : -1;
    if (in->kind < 0)
        return msfaqp_ld_shape(ld, where, "\"kind\" must be answer, "
                               "fallback, safety or smalltalk");
    /* one place for the screen: every safety rule is in safety.json */
    if (safety_file != (in->kind == MSFAQ_KIND_SAFETY))
        return msfaqp_ld_shape(ld, where, safety_file
                               ? "a rule of the safety screen is of "
                               "kind safety"
                               : "safety intents belong to the screen "
                               "in " F_SAFETY);
    json_t *prio = json_object_get(o, "priority");
    if (prio && !json_is_integer(prio))
        return msfaqp_ld_shape(ld, where, "\"priority\" must be an integer");
    /* safety outranks everything, out-of-scope outranks answers */
    in->priority = prio ? (int)json_integer_value(prio)
                 : in->kind == MSFAQ_KIND_SAFETY ? 20
                 : in->kind == MSFAQ_KIND_FALLBACK ? 10 : 0;

    json_t *backstop = json_object_get(o, "backstop");
    if (backstop && (!json_is_boolean(backstop) || !safety_file))
        return msfaqp_ld_shape(ld, where, "\"backstop\" must be true or "
                               "false, and only a safety rule has it");
    in->backstop = json_is_true(backstop);

    json_t *all = json_object_get(o, "all");
    if (all && !json_is_array(all))
        return msfaqp_ld_shape(ld, where, "\"all\" must be an array of groups");
    size_t na = json_array_size(all);
    in->all = calloc(na ? na : 1, sizeof *in->all);
    if (!in->all)
        return MSFAQ_ENOMEM;
    for (size_t g = 0; g < na; g++) {
        json_t *grp = json_array_get(all, g);
        msfaqp_group *G = &in->all[in->n_all++];
        snprintf(w, sizeof w, "%s.all[%zu]", where, g);
        if (json_is_string(grp)) {               /* a group of one */
            G->concepts = malloc(sizeof *G->concepts);
            if (!G->concepts)
                return MSFAQ_ENOMEM;
            if ((rc = concept_ref(ld, grp, w, &G->concepts[0])))
                return rc;
            G->count = 1;
            continue;
        }
        if (!json_is_array(grp) || json_array_size(grp) == 0)
            return msfaqp_ld_shape(ld, w, "a group is a concept name or a non-empty "
                                   "array of them");
        G->concepts = calloc(json_array_size(grp), sizeof *G->concepts);
        if (!G->concepts)
            return MSFAQ_ENOMEM;
        for (size_t k = 0; k < json_array_size(grp); k++) {
            char w2[260];
            snprintf(w2, sizeof w2, "%s[%zu]", w, k);
            if ((rc = concept_ref(ld, json_array_get(grp, k), w2,
                                  &G->concepts[G->count])))
                return rc;
            G->count++;
        }
    }

    json_t *any = json_object_get(o, "any");
    if (any && !json_is_object(any))
        return msfaqp_ld_shape(ld, where, "\"any\" must be an object of concept: "
                               "weight");
    in->any = calloc(any ? json_object_size(any) + 1 : 1, sizeof *in->any);
    if (!in->any)
        return MSFAQ_ENOMEM;
    const char *key;
    json_t *v;
    if (any) {
        json_object_foreach(any, key, v) {
            snprintf(w, sizeof w, "%s.any.%.60s", where, key);
            if (!json_is_number(v))
                return msfaqp_ld_shape(ld, w, "weight must be a number");
            json_t *name = json_string(key);
            rc = name ? concept_ref(ld, name, w,
                                    &in->any[in->n_any].concept)
                      : MSFAQ_ENOMEM;
            json_decref(name);
            if (rc)
                return rc;
            in->any[in->n_any++].weight = json_number_value(v);
        }
    }

    json_t *none = json_object_get(o, "none");
    if (none && !json_is_array(none))
        return msfaqp_ld_shape(ld, where, "\"none\" must be an array of concepts");
    in->none = calloc(json_array_size(none) + 1, sizeof *in->none);
    if (!in->none)
        return MSFAQ_ENOMEM;
    for (size_t k = 0; k < json_array_size(none); k++) {
        snprintf(w, sizeof w, "%s.none[%zu]", where, k);
        if ((rc = concept_ref(ld, json_array_get(none, k), w,
                              &in->none[in->n_none])))
            return rc;
        in->n_none++;
    }

    json_t *pats = json_object_get(o, "patterns");
    if (pats && !json_is_array(pats))
        return msfaqp_ld_shape(ld, where, "\"patterns\" must be an array");
    in->patterns = calloc(json_array_size(pats) + 1, sizeof *in->patterns);
    if (!in->patterns)
        return MSFAQ_ENOMEM;
    for (size_t k = 0; k < json_array_size(pats); k++) {
        json_t *p = json_array_get(pats, k);
        msfaqp_pattern *P = &in->patterns[in->n_patterns];
        snprintf(w, sizeof w, "%s.patterns[%zu]", where, k);
        json_t *re = p;
        P->weight = 1.0;
        if (json_is_object(p)) {
            static const char *const pkeys[] = {"regex", "weight", NULL};
            if ((rc = msfaqp_ld_keys(ld, p, w, pkeys)))
                return rc;
            re = json_object_get(p, "regex");
            json_t *wt = json_object_get(p, "weight");
            if (wt && !json_is_number(wt))
                return msfaqp_ld_shape(ld, w, "\"weight\" must be a number");
            if (wt)
                P->weight = json_number_value(wt);
        }
        if (!json_is_string(re) || json_string_length(re) == 0)
            return msfaqp_ld_shape(ld, w, "a pattern is a regex string or "
                                   "{\"regex\": ..., \"weight\": ...}");
        P->source = msfaqp_strdup(json_string_value(re));
        if (!P->source)
            return MSFAQ_ENOMEM;
        in->n_patterns++;
        /* exactly "{concept}": the concept's presence, no regex run */
        if ((rc = msfaqp_load_regex(ld, P->source, w, &P->re, &P->alias)))
            return rc;
    }
    if (in->n_all == 0 && in->n_patterns == 0)
        return msfaqp_ld_shape(ld, where, "needs \"all\" groups or \"patterns\"");

    json_t *covers = json_object_get(o, "covers");
    snprintf(w, sizeof w, "%s.covers", where);
    if (covers && !json_is_array(covers))
        return msfaqp_ld_shape(ld, w, "must be an array of kinds of fact "
                               "(intents.json \"specifics\")");
    in->covers = calloc(json_array_size(covers) + 1, sizeof *in->covers);
    if (!in->covers)
        return MSFAQ_ENOMEM;
    for (size_t k = 0; k < json_array_size(covers); k++) {
        const char *name = json_string_value(json_array_get(covers, k));
        int a = -1;
        for (int j = 0; name && j < ld->kb->n_asks && a < 0; j++)
            if (strcmp(ld->kb->asks[j].name, name) == 0)
                a = j;
        if (a < 0) {
            char w2[260];
            snprintf(w2, sizeof w2, "%s[%zu]", w, k);
            return msfaqp_ld_fail(ld, MSFAQ_EREF, -1, w2,
                                  "not a kind of fact of \"specifics\"");
        }
        in->covers[in->n_covers++] = a;
    }

    snprintf(w, sizeof w, "%s.examples", where);
    if ((rc = msfaqp_ld_strings(ld, json_object_get(o, "examples"), w,
                                &in->examples, &in->n_examples)))
        return rc;
    snprintf(w, sizeof w, "%s.negatives", where);
    return msfaqp_ld_strings(ld, json_object_get(o, "negatives"), w,
                             &in->negatives, &in->n_negatives);
}

static int add_intents(loader *ld, json_t *arr, const char *name)
{
    msfaq_kb *kb = ld->kb;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return msfaqp_ld_shape(ld, name, "must be a non-empty array");
    size_t n = (size_t)kb->n_intents + json_array_size(arr);
    msfaqp_intent *v = realloc(kb->intents, n * sizeof *v);
    if (!v)
        return MSFAQ_ENOMEM;
    kb->intents = v;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        int at = kb->n_intents++;
        memset(&v[at], 0, sizeof v[at]);
        int rc = load_intent(ld, json_array_get(arr, i), name, (int)i,
                             &v[at]);
        if (rc)
            return rc;
        for (int j = 0; j < at; j++) {
            if (strcmp(v[j].id, v[at].id) == 0) {
                char where[64];
                snprintf(where, sizeof where, "%s[%zu]", name, i);
                return msfaqp_ld_shape(ld, where, "duplicate intent id");
            }
        }
    }
    return 0;
}

int msfaqp_load_safety(loader *ld)
{
    json_t *root = msfaqp_ld_json(ld, F_SAFETY);
    if (!root)
        return msfaqp_ld_code(ld);
    static const char *const top_keys[] = {"description", "concepts",
                                           "rules", NULL};
    int rc = msfaqp_ld_keys(ld, root, "(top level)", top_keys);
    if (!rc) {
        ld->screen = true;      /* its concepts are the screen's lexicons */
        rc = msfaqp_load_concept_set(ld, json_object_get(root, "concepts"),
                                     "concepts");
        ld->screen = false;
    }
    if (!rc)
        rc = add_intents(ld, json_object_get(root, "rules"), "rules");
    json_decref(root);
    return rc;
}

static int load_settings(loader *ld, json_t *st)
{
    msfaq_kb *kb = ld->kb;
    kb->threshold = 0.5;
    kb->clarify_margin = 0.25;
    if (!st)
        return 0;
    static const char *const skeys[] = {"threshold", "clarify_margin", NULL};
    if (!json_is_object(st))
        return msfaqp_ld_shape(ld, "settings", "must be an object");
    int rc = msfaqp_ld_keys(ld, st, "settings", skeys);
    if (rc)
        return rc;
    json_t *t = json_object_get(st, "threshold");
    json_t *m = json_object_get(st, "clarify_margin");
    if ((t && (!json_is_number(t) || json_number_value(t) <= 0 ||
               json_number_value(t) >= 1)) ||
        (m && (!json_is_number(m) || json_number_value(m) < 0)))
        return msfaqp_ld_shape(ld, "settings", "threshold must be in (0, 1) "
                               "and clarify_margin >= 0");
    if (t)
        kb->threshold = json_number_value(t);
    if (m)
        kb->clarify_margin = json_number_value(m);
    return 0;
}

/* "specifics": {"amount": {"concept": "ask_amount", "response": ...}}:
 * kinds of fact; an answer whose intent does not "cover" one that the
 * question asks for gives that kind's response instead. */
static int load_specifics(loader *ld, json_t *sp)
{
    msfaq_kb *kb = ld->kb;
    if (sp && (!json_is_object(sp)))
        return msfaqp_ld_shape(ld, "specifics", "must be an object of kind: "
                               "{concept, response}");
    kb->asks = calloc(json_object_size(sp) + 1, sizeof *kb->asks);
    if (!kb->asks)
        return MSFAQ_ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach(sp, key, v) {
        char where[160];
        snprintf(where, sizeof where, "specifics.%.100s", key);
        static const char *const keys[] = {"description", "concept",
                                           "response", NULL};
        int rc;
        if (!msfaqp_ld_name(key) || !json_is_object(v))
            return msfaqp_ld_shape(ld, where, "a kind is a name mapped to "
                                   "{concept, response}");
        if ((rc = msfaqp_ld_keys(ld, v, where, keys)))
            return rc;
        msfaqp_ask_kind *a = &kb->asks[kb->n_asks++];
        json_t *r = json_object_get(v, "response");
        if (!json_is_string(r) || !msfaqp_ld_name(json_string_value(r)))
            return msfaqp_ld_shape(ld, where, "\"response\" must be a "
                                   "response id");
        char at[200];
        snprintf(at, sizeof at, "%s.concept", where);
        if ((rc = concept_ref(ld, json_object_get(v, "concept"), at,
                              &a->concept)))
            return rc;
        a->name = msfaqp_strdup(key);
        a->response_id = msfaqp_strdup(json_string_value(r));
        if (!a->name || !a->response_id)
            return MSFAQ_ENOMEM;
    }
    return 0;
}

int msfaqp_load_intents(loader *ld)
{
    json_t *root = msfaqp_ld_json(ld, F_INTENTS);
    if (!root)
        return msfaqp_ld_code(ld);
    static const char *const top_keys[] = {"description", "settings",
                                           "specifics", "intents", NULL};
    int rc;
    if (!(rc = msfaqp_ld_keys(ld, root, "(top level)", top_keys)) &&
                              !(rc = load_settings(ld, json_object_get(root, "settings"))) &&
                              !(rc = load_specifics(ld, json_object_get(root, "specifics"))))
        rc = add_intents(ld, json_object_get(root, "intents"), "intents");
    json_decref(root);
    return rc;
}
