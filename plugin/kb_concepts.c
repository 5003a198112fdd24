/*
 * kb_concepts.c - concepts.json (rewrites, confusions, concepts) and the
 * concept lexicons of safety.json; the regexes of concepts and intents.
 *
 * A concept is a named piece of meaning made of literal terms (found by
 * stem, terms.c) and PCRE2 patterns over the normalised text.  Its role
 * says what it tells the domain gate (msfaq_private.h).  {name} in a
 * pattern inserts an earlier concept's regex, so concepts build on each
 * other; inside a regex a term stands for its words as written, plural
 * s/es allowed (a regex cannot see stems).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_load.h"

int msfaqp_find_concept(const msfaq_kb *kb, const char *name, size_t n)
{
    return msfaqp_strmap_get(&kb->concept_ids, name, n);
}

/* ------------------------------------------------------------- regex */

/* Nested {concept}s multiply: a few lines of JSON could ask for
 * gigabytes, so every regex, expanded, has a cap (the shipped KB's
 * largest is a few KB). */
static int too_long(loader *ld, const char *where)
{
    return msfaqp_ld_fail(ld, MSFAQ_EREGEX, -1, where,
                          "regex longer than %d bytes once its {concept}s "
                          "are expanded", MSFAQP_MAX_REGEX);
}

/* Expands {concept} references into (?:regex of that concept).  Braces
 * that do not hold a plain name ({2,3}) are left for PCRE2. */
static int expand(loader *ld, const char *src, const char *where,
                  msfaqp_buf *out)
{
    for (const char *p = src; *p;) {
        if (*p == '\\' && p[1]) {
            msfaqp_buf_put(out, p, 2);
            p += 2;
            continue;
        }
        if (*p == '{' && p[1] >= 'a' && p[1] <= 'z') {
            const char *e = p + 1;
            while ((*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9') ||
                   *e == '_')
                e++;
            if (*e == '}') {
                int c = msfaqp_find_concept(ld->kb, p + 1,
                                            (size_t)(e - p - 1));
                /* a concept may use only concepts defined before it: one
                 * still being loaded (itself) has no regex yet */
                if (c < 0)
                    return msfaqp_ld_fail(ld, MSFAQ_EREF, (long)(p - src),
                                          where, "unknown concept {%.*s}",
                                          (int)(e - p - 1), p + 1);
                if (!ld->kb->concepts[c].source)
                    return msfaqp_ld_fail(ld, MSFAQ_EREF, (long)(p - src),
                                          where, "{%.*s} refers to the "
                                          "concept being defined",
                                          (int)(e - p - 1), p + 1);
                if (out->len + strlen(ld->kb->concepts[c].source) >
                    MSFAQP_MAX_REGEX)
                    return too_long(ld, where);
                msfaqp_buf_puts(out, "(?:");
                msfaqp_buf_puts(out, ld->kb->concepts[c].source);
                msfaqp_buf_puts(out, ")");
                p = e + 1;
                continue;
            }
        }
        msfaqp_buf_put(out, p, 1);
        p++;
        if (out->len > MSFAQP_MAX_REGEX)
            return too_long(ld, where);
    }
    return out->oom ? MSFAQ_ENOMEM : 0;
}

/* The concept a pattern names when it is exactly "{name}", or -1. */
static int alias_of(const msfaq_kb *kb, const char *src)
{
    size_t n = strlen(src);
    if (n < 3 || src[0] != '{' || src[n - 1] != '}' ||
        strspn(src + 1, "abcdefghijklmnopqrstuvwxyz0123456789_") != n - 2)
        return -1;
    return msfaqp_find_concept(kb, src + 1, n - 2);
}

static pcre2_code *compile(loader *ld, const char *regex, const char *where,
                           const char *as_written)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                                     PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C,
                                     &ec, &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        /* the offset is into the expanded regex; it equals the offset in
         * what the author wrote when the pattern has no {concept} */
        msfaqp_ld_fail(ld, MSFAQ_EREGEX, (long)off, where,
                       "regex \"%.60s\" does not compile at offset %zu: %s",
                       as_written, (size_t)off, (char *)msg);
        return NULL;
    }
    /* JIT-compiled on first use: see msfaqp_regex_run() */
    return code;
}

/* A clause of a regex's needs: its literals numbered in the KB's index,
 * appended to re->need as the count and the ids. */
struct need_ctx {
    msfaq_kb *kb;
    msfaqp_regex *re;
};

static int add_need(void *ud, int clause, const char *const *lits, int n)
{
    (void)clause;
    struct need_ctx *c = ud;
    msfaqp_regex *re = c->re;
    int *v = realloc(re->need, (size_t)(re->n_need + 1) * sizeof *v);
    if (!v)
        return -1;
    re->need = v;
    int id = msfaqp_lits_clause(&c->kb->lits, lits, n);
    if (id < 0)
        return -1;
    v[re->n_need++] = id;
    return 0;
}

int msfaqp_load_regex(loader *ld, const char *src, const char *where,
                      msfaqp_regex *re, int *alias)
{
    if ((*alias = alias_of(ld->kb, src)) >= 0)
        return 0;
    msfaqp_buf x = {0};
    int rc = expand(ld, src, where, &x);
    if (!rc && !(re->code = compile(ld, x.p, where, src)))
        rc = MSFAQ_EREGEX;
    if (!rc)
        atomic_store(&re->ready, 1);
    struct need_ctx nc = {ld->kb, re};
    if (!rc && msfaqp_need_of(x.p, add_need, &nc))
        rc = MSFAQ_ENOMEM;
    if (!rc)
        re->source = x.p;      /* kept: an image stores it */
    else
        free(x.p);
    return rc;
}

/* ------------------------------------------------------------- terms */

/* Checks a term (words of a-z and 0-9, single spaces; "=word" for that
 * word only, unstemmed), adds its words to the vocabulary, and appends its
 * regex form to out for {concept} expansion: each word as written, plus
 * s/es from three letters on (but not after "="). */
static int term_regex(loader *ld, const char *term, const char *where,
                      msfaqp_buf *out)
{
    const char *p = term;
    if (!*p || *p == ' ' || term[strlen(term) - 1] == ' ' ||
        strstr(term, "  "))
        return msfaqp_ld_shape(ld, where, "a term is words separated by "
                               "single spaces");
    for (bool first = true; *p; first = false) {
        bool exact = *p == '=';
        p += exact;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (e == p)
            return msfaqp_ld_shape(ld, where, "an = must be followed by a "
                                              "word");
        for (const char *c = p; c < e; c++) {
            if (*c == '*')
                return msfaqp_ld_shape(ld, where,
                                       "terms match by stem (\"relapse\" "
                                       "finds relapses, relapsing): write "
                                       "the word, not a prefix*");
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
                return msfaqp_ld_shape(ld, where,
                                       "a term holds lowercase letters, "
                                       "digits and spaces only (and = "
                                       "before a word to match it "
                                       "unstemmed)");
        }
        if (e - p >= MSFAQP_MAX_WORD)
            return msfaqp_ld_shape(ld, where, "a term word is longer than "
                                   "63 letters");
        if (!first)
            msfaqp_buf_puts(out, " ");
        msfaqp_buf_put(out, p, (size_t)(e - p));
        if (e - p >= 3 && !exact)
            msfaqp_buf_puts(out, "(?:s|es)?");
        if (msfaqp_wordset_add(&ld->term_words, p, (size_t)(e - p)))
            return MSFAQ_ENOMEM;
        p = *e ? e + 1 : e;
    }
    return out->oom ? MSFAQ_ENOMEM : 0;
}

/* ------------------------------------------------- terms as one regex */

/* A concept's terms, as {name} inserts them into other patterns, are one
 * regex.  Written as a flat alternation ("alcohol|beer|booze|...") PCRE2
 * tries every term at every position; written as a trie of their letters
 * ("a(?:lcohol)|b(?:eer|ooze)|...") it follows one path.  The set of texts
 * matched is the same; where two terms match at one place the longer is
 * tried first. */
#define PLURAL '\x01'         /* the token for "(?:s|es)?" */

typedef struct trie {
    char tok;
    bool end;                  /* a term ends here */
    struct trie **kids;
    int n_kids;
} trie;

static void trie_free(trie *t)
{
    for (int i = 0; t && i < t->n_kids; i++)
        trie_free(t->kids[i]);
    if (t)
        free(t->kids);
    free(t);
}

static int trie_add(trie *t, const char *form)
{
    for (const char *p = form; *p;) {
        char tok = *p;
        size_t adv = 1;
        if (strncmp(p, "(?:s|es)?", 9) == 0) {
            tok = PLURAL;
            adv = 9;
        }
        trie *next = NULL;
        for (int i = 0; i < t->n_kids && !next; i++)
            if (t->kids[i]->tok == tok)
                next = t->kids[i];
        if (!next) {
            trie **v = realloc(t->kids, (size_t)(t->n_kids + 1) * sizeof *v);
            if (!v || !(next = calloc(1, sizeof *next))) {
                if (v)
                    t->kids = v;
                return -1;
            }
            t->kids = v;
            next->tok = tok;
            /* children in byte order: the regex is the same every time */
            int at = t->n_kids++;
            while (at > 0 && (unsigned char)t->kids[at - 1]->tok >
                                 (unsigned char)tok) {
                t->kids[at] = t->kids[at - 1];
                at--;
            }
            t->kids[at] = next;
        }
        t = next;
        p += adv;
    }
    t->end = true;
    return 0;
}

static void trie_emit(const trie *t, msfaqp_buf *out)
{
    int alts = t->n_kids + (t->end && t->n_kids ? 1 : 0);
    if (alts > 1)
        msfaqp_buf_puts(out, "(?:");
    for (int i = 0; i < t->n_kids; i++) {
        if (i)
            msfaqp_buf_puts(out, "|");
        const trie *k = t->kids[i];
        if (k->tok == PLURAL)
            msfaqp_buf_puts(out, "(?:s|es)?");
        else
            msfaqp_buf_put(out, &k->tok, 1);
        trie_emit(k, out);
    }
    if (alts > 1)
        msfaqp_buf_puts(out, t->end ? "|)" : ")");
}

/* ---------------------------------------------------------- concepts */

static int role_of(const char *s)
{
    static const struct {
        const char *name;
        int role;
    } roles[] = {{"anchor", MSFAQP_ROLE_ANCHOR},
                 {"topic", MSFAQP_ROLE_TOPIC},
                 {"function", MSFAQP_ROLE_FUNCTION},
                 {"smalltalk", MSFAQP_ROLE_SMALLTALK}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(s, roles[i].name) == 0)
            return roles[i].role;
    return -1;
}

static int grow_concepts(msfaq_kb *kb, size_t more)
{
    size_t n = (size_t)kb->n_concepts + more;
    if (n > MSFAQP_MAX_CONCEPTS)
        return -1;
    msfaqp_concept *v = realloc(kb->concepts, n * sizeof *v);
    if (!v)
        return MSFAQ_ENOMEM;
    memset(v + kb->n_concepts, 0, more * sizeof *v);
    kb->concepts = v;
    return 0;
}

static int load_concept(loader *ld, const char *key, json_t *v,
                        const char *where)
{
    msfaq_kb *kb = ld->kb;
    static const char *const keys[] = {"description", "role", "terms",
                                       "patterns", "unless", NULL};
    int rc;
    if (!msfaqp_ld_name(key))
        return msfaqp_ld_shape(ld, where, "a name holds a-z, 0-9 and _ "
                               "only");
    if (msfaqp_find_concept(kb, key, strlen(key)) >= 0)
        return msfaqp_ld_shape(ld, where, "a concept of that name is "
                               "defined already");
    if (!json_is_object(v))
        return msfaqp_ld_shape(ld, where, "must be an object");
    if ((rc = msfaqp_ld_keys(ld, v, where, keys)))
        return rc;
    json_t *terms = json_object_get(v, "terms");
    json_t *pats = json_object_get(v, "patterns");
    json_t *role = json_object_get(v, "role");
    json_t *unless = json_object_get(v, "unless");
    if (unless && (!json_is_array(unless) || !json_array_size(unless)))
        return msfaqp_ld_shape(ld, where, "\"unless\" must be a non-empty "
                               "array of earlier concepts");
    if ((terms && !json_is_array(terms)) || (pats && !json_is_array(pats)) ||
        json_array_size(terms) + json_array_size(pats) == 0)
        return msfaqp_ld_shape(ld, where, "needs \"terms\" or "
                               "\"patterns\": non-empty arrays "
                               "of strings");
    int r = MSFAQP_ROLE_CUE;
    if (role && (!json_is_string(role) ||
                 (r = role_of(json_string_value(role))) < 0))
        return msfaqp_ld_shape(ld, where, "\"role\" must be anchor, topic, "
                               "function or smalltalk");
    int self = kb->n_concepts++;        /* kb_close frees what is here */
    msfaqp_concept *c = &kb->concepts[self];
    c->role = r;
    c->screen = ld->screen;
    c->name = msfaqp_strdup(key);
    c->regexes = calloc(json_array_size(pats) + 1, sizeof *c->regexes);
    c->aliases = calloc(json_array_size(pats) + 1, sizeof *c->aliases);
    c->unless = calloc(json_array_size(unless) + 1, sizeof *c->unless);
    if (!c->name || !c->regexes || !c->aliases || !c->unless)
        return MSFAQ_ENOMEM;
    size_t ui;
    json_t *u;
    json_array_foreach(unless, ui, u) {
        char w2[240];
        snprintf(w2, sizeof w2, "%s.unless[%zu]", where, ui);
        int other = json_is_string(u)
                        ? msfaqp_find_concept(kb, json_string_value(u),
                                              json_string_length(u))
                        : -1;
        if (!json_is_string(u))
            return msfaqp_ld_shape(ld, w2, "must be a concept name");
        if (other < 0)
            return msfaqp_ld_fail(ld, MSFAQ_EREF, -1, w2,
                                  "no earlier concept \"%.60s\"",
                                  json_string_value(u));
        c->unless[c->n_unless++] = other;
    }
    if (msfaqp_strmap_put(&kb->concept_ids, key, strlen(key), self))
        return MSFAQ_ENOMEM;
    msfaqp_buf re = {0};
    size_t idx;
    json_t *t;
    char w[240];
    if (json_array_size(terms)) {
        trie *root = calloc(1, sizeof *root);
        if (!root) {
            rc = MSFAQ_ENOMEM;
            goto out;
        }
        json_array_foreach(terms, idx, t) {
            snprintf(w, sizeof w, "%s.terms[%zu]", where, idx);
            if (!json_is_string(t)) {
                rc = msfaqp_ld_shape(ld, w, "must be a string");
                trie_free(root);
                goto out;
            }
            msfaqp_buf form = {0};
            if ((rc = term_regex(ld, json_string_value(t), w, &form)) ||
                (rc = msfaqp_terms_add(kb, json_string_value(t), self)) ||
                (rc = form.oom || trie_add(root, form.p) ? MSFAQ_ENOMEM
                                                         : 0)) {
                free(form.p);
                trie_free(root);
                goto out;
            }
            free(form.p);
        }
        msfaqp_buf_puts(&re, "\\b(?:");
        trie_emit(root, &re);
        msfaqp_buf_puts(&re, ")\\b");
        trie_free(root);
    }
    json_array_foreach(pats, idx, t) {
        snprintf(w, sizeof w, "%s.patterns[%zu]", where, idx);
        if (!json_is_string(t) || json_string_length(t) == 0) {
            rc = msfaqp_ld_shape(ld, w, "must be a non-empty string");
            goto out;
        }
        const char *src = json_string_value(t);
        msfaqp_buf one = {0};
        if ((rc = expand(ld, src, w, &one))) {
            free(one.p);
            goto out;
        }
        if (re.len)
            msfaqp_buf_puts(&re, "|");
        msfaqp_buf_puts(&re, "(?:");
        msfaqp_buf_puts(&re, one.p);
        msfaqp_buf_puts(&re, ")");
        free(one.p);
        /* exactly "{other}": present whenever that concept is, no regex
         * run needed */
        int alias;
        if ((rc = msfaqp_load_regex(ld, src, w,
                                    &c->regexes[c->n_regexes], &alias)))
            goto out;
        if (alias >= 0)
            c->aliases[c->n_aliases++] = alias;
        else
            c->n_regexes++;
    }
    if (re.oom) {
        rc = MSFAQ_ENOMEM;
        goto out;
    }
    if (re.len > MSFAQP_MAX_REGEX) {
        rc = too_long(ld, where);
        goto out;
    }
    c->source = re.p;
    return 0;
out:
    free(re.p);
    return rc;
}

int msfaqp_load_concept_set(loader *ld, json_t *cs, const char *where)
{
    if (!json_is_object(cs) || json_object_size(cs) == 0)
        return msfaqp_ld_shape(ld, where, "must be a non-empty object");
    int rc = grow_concepts(ld->kb, json_object_size(cs));
    if (rc < 0 && rc != MSFAQ_ENOMEM)
        return msfaqp_ld_shape(ld, where, "too many concepts");
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    json_object_foreach(cs, key, v) {
        char at[200];
        snprintf(at, sizeof at, "%s.%.100s", where, key);
        if ((rc = load_concept(ld, key, v, at)))
            return rc;
    }
    return 0;
}

/* ---------------------------------------------- rewrites, confusions */

static int load_rewrites(loader *ld, json_t *rw)
{
    msfaq_kb *kb = ld->kb;
    if (rw && !json_is_object(rw))
        return msfaqp_ld_shape(ld, "rewrites", "must be an object of word: "
                               "words");
    size_t n = rw ? json_object_size(rw) : 0;
    kb->rewrites = calloc(n ? n : 1, sizeof *kb->rewrites);
    if (!kb->rewrites)
        return MSFAQ_ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach(rw, key, v) {
        char where[160];
        snprintf(where, sizeof where, "rewrites.%.100s", key);
        if (!json_is_string(v) || !msfaqp_ld_name(key))
            return msfaqp_ld_shape(ld, where, "must map a lowercase word to "
                                   "a string of words");
        msfaqp_rewrite *r = &kb->rewrites[kb->n_rewrites++];
        r->from = msfaqp_strdup(key);
        r->to = msfaqp_strdup(json_string_value(v));
        if (!r->from || !r->to)
            return MSFAQ_ENOMEM;
    }
    return 0;
}

/* "affects": "effects" - a real word people type for another.  Only a
 * term of two words or more reads the slip as the other word. */
static int load_confusions(loader *ld, json_t *cf)
{
    msfaq_kb *kb = ld->kb;
    if (cf && !json_is_object(cf))
        return msfaqp_ld_shape(ld, "confusions", "must be an object of "
                               "word: word");
    size_t n = cf ? json_object_size(cf) : 0;
    kb->confusion_stems = calloc(n ? n : 1, sizeof *kb->confusion_stems);
    if (!kb->confusion_stems)
        return MSFAQ_ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach(cf, key, v) {
        char where[160];
        snprintf(where, sizeof where, "confusions.%.100s", key);
        const char *to = json_is_string(v) ? json_string_value(v) : "";
        if (!msfaqp_ld_name(key) || !msfaqp_ld_name(to) ||
            strlen(key) >= MSFAQP_MAX_WORD || strlen(to) >= MSFAQP_MAX_WORD)
            return msfaqp_ld_shape(ld, where, "must map a lowercase word to "
                                   "one lowercase word");
        char st[MSFAQP_MAX_WORD];
        msfaqp_stem(kb, to, strlen(to), st, sizeof st);
        int i = kb->n_confusions;
        if (!(kb->confusion_stems[i] = msfaqp_strdup(st)))
            return MSFAQ_ENOMEM;
        kb->n_confusions++;
        if (msfaqp_strmap_put(&kb->confusion_of, key, strlen(key), i))
            return MSFAQ_ENOMEM;
    }
    return 0;
}

int msfaqp_load_concepts(loader *ld)
{
    json_t *root = msfaqp_ld_json(ld, F_CONCEPTS);
    if (!root)
        return msfaqp_ld_code(ld);
    static const char *const top_keys[] = {"description", "rewrites",
                                           "confusions", "concepts", NULL};
    int rc;
    if (!(rc = msfaqp_ld_keys(ld, root, "(top level)", top_keys)) &&
                              !(rc = load_rewrites(ld, json_object_get(root, "rewrites"))) &&
                              !(rc = load_confusions(ld, json_object_get(root, "confusions"))))
        rc = msfaqp_load_concept_set(ld, json_object_get(root, "concepts"),
                                     "concepts");
    json_decref(root);
    return rc;
}
