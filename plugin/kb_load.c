/*
 * kb_load.c - patterns/ + responses/ -> an immutable in-memory KB.
 *
 * Five files make a KB (see docs/kb-format.md), read in this order:
 *   patterns/concepts.json   rewrites, confusions and named concepts
 *                            (terms, regexes, roles)      kb_concepts.c
 *   patterns/safety.json     the safety screen's lexicons and rules
 *                                                          kb_intents.c
 *   patterns/intents.json    settings, the kinds of fact questions ask
 *                            for, and intents               kb_intents.c
 *   responses/answers.json   the reply for every intent, with its section
 *                                                          kb_answers.c
 *   responses/article.txt    the article the answers are checked against
 * They come from a directory or from the copies compiled into the library.
 * This file reads files, checks shapes, builds the vocabulary and owns
 * the KB's life cycle.
 *
 * Everything is validated once, while loading: unknown keys (a typo such
 * as "exmaples" must not silently drop a field), names that refer to
 * nothing, regexes that do not compile, sections that are not headings of
 * the article.  JSON syntax errors carry jansson's line and column; shape
 * errors name the JSON path, as jansson keeps no positions for loaded
 * values.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "kb_load.h"

/* ------------------------------------------------------------ files */

int msfaqp_ld_read(loader *ld, const char *name, char **data, size_t *size)
{
    *data = NULL;
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

json_t *msfaqp_ld_json(loader *ld, const char *name)
{
    char *data;
    size_t size;
    if (msfaqp_ld_read(ld, name, &data, &size))
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
int msfaqp_ld_fail(loader *ld, int code, long offset, const char *where,
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

int msfaqp_ld_shape(loader *ld, const char *where, const char *what)
{
    return msfaqp_ld_fail(ld, MSFAQ_ESCHEMA, -1, where, "%s", what);
}

int msfaqp_ld_keys(loader *ld, json_t *obj, const char *where,
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
            return msfaqp_ld_fail(ld, MSFAQ_ESCHEMA, -1, at, "unknown key");
        }
    }
    return 0;
}

int msfaqp_ld_strings(loader *ld, json_t *v, const char *where,
                      char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return msfaqp_ld_shape(ld, where, "must be an array of strings");
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
            return msfaqp_ld_shape(ld, w, "must be a non-empty string");
        }
        (*out)[i] = msfaqp_strdup(json_string_value(s));
        if (!(*out)[i])
            return MSFAQ_ENOMEM;
        (*n)++;
    }
    return 0;
}

bool msfaqp_ld_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

int msfaqp_ld_code(const loader *ld)
{
    return ld->err && ld->err->code ? ld->err->code : MSFAQ_EJSON;
}

/* ------------------------------------------------------- vocabulary */

/* The words of text (lowercase ASCII runs, as normalize.c makes them) into
 * s, and those of five letters or more into targets when not NULL. */
static int add_words(msfaqp_wordset *s, msfaqp_wordset *targets,
                     const char *text)
{
    char w[MSFAQP_MAX_WORD];
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

/* The words the KB knows: never corrected, stemmed once here.  Typos are
 * corrected to term words and article words only. */
static int build_vocab(msfaq_kb *kb, const msfaqp_wordset *term_words)
{
    for (size_t i = 0; i < term_words->n_words; i++) {
        const char *w = msfaqp_wordset_word(term_words, i);
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
    for (size_t i = 0; i < kb->vocab.n_words; i++)
        if (msfaqp_stem_remember(kb, msfaqp_wordset_word(&kb->vocab, i),
                                 strlen(msfaqp_wordset_word(&kb->vocab, i))))
            return -1;
    return msfaqp_targets_index(kb);
}

static int cmp_rewrite(const void *a, const void *b)
{
    return strcmp(((const msfaqp_rewrite *)a)->from,
                  ((const msfaqp_rewrite *)b)->from);
}

/* -------------------------------------------------------- open/close */

/* A compiled image file, mapped: the KB borrows from the mapping. */
static msfaq_kb *open_image_file(const char *path, msfaq_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        msfaqp_error_set(err, MSFAQ_EIO, path, -1, -1, -1, "cannot open: %s",
                         strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > ((uint64_t)1 << 30)) {
        close(fd);
        msfaqp_error_set(err, MSFAQ_EIMAGE, path, -1, -1, -1,
                         st.st_size <= 0 ? "KB image is empty"
                                         : "KB image larger than 1 GiB");
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        msfaqp_error_set(err, MSFAQ_EIO, path, -1, -1, -1, "cannot map: %s",
                         strerror(errno));
        return NULL;
    }
    msfaq_kb *kb = msfaqp_image_open(map, size, false, path, err);
    if (!kb) {
        munmap(map, size);
        return NULL;
    }
    kb->image_map = map;
    kb->image_map_size = size;
    return kb;
}

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
    /* the built-in KB, and any compiled image, are read without parsing */
    if (!dir)
        return msfaqp_image_open(msfaqp_embedded_image,
                                 msfaqp_embedded_image_size, false,
                                 "embedded", err);
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISREG(st.st_mode))
        return open_image_file(dir, err);
    msfaq_error local;
    memset(&local, 0, sizeof local);
    loader ld = {.dir = dir, .err = err ? err : &local};
    msfaq_kb *kb = calloc(1, sizeof *kb);
    if (!kb)
        goto nomem;
    ld.kb = kb;
    pthread_mutex_init(&kb->jit_lock, NULL);
    if (msfaqp_stems_init(kb) ||
        !(kb->source = msfaqp_strdup(dir)))
        goto nomem;
    /* the KB's words are stemmed as it loads: without the stemmer they
     * would be cached unstemmed for good */
    char why[400];
    if (msfaqp_stemmer_check(why, sizeof why)) {
        msfaqp_error_set(ld.err, MSFAQ_EIO, dir, -1, -1, -1, "%s", why);
        goto fail;
    }

    size_t size;
    if (msfaqp_ld_read(&ld, F_ARTICLE, &kb->article, &size))
        goto fail;
    if (strlen(kb->article) != size) {
        msfaqp_error_set(ld.err, MSFAQ_ESCHEMA, ld.path, -1, -1, -1,
                         "the article holds a NUL byte");
        goto fail;
    }
    int rc;
    if ((rc = msfaqp_load_concepts(&ld)) || (rc = msfaqp_load_safety(&ld)) ||
        (rc = msfaqp_load_intents(&ld)) || (rc = msfaqp_load_answers(&ld))) {
        if (rc == MSFAQ_ENOMEM)
            goto nomem;
        goto fail;
    }
    free(ld.raw);
    ld.raw = NULL;
    qsort(kb->rewrites, (size_t)kb->n_rewrites, sizeof *kb->rewrites,
          cmp_rewrite);
    if (build_vocab(kb, &ld.term_words) || msfaqp_lits_build(&kb->lits) ||
        msfaqp_index_build(kb, true))
        goto nomem;
    msfaqp_wordset_free(&ld.term_words);

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
    msfaqp_wordset_free(&ld.term_words);
    msfaq_kb_close(kb);
    return NULL;
}

static void free_strings(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* What msfaq_kb_close frees of a KB read from its JSON files: every
 * string and array is the loader's own. */
static void free_loaded(msfaq_kb *kb)
{
    for (int i = 0; i < kb->n_concepts; i++) {
        free(kb->concepts[i].name);
        free(kb->concepts[i].source);
        for (int k = 0; k < kb->concepts[i].n_regexes; k++) {
            pcre2_code_free(kb->concepts[i].regexes[k].code);
            free(kb->concepts[i].regexes[k].need);
            free(kb->concepts[i].regexes[k].source);
        }
        free(kb->concepts[i].regexes);
        free(kb->concepts[i].aliases);
        free(kb->concepts[i].unless);
    }
    free(kb->concepts);
    msfaqp_strmap_free(&kb->concept_ids);
    msfaqp_lits_free(&kb->lits);
    msfaqp_index_free(&kb->index);
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
            free(in->patterns[p].re.need);
            free(in->patterns[p].re.source);
            pcre2_code_free(in->patterns[p].re.code);
        }
        free(in->patterns);
        free_strings(in->examples, in->n_examples);
        free_strings(in->negatives, in->n_negatives);
        free(in->response_id);
        free(in->covers);
    }
    free(kb->intents);
    for (int i = 0; i < kb->n_asks; i++) {
        free(kb->asks[i].name);
        free(kb->asks[i].response_id);
    }
    free(kb->asks);
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
    msfaqp_strmap_free(&kb->confusion_of);
    free_strings(kb->confusion_stems, kb->n_confusions);
    msfaqp_wordset_free(&kb->vocab);
    msfaqp_wordset_free(&kb->targets);
    free(kb->by_first);
    free(kb->first_masks);
    free(kb->first_lens);
    msfaqp_stem_cache_free(kb);
    free(kb->disclaimer);
    free(kb->fallback_text);
    free(kb->clarify_text);
    free_strings(kb->fallback_follow_ups, kb->n_fallback_follow_ups);
    free(kb->article);
    free_strings(kb->headings, kb->n_headings);
}

void msfaq_kb_close(msfaq_kb *kb)
{
    if (!kb)
        return;
    if (kb->is_image) {
        msfaqp_image_free(kb);
        if (kb->image_map)
            munmap(kb->image_map, kb->image_map_size);
    } else {
        free_loaded(kb);
    }
    msfaqp_stems_free(kb);
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
