/*
 * kb_load.c - patterns/ + responses/ -> an immutable in-memory KB.
 *
 * Four files make a KB (see docs/kb-format.md):
 *   patterns/concepts.json   rewrites and named concepts (terms, regexes)
 *   patterns/intents.json    settings and intents (concept groups, patterns,
 *                            example and negative questions)
 *   responses/answers.json   the reply for every intent, with its section
 *   responses/article.txt    the article the answers are checked against
 * They come from a directory or from the copies compiled into the library.
 *
 * Everything is validated here, once: unknown keys (a typo such as
 * "exmaples" must not silently drop a field), names that refer to nothing,
 * regexes that do not compile, sections that are not headings of the
 * article.  JSON syntax errors carry jansson's line and column; shape errors
 * name the JSON path, as jansson keeps no positions for loaded values.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

#define F_CONCEPTS "patterns/concepts.json"
#define F_INTENTS "patterns/intents.json"
#define F_ANSWERS "responses/answers.json"
#define F_ARTICLE "responses/article.txt"

typedef struct loader {
    msfaq_kb *kb;
    msfaq_error *err;
    const char *dir;       /* NULL: embedded */
    char path[512];        /* file being read, for messages */
    char *raw;             /* its text, to place errors by JSON path */
} loader;

/* ------------------------------------------------------------ files */

static int read_file(loader *ld, const char *name, char **data, size_t *size)
{
    *data = NULL;
    if (!ld->dir) {
        snprintf(ld->path, sizeof ld->path, "embedded:%s", name);
        for (size_t i = 0; i < msfaqp_embedded_kb_count; i++) {
            const msfaqp_embedded_file *f = &msfaqp_embedded_kb[i];
            if (strcmp(f->name, name) == 0) {
                *data = msfaqp_strndup((const char *)f->data, f->size);
                *size = f->size;
                if (!*data)
                    goto nomem;
                return 0;
            }
        }
        msfaqp_error_set(ld->err, MSFAQ_EIO, ld->path, -1, -1, -1,
                         "not compiled into this library");
        return MSFAQ_EIO;
    }
    snprintf(ld->path, sizeof ld->path, "%s/%s", ld->dir, name);
    FILE *fp = fopen(ld->path, "rb");
    if (!fp) {
        msfaqp_error_set(ld->err, MSFAQ_EIO, ld->path, -1, -1, -1,
                         "cannot open: %s", strerror(errno));
        return MSFAQ_EIO;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0)
            break;
        if (len + 1 == cap) {
            if (cap >= (size_t)64 << 20) {       /* 64 MiB is no KB */
                free(buf);
                fclose(fp);
                msfaqp_error_set(ld->err, MSFAQ_EIO, ld->path, -1, -1, -1,
                                 "file larger than 64 MiB");
                return MSFAQ_EIO;
            }
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
    }
    int failed = ferror(fp);
    fclose(fp);
    if (!buf)
        goto nomem;
    if (failed) {
        free(buf);
        msfaqp_error_set(ld->err, MSFAQ_EIO, ld->path, -1, -1, -1,
                         "read error");
        return MSFAQ_EIO;
    }
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return 0;
nomem:
    msfaqp_error_set(ld->err, MSFAQ_ENOMEM, ld->path, -1, -1, -1,
                     "out of memory");
    return MSFAQ_ENOMEM;
}

static json_t *load_json(loader *ld, const char *name)
{
    char *data;
    size_t size;
    if (read_file(ld, name, &data, &size))
        return NULL;
    json_error_t je;
    json_t *root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &je);
    free(ld->raw);
    ld->raw = data;
    if (!root) {
        /* jansson says column 0 for an error at a line's start; ours are
         * 1-based */
        msfaqp_error_set(ld->err, MSFAQ_EJSON, ld->path, je.line,
                         je.line > 0 && je.column < 1 ? 1 : je.column,
                         (long)je.position, "%s", je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        msfaqp_error_set(ld->err, MSFAQ_ESCHEMA, ld->path, -1, -1, -1,
                         "top level must be a JSON object");
        return NULL;
    }
    return root;
}

/* ------------------------------------------------------ shape checks */

/* Fails with code; the message starts with the JSON path where, and the
 * position is where that path sits in the file (see json_pos.c).  where
 * may carry notes in parentheses ("intents[3] (car_t)"): not part of the
 * path. */
static int fail(loader *ld, int code, long offset, const char *where,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(loader *ld, int code, long offset, const char *where,
                const char *fmt, ...)
{
    char path[256], text[256];
    size_t n = 0;
    for (const char *w = where; *w && n < sizeof path - 1; w++) {
        if (*w == ' ' && w[1] == '(') {      /* " (note)" */
            const char *e = strchr(w, ')');
            if (!e)
                break;
            w = e;
            continue;
        }
        if (*w != '(')
            path[n++] = *w;
        else
            break;                           /* "(top level)" */
    }
    path[n] = '\0';
    int line = -1, col = -1;
    long at = ld->raw ? msfaqp_json_path_offset(ld->raw, path) : -1;
    if (at >= 0) {
        line = 1;
        col = 1;
        for (long i = 0; i < at; i++, col++)
            if (ld->raw[i] == '\n')
                line++, col = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    msfaqp_error_set(ld->err, code, ld->path, line, col,
                     offset >= 0 ? offset : at, "%s: %s", where, text);
    return code;
}

static int shape(loader *ld, const char *where, const char *what)
{
    return fail(ld, MSFAQ_ESCHEMA, -1, where, "%s", what);
}

/* Rejects keys outside allowed (NULL-terminated). */
static int only_keys(loader *ld, json_t *obj, const char *where,
                     const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, key) != 0)
            a++;
        if (!*a) {
            char at[300];
            snprintf(at, sizeof at, "%s.%s", where, key);
            return fail(ld, MSFAQ_ESCHEMA, -1, at, "unknown key");
        }
    }
    return 0;
}

/* Copies a string array into *out; NULL v means an empty list. */
static int string_list(loader *ld, json_t *v, const char *where,
                       char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return shape(ld, where, "must be an array of strings");
    size_t count = json_array_size(v);
    if (!count)
        return 0;
    *out = calloc(count, sizeof **out);
    if (!*out)
        return MSFAQ_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) == 0) {
            char w[200];
            snprintf(w, sizeof w, "%s[%zu]", where, i);
            return shape(ld, w, "must be a non-empty string");
        }
        (*out)[i] = msfaqp_strdup(json_string_value(s));
        if (!(*out)[i])
            return MSFAQ_ENOMEM;
        (*n)++;
    }
    return 0;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static int find_concept(const msfaq_kb *kb, const char *name, size_t n)
{
    return msfaqp_strmap_get(&kb->concept_ids, name, n);
}

/* ------------------------------------------------------------- regex */

/* Nested {concept}s multiply: a few lines of JSON could ask for
 * gigabytes, so every regex, expanded, has a cap (the shipped KB's
 * largest is about 7 KB). */
static int too_long(loader *ld, const char *where)
{
    return fail(ld, MSFAQ_EREGEX, -1, where,
                "regex longer than %d bytes once its {concept}s are "
                "expanded", MSFAQP_MAX_REGEX);
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
                int c = find_concept(ld->kb, p + 1, (size_t)(e - p - 1));
                /* a concept may use only concepts defined before it: one
                 * still being loaded (itself) has no regex yet */
                if (c < 0)
                    return fail(ld, MSFAQ_EREF, (long)(p - src), where,
                                "unknown concept {%.*s}", (int)(e - p - 1),
                                p + 1);
                if (!ld->kb->concepts[c].source)
                    return fail(ld, MSFAQ_EREF, (long)(p - src), where,
                                "{%.*s} refers to the concept being "
                                "defined", (int)(e - p - 1), p + 1);
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
    return find_concept(kb, src + 1, n - 2);
}

int msfaqp_regex_run(const msfaq_kb *kb, const msfaqp_regex *r,
                     const char *s, size_t len, pcre2_match_data *md)
{
    if (r->needle && !strstr(s, r->needle))
        return PCRE2_ERROR_NOMATCH;
    int jit = atomic_load_explicit(&r->jit, memory_order_acquire);
    msfaqp_regex *w = (msfaqp_regex *)r;
    /* short texts are interpreted until the regex proves busy; long ones
     * go to the JIT at once: the interpreter's finer step count would hit
     * the match limit on long but harmless input */
    if (jit == 0 && len <= MSFAQP_INTERPRET_MAX &&
        atomic_fetch_add_explicit(&w->runs, 1, memory_order_relaxed) <
            MSFAQP_JIT_AFTER)
        return pcre2_match(r->code, (PCRE2_SPTR)s, len, 0, 0, md, kb->mctx);
    if (jit == 0) {
        /* the KB is shared and otherwise immutable: one thread compiles
         * the JIT code while others wait, and publishes it with a release
         * store; until then everyone interprets the same code, which
         * PCRE2 allows from many threads */
        pthread_mutex_lock((pthread_mutex_t *)&kb->jit_lock);
        jit = atomic_load_explicit(&w->jit, memory_order_relaxed);
        if (jit == 0) {
            jit = pcre2_jit_compile(w->code, PCRE2_JIT_COMPLETE) == 0 ? 1
                                                                       : 2;
            atomic_store_explicit(&w->jit, jit, memory_order_release);
        }
        pthread_mutex_unlock((pthread_mutex_t *)&kb->jit_lock);
    }
    /* the JIT entry skips the interpreter's option checks; the match limit
     * still applies (the depth limit is an interpreter notion) */
    if (jit == 1)
        return pcre2_jit_match(r->code, (PCRE2_SPTR)s, len, 0, 0, md,
                               kb->mctx);
    return pcre2_match(r->code, (PCRE2_SPTR)s, len, 0, 0, md, kb->mctx);
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
        fail(ld, MSFAQ_EREGEX, (long)off, where,
             "regex \"%.60s\" does not compile at offset %zu: %s",
             as_written, (size_t)off, (char *)msg);
        return NULL;
    }
    /* JIT-compiled on first use: see msfaqp_regex_run() */
    return code;
}

/* A concept term is words in normalised form; a word ending in '*' is a
 * prefix ("relaps*"); every other word of three letters or more may take a
 * plural s or es (not "i", which would match "is"). */
static int term_regex(loader *ld, const char *term, const char *where,
                      msfaqp_buf *out, msfaqp_wordset *words)
{
    const char *p = term;
    bool first = true;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ' ' && *e != '*')
            e++;
        for (const char *c = p; c < e; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
                return shape(ld, where,
                             "a term holds lowercase letters, digits, "
                             "spaces and a trailing * only");
        if (e == p)
            return shape(ld, where, "a * must follow letters");
        if (!first)
            msfaqp_buf_puts(out, " ");
        msfaqp_buf_put(out, p, (size_t)(e - p));
        /* whole words join the vocabulary; a prefix ("relaps") is no word
         * and would tie with the words it starts in the typo corrector */
        if (msfaqp_wordset_add(*e == '*' ? &ld->kb->stems : words, p,
                               (size_t)(e - p)))
            return MSFAQ_ENOMEM;
        if (*e == '*') {
            if (e - p < 3)
                return shape(ld, where, "a prefix needs three letters "
                                        "or more");
            msfaqp_buf_puts(out, "[a-z0-9]*");
            e++;
            if (*e && *e != ' ')
                return shape(ld, where, "a * must end a word");
        } else if (e - p >= 3) {
            msfaqp_buf_puts(out, "(?:s|es)?");
        }
        first = false;
        p = e;
    }
    if (first)
        return shape(ld, where, "empty term");
    return out->oom ? MSFAQ_ENOMEM : 0;
}

/* ---------------------------------------------------------- concepts */

static int load_concepts(loader *ld, msfaqp_wordset *term_words)
{
    msfaq_kb *kb = ld->kb;
    int rc = MSFAQ_ESCHEMA;
    json_t *root = load_json(ld, F_CONCEPTS);
    if (!root)
        return ld->err ? ld->err->code : MSFAQ_EJSON;
    static const char *const top_keys[] = {"description", "rewrites",
                                           "concepts", NULL};
    if ((rc = only_keys(ld, root, "(top level)", top_keys)))
        goto out;

    json_t *rw = json_object_get(root, "rewrites");
    if (rw && !json_is_object(rw)) {
        rc = shape(ld, "rewrites", "must be an object of word: words");
        goto out;
    }
    size_t n_rw = rw ? json_object_size(rw) : 0;
    kb->rewrites = calloc(n_rw ? n_rw : 1, sizeof *kb->rewrites);
    if (!kb->rewrites) {
        rc = MSFAQ_ENOMEM;
        goto out;
    }
    const char *key;
    json_t *v;
    if (rw) {
        json_object_foreach(rw, key, v) {
            char where[160];
            snprintf(where, sizeof where, "rewrites.%.100s", key);
            if (!json_is_string(v) || !valid_name(key)) {
                rc = shape(ld, where, "must map a lowercase word to a "
                                      "string of words");
                goto out;
            }
            msfaqp_rewrite *r = &kb->rewrites[kb->n_rewrites++];
            r->from = msfaqp_strdup(key);
            r->to = msfaqp_strdup(json_string_value(v));
            if (!r->from || !r->to) {
                rc = MSFAQ_ENOMEM;
                goto out;
            }
        }
    }

    json_t *cs = json_object_get(root, "concepts");
    if (!json_is_object(cs) || json_object_size(cs) == 0) {
        rc = shape(ld, "concepts", "must be a non-empty object");
        goto out;
    }
    if (json_object_size(cs) > MSFAQP_MAX_CONCEPTS) {
        rc = shape(ld, "concepts", "too many concepts");
        goto out;
    }
    kb->concepts = calloc(json_object_size(cs), sizeof *kb->concepts);
    if (!kb->concepts) {
        rc = MSFAQ_ENOMEM;
        goto out;
    }
    json_object_foreach(cs, key, v) {
        char where[200];
        snprintf(where, sizeof where, "concepts.%.100s", key);
        static const char *const keys[] = {"description", "terms",
                                           "patterns", NULL};
        if (!valid_name(key)) {
            rc = shape(ld, where, "a name holds a-z, 0-9 and _ only");
            goto out;
        }
        if (!json_is_object(v)) {
            rc = shape(ld, where, "must be an object");
            goto out;
        }
        if ((rc = only_keys(ld, v, where, keys)))
            goto out;
        json_t *terms = json_object_get(v, "terms");
        json_t *pats = json_object_get(v, "patterns");
        if ((terms && !json_is_array(terms)) ||
            (pats && !json_is_array(pats)) ||
            json_array_size(terms) + json_array_size(pats) == 0) {
            rc = shape(ld, where, "needs \"terms\" or \"patterns\": "
                                  "non-empty arrays of strings");
            goto out;
        }
        msfaqp_concept *c = &kb->concepts[kb->n_concepts];
        c->name = msfaqp_strdup(key);
        c->regexes = calloc(json_array_size(pats) + 1, sizeof *c->regexes);
        c->aliases = calloc(json_array_size(pats) + 1, sizeof *c->aliases);
        if (!c->name || !c->regexes || !c->aliases) {
            rc = MSFAQ_ENOMEM;
            goto out;
        }
        int self = kb->n_concepts++;
        if (msfaqp_strmap_put(&kb->concept_ids, key, strlen(key), self)) {
            rc = MSFAQ_ENOMEM;
            goto out;
        }
        msfaqp_buf re = {0};
        size_t idx;
        json_t *t;
        if (json_array_size(terms)) {
            msfaqp_buf_puts(&re, "\\b(?:");
            json_array_foreach(terms, idx, t) {
                char w[240];
                snprintf(w, sizeof w, "%s.terms[%zu]", where, idx);
                if (!json_is_string(t)) {
                    free(re.p);
                    rc = shape(ld, w, "must be a string");
                    goto out;
                }
                if (idx)
                    msfaqp_buf_puts(&re, "|");
                if ((rc = term_regex(ld, json_string_value(t), w, &re,
                                     term_words)) ||
                    (rc = msfaqp_terms_add(kb, json_string_value(t),
                                           self))) {
                    free(re.p);
                    goto out;
                }
            }
            msfaqp_buf_puts(&re, ")\\b");
        }
        json_array_foreach(pats, idx, t) {
            char w[240];
            snprintf(w, sizeof w, "%s.patterns[%zu]", where, idx);
            if (!json_is_string(t)) {
                free(re.p);
                rc = shape(ld, w, "must be a string");
                goto out;
            }
            const char *src = json_string_value(t);
            msfaqp_buf one = {0};
            if ((rc = expand(ld, src, w, &one))) {
                free(one.p);
                free(re.p);
                goto out;
            }
            if (re.len)
                msfaqp_buf_puts(&re, "|");
            msfaqp_buf_puts(&re, "(?:");
            msfaqp_buf_puts(&re, one.p);
            msfaqp_buf_puts(&re, ")");
            /* exactly "{other}": present whenever that concept is, no
             * regex run needed */
            int alias = alias_of(kb, src);
            if (alias >= 0) {
                c->aliases[c->n_aliases++] = alias;
            } else if (!(c->regexes[c->n_regexes].code =
                             compile(ld, one.p, w, src))) {
                free(one.p);
                free(re.p);
                rc = MSFAQ_EREGEX;
                goto out;
            } else {
                c->regexes[c->n_regexes++].needle =
                    msfaqp_required_literal(one.p);
            }
            free(one.p);
        }
        if (re.oom) {
            free(re.p);
            rc = MSFAQ_ENOMEM;
            goto out;
        }
        if (re.len > MSFAQP_MAX_REGEX) {
            free(re.p);
            rc = too_long(ld, where);
            goto out;
        }
        c->source = re.p;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ----------------------------------------------------------- intents */

static int concept_ref(loader *ld, json_t *v, const char *where, int *out)
{
    if (!json_is_string(v))
        return shape(ld, where, "must be a concept name");
    const char *name = json_string_value(v);
    int c = find_concept(ld->kb, name, strlen(name));
    if (c < 0)
        return fail(ld, MSFAQ_EREF, -1, where, "unknown concept \"%.80s\"",
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

static int load_intent(loader *ld, json_t *o, int index, msfaqp_intent *in)
{
    char where[200], w[240];
    snprintf(where, sizeof where, "intents[%d]", index);
    if (!json_is_object(o))
        return shape(ld, where, "must be an object");
    static const char *const keys[] = {
        "id", "description", "kind", "priority", "response", "all", "any",
        "none", "patterns", "examples", "negatives", NULL};
    int rc = only_keys(ld, o, where, keys);
    if (rc)
        return rc;
    json_t *id = json_object_get(o, "id");
    if (!json_is_string(id) || !valid_name(json_string_value(id)))
        return shape(ld, where, "\"id\" must be a name of a-z, 0-9, _");
    in->id = msfaqp_strdup(json_string_value(id));
    if (!in->id)
        return MSFAQ_ENOMEM;
    snprintf(where, sizeof where, "intents[%d] (%.60s)", index, in->id);
    json_t *resp = json_object_get(o, "response");
    if (resp && (!json_is_string(resp) ||
                 !valid_name(json_string_value(resp))))
        return shape(ld, where, "\"response\" must be a response id");
    in->response_id = msfaqp_strdup(resp ? json_string_value(resp) : in->id);
    if (!in->response_id)
        return MSFAQ_ENOMEM;
    if (!json_is_string(json_object_get(o, "description")))
        return shape(ld, where, "\"description\" must be a string");
    json_t *kind = json_object_get(o, "kind");
    in->kind = json_is_string(kind) ? kind_of(json_string_value(kind)) : -1;
    if (in->kind < 0)
        return shape(ld, where, "\"kind\" must be answer, fallback, safety "
                                "or smalltalk");
    json_t *prio = json_object_get(o, "priority");
    if (prio && !json_is_integer(prio))
        return shape(ld, where, "\"priority\" must be an integer");
    /* safety outranks everything, out-of-scope outranks answers */
    in->priority = prio ? (int)json_integer_value(prio)
                 : in->kind == MSFAQ_KIND_SAFETY ? 20
                 : in->kind == MSFAQ_KIND_FALLBACK ? 10 : 0;

    json_t *all = json_object_get(o, "all");
    if (all && !json_is_array(all))
        return shape(ld, where, "\"all\" must be an array of groups");
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
            return shape(ld, w, "a group is a concept name or a non-empty "
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
        return shape(ld, where, "\"any\" must be an object of concept: "
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
                return shape(ld, w, "weight must be a number");
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
        return shape(ld, where, "\"none\" must be an array of concepts");
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
        return shape(ld, where, "\"patterns\" must be an array");
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
            if ((rc = only_keys(ld, p, w, pkeys)))
                return rc;
            re = json_object_get(p, "regex");
            json_t *wt = json_object_get(p, "weight");
            if (wt && !json_is_number(wt))
                return shape(ld, w, "\"weight\" must be a number");
            if (wt)
                P->weight = json_number_value(wt);
        }
        if (!json_is_string(re) || json_string_length(re) == 0)
            return shape(ld, w, "a pattern is a regex string or "
                                "{\"regex\": ..., \"weight\": ...}");
        P->source = msfaqp_strdup(json_string_value(re));
        if (!P->source)
            return MSFAQ_ENOMEM;
        in->n_patterns++;
        /* exactly "{concept}": the concept's presence, no regex run */
        if ((P->alias = alias_of(ld->kb, P->source)) >= 0)
            continue;
        msfaqp_buf x = {0};
        if ((rc = expand(ld, P->source, w, &x))) {
            free(x.p);
            return rc;
        }
        P->re.code = compile(ld, x.p, w, P->source);
        P->re.needle = msfaqp_required_literal(x.p);
        free(x.p);
        if (!P->re.code)
            return MSFAQ_EREGEX;
    }
    if (in->n_all == 0 && in->n_patterns == 0)
        return shape(ld, where, "needs \"all\" groups or \"patterns\"");

    snprintf(w, sizeof w, "%s.examples", where);
    if ((rc = string_list(ld, json_object_get(o, "examples"), w,
                          &in->examples, &in->n_examples)))
        return rc;
    snprintf(w, sizeof w, "%s.negatives", where);
    return string_list(ld, json_object_get(o, "negatives"), w,
                       &in->negatives, &in->n_negatives);
}

static int load_intents(loader *ld)
{
    msfaq_kb *kb = ld->kb;
    int rc;
    json_t *root = load_json(ld, F_INTENTS);
    if (!root)
        return ld->err ? ld->err->code : MSFAQ_EJSON;
    static const char *const top_keys[] = {"description", "settings",
                                           "intents", NULL};
    if ((rc = only_keys(ld, root, "(top level)", top_keys)))
        goto out;
    kb->threshold = 0.5;
    kb->clarify_margin = 0.25;
    json_t *st = json_object_get(root, "settings");
    if (st) {
        static const char *const skeys[] = {"threshold", "clarify_margin",
                                            NULL};
        if (!json_is_object(st)) {
            rc = shape(ld, "settings", "must be an object");
            goto out;
        }
        if ((rc = only_keys(ld, st, "settings", skeys)))
            goto out;
        json_t *t = json_object_get(st, "threshold");
        json_t *m = json_object_get(st, "clarify_margin");
        if ((t && (!json_is_number(t) || json_number_value(t) <= 0 ||
                   json_number_value(t) >= 1)) ||
            (m && (!json_is_number(m) || json_number_value(m) < 0))) {
            rc = shape(ld, "settings", "threshold must be in (0, 1) and "
                                       "clarify_margin >= 0");
            goto out;
        }
        if (t)
            kb->threshold = json_number_value(t);
        if (m)
            kb->clarify_margin = json_number_value(m);
    }
    json_t *arr = json_object_get(root, "intents");
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        rc = shape(ld, "intents", "must be a non-empty array");
        goto out;
    }
    kb->intents = calloc(json_array_size(arr), sizeof *kb->intents);
    if (!kb->intents) {
        rc = MSFAQ_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        kb->n_intents++;
        if ((rc = load_intent(ld, json_array_get(arr, i), (int)i,
                              &kb->intents[i])))
            goto out;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(kb->intents[j].id, kb->intents[i].id) == 0) {
                char where[64];
                snprintf(where, sizeof where, "intents[%zu]", i);
                rc = shape(ld, where, "duplicate intent id");
                goto out;
            }
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ----------------------------------------------------------- answers */

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

static int load_answers(loader *ld)
{
    msfaq_kb *kb = ld->kb;
    int rc;
    json_t *root = load_json(ld, F_ANSWERS);
    if (!root)
        return ld->err ? ld->err->code : MSFAQ_EJSON;
    static const char *const top_keys[] = {"description", "disclaimer",
                                           "fallback", "clarify",
                                           "sections", "responses", NULL};
    if ((rc = only_keys(ld, root, "(top level)", top_keys)))
        goto out;
    json_t *d = json_object_get(root, "disclaimer");
    json_t *c = json_object_get(root, "clarify");
    if (!json_is_string(d) || !json_is_string(c)) {
        rc = shape(ld, "(top level)", "\"disclaimer\" and \"clarify\" "
                                      "must be strings");
        goto out;
    }
    kb->disclaimer = msfaqp_strdup(json_string_value(d));
    kb->clarify_text = msfaqp_strdup(json_string_value(c));
    json_t *fb = json_object_get(root, "fallback");
    static const char *const fb_keys[] = {"text", "follow_ups", NULL};
    if (!json_is_object(fb) || !json_is_string(json_object_get(fb, "text"))) {
        rc = shape(ld, "fallback", "must be an object with \"text\"");
        goto out;
    }
    if ((rc = only_keys(ld, fb, "fallback", fb_keys)))
        goto out;
    kb->fallback_text = msfaqp_strdup(
        json_string_value(json_object_get(fb, "text")));
    if ((rc = string_list(ld, json_object_get(fb, "follow_ups"),
                          "fallback.follow_ups", &kb->fallback_follow_ups,
                          &kb->n_fallback_follow_ups)))
        goto out;

    /* sections: the article's headings, in order; each must be a line of
     * the article, which is what makes a cited section checkable */
    if ((rc = string_list(ld, json_object_get(root, "sections"), "sections",
                          &kb->headings, &kb->n_headings)))
        goto out;
    if (kb->n_headings == 0) {
        rc = shape(ld, "sections", "must list the article's headings");
        goto out;
    }
    for (int i = 0; i < kb->n_headings; i++) {
        if (!article_has_line(kb->article, kb->headings[i])) {
            char at[32];
            snprintf(at, sizeof at, "sections[%d]", i);
            rc = fail(ld, MSFAQ_EREF, -1, at,
                      "\"%.80s\" is not a line of " F_ARTICLE,
                      kb->headings[i]);
            goto out;
        }
    }

    json_t *rs = json_object_get(root, "responses");
    if (!json_is_object(rs) || json_object_size(rs) == 0) {
        rc = shape(ld, "responses", "must be an object keyed by response "
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
        if (!valid_name(key)) {
            rc = shape(ld, where, "an id holds a-z, 0-9 and _ only");
            goto out;
        }
        if (!json_is_object(r)) {
            rc = shape(ld, where, "must be an object");
            goto out;
        }
        if ((rc = only_keys(ld, r, where, rkeys)))
            goto out;
        json_t *title = json_object_get(r, "title");
        json_t *text = json_object_get(r, "text");
        json_t *sec = json_object_get(r, "section");
        if (!json_is_string(title) || !json_is_string(text) ||
            json_string_length(text) == 0) {
            rc = shape(ld, where, "needs \"title\" and non-empty \"text\"");
            goto out;
        }
        if (sec && !json_is_null(sec)) {
            if (!json_is_string(sec)) {
                rc = shape(ld, where, "\"section\" must be a heading or "
                                      "null");
                goto out;
            }
            if (!is_heading(kb, json_string_value(sec))) {
                char at[240];
                snprintf(at, sizeof at, "%s.section", where);
                rc = fail(ld, MSFAQ_EREF, -1, at,
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
        if ((rc = string_list(ld, json_object_get(r, "follow_ups"), w,
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
            rc = fail(ld, MSFAQ_EREF, -1, "responses",
                      "no response \"%.80s\" for intent \"%.80s\"",
                      in->response_id, in->id);
            goto out;
        }
        if ((in->kind == MSFAQ_KIND_ANSWER) != (in->resp->section != NULL)) {
            char at[160];
            snprintf(at, sizeof at, "responses.%s", in->resp->id);
            rc = fail(ld, MSFAQ_ESCHEMA, -1, at,
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

/* ------------------------------------------------------- vocabulary */

static int add_words(msfaqp_wordset *s, msfaqp_wordset *targets,
                     const char *text)
{
    /* lowercase ASCII runs; what normalize.c would make of the text */
    char w[64];
    size_t n = 0;
    for (const char *p = text;; p++) {
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
            if (n < sizeof w - 1)
                w[n++] = ch;
            continue;
        }
        if (ch == '\'' && n)              /* "what's" -> "whats" */
            continue;
        if (n) {
            if (msfaqp_wordset_add(s, w, n))
                return -1;
            if (targets && n >= 5 && msfaqp_wordset_add(targets, w, n))
                return -1;
        }
        n = 0;
        if (!*p)
            return 0;
    }
}

static int build_vocab(msfaq_kb *kb, const msfaqp_wordset *term_words)
{
    for (size_t i = 0; i < term_words->n_words; i++) {
        const char *w = term_words->words[i];
        if (msfaqp_wordset_add(&kb->vocab, w, strlen(w)) ||
            (strlen(w) >= 5 &&
             msfaqp_wordset_add(&kb->targets, w, strlen(w))))
            return -1;
    }
    if (add_words(&kb->vocab, &kb->targets, kb->article))
        return -1;
    for (int i = 0; i < kb->n_rewrites; i++)
        if (add_words(&kb->vocab, NULL, kb->rewrites[i].from) ||
            add_words(&kb->vocab, NULL, kb->rewrites[i].to))
            return -1;
    for (int i = 0; i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        for (int k = 0; k < in->n_examples; k++)
            if (add_words(&kb->vocab, NULL, in->examples[k]))
                return -1;
        for (int k = 0; k < in->n_negatives; k++)
            if (add_words(&kb->vocab, NULL, in->negatives[k]))
                return -1;
    }
    return 0;
}

/* A prefix term that is itself a word ("author*") is a correction target
 * too, unless a longer target starts with it ("acupunctur*" and
 * "acupuncture"), where it would only make ties. */
static int add_stem_targets(msfaq_kb *kb)
{
    /* look only among targets with the stem's first letter */
    if (msfaqp_targets_index(kb))
        return -1;
    size_t before = kb->targets.n_words;
    for (size_t i = 0; i < kb->stems.n_words; i++) {
        const char *st = kb->stems.words[i];
        size_t n = strlen(st);
        unsigned char c = (unsigned char)st[0];
        bool covered = n < 5;
        for (size_t k = kb->first_at[c]; k < kb->first_at[c + 1] && !covered;
             k++)
            covered = strncmp(kb->by_first[k], st, n) == 0;
        if (!covered && msfaqp_wordset_add(&kb->targets, st, n))
            return -1;
    }
    if (kb->targets.n_words == before)
        return 0;
    free(kb->by_first);                       /* index the new ones too */
    free(kb->first_masks);
    kb->by_first = NULL;
    kb->first_masks = NULL;
    return msfaqp_targets_index(kb);
}

static int cmp_rewrite(const void *a, const void *b)
{
    return strcmp(((const msfaqp_rewrite *)a)->from,
                  ((const msfaqp_rewrite *)b)->from);
}

/* -------------------------------------------------------- open/close */

msfaq_kb *msfaq_kb_open(const char *dir, unsigned flags, msfaq_error *err)
{
    if (err)
        memset(err, 0, sizeof *err), err->line = err->column = -1,
                                     err->offset = -1;
    if (flags != 0) {
        msfaqp_error_set(err, MSFAQ_EINVAL, NULL, -1, -1, -1,
                         "flags must be 0");
        return NULL;
    }
    msfaq_error local;
    memset(&local, 0, sizeof local);
    loader ld = {.dir = dir, .err = err ? err : &local};
    msfaqp_wordset term_words = {0};
    msfaq_kb *kb = calloc(1, sizeof *kb);
    if (!kb)
        goto nomem;
    ld.kb = kb;
    pthread_mutex_init(&kb->jit_lock, NULL);
    kb->source = msfaqp_strdup(dir ? dir : "embedded");
    if (!kb->source)
        goto nomem;

    size_t size;
    if (read_file(&ld, F_ARTICLE, &kb->article, &size))
        goto fail;
    if (strlen(kb->article) != size) {
        msfaqp_error_set(ld.err, MSFAQ_ESCHEMA, ld.path, -1, -1, -1,
                         "the article holds a NUL byte");
        goto fail;
    }
    int rc;
    if ((rc = load_concepts(&ld, &term_words)) ||
        (rc = load_intents(&ld)) || (rc = load_answers(&ld))) {
        if (rc == MSFAQ_ENOMEM)
            goto nomem;
        goto fail;
    }
    free(ld.raw);
    ld.raw = NULL;
    qsort(kb->rewrites, (size_t)kb->n_rewrites, sizeof *kb->rewrites,
          cmp_rewrite);
    if (build_vocab(kb, &term_words) || add_stem_targets(kb))
        goto nomem;
    msfaqp_wordset_free(&term_words);

    kb->mctx = pcre2_match_context_create(NULL);
    if (!kb->mctx)
        goto nomem;
    pcre2_set_match_limit(kb->mctx, MSFAQP_MATCH_LIMIT);
    pcre2_set_depth_limit(kb->mctx, MSFAQP_DEPTH_LIMIT);
    return kb;
nomem:
    msfaqp_error_set(ld.err, MSFAQ_ENOMEM, ld.path[0] ? ld.path : NULL, -1,
                     -1, -1, "out of memory");
fail:
    free(ld.raw);
    msfaqp_wordset_free(&term_words);
    msfaq_kb_close(kb);
    return NULL;
}

static void free_strings(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void msfaq_kb_close(msfaq_kb *kb)
{
    if (!kb)
        return;
    for (int i = 0; i < kb->n_concepts; i++) {
        free(kb->concepts[i].name);
        free(kb->concepts[i].source);
        for (int k = 0; k < kb->concepts[i].n_regexes; k++) {
            pcre2_code_free(kb->concepts[i].regexes[k].code);
            free(kb->concepts[i].regexes[k].needle);
        }
        free(kb->concepts[i].regexes);
        free(kb->concepts[i].aliases);
    }
    free(kb->concepts);
    msfaqp_strmap_free(&kb->concept_ids);
    msfaqp_terms_free(kb);
    for (int i = 0; i < kb->n_intents; i++) {
        msfaqp_intent *in = &kb->intents[i];
        free(in->id);
        for (int g = 0; g < in->n_all; g++)
            free(in->all[g].concepts);
        free(in->all);
        free(in->any);
        free(in->none);
        for (int p = 0; p < in->n_patterns; p++) {
            free(in->patterns[p].source);
            free(in->patterns[p].re.needle);
            pcre2_code_free(in->patterns[p].re.code);
        }
        free(in->patterns);
        free_strings(in->examples, in->n_examples);
        free_strings(in->negatives, in->n_negatives);
        free(in->response_id);
    }
    free(kb->intents);
    for (int i = 0; i < kb->n_responses; i++) {
        msfaqp_response *r = &kb->responses[i];
        free(r->id);
        free(r->title);
        free(r->text);
        free(r->section);
        free_strings(r->follow_ups, r->n_follow_ups);
    }
    free(kb->responses);
    for (int i = 0; i < kb->n_rewrites; i++) {
        free(kb->rewrites[i].from);
        free(kb->rewrites[i].to);
    }
    free(kb->rewrites);
    msfaqp_wordset_free(&kb->vocab);
    msfaqp_wordset_free(&kb->targets);
    msfaqp_wordset_free(&kb->stems);
    free(kb->by_first);
    free(kb->first_masks);
    free(kb->disclaimer);
    free(kb->fallback_text);
    free(kb->clarify_text);
    free_strings(kb->fallback_follow_ups, kb->n_fallback_follow_ups);
    free(kb->article);
    free_strings(kb->headings, kb->n_headings);
    pcre2_match_context_free(kb->mctx);
    pthread_mutex_destroy(&kb->jit_lock);
    free(kb->source);
    free(kb);
}

size_t msfaq_kb_intent_count(const msfaq_kb *kb)
{
    return kb ? (size_t)kb->n_intents : 0;
}

const char *msfaq_kb_source(const msfaq_kb *kb)
{
    return kb ? kb->source : NULL;
}
