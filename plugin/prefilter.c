/*
 * prefilter.c - what text every match of a regex must contain.
 *
 * A KB regex such as "\b(?:should|can) (?:i|he|she) (?:stop|skip)\b" can
 * only match a question that holds "should" or "can", and "stop" or
 * "skip".  msfaqp_need_of() reads a regex and writes that down as clauses:
 * each clause is a set of literal strings of which the text must contain
 * at least one, and a match needs every clause.  literals.c then finds, in
 * one pass over a question, which literals it holds, and a regex with an
 * unmet clause is never run.  That is what keeps a question's cost to the
 * few patterns its words allow, whatever the size of the KB.
 *
 * The reading is conservative: anything it does not follow adds no
 * clause, never a wrong one.  Literals are runs of a-z, 0-9 and space (the
 * only bytes a normalised question holds); an optional item (?, *, {0,n})
 * or a negative lookaround adds nothing; a positive lookahead adds what it
 * needs; an alternation adds one clause, the union of one clause from each
 * branch (none when a branch needs nothing).  \Q...\E, inline options and
 * uppercase letters (the patterns are caseless) make it give up on the
 * part they are in.  Literals shorter than two letters are dropped: nearly
 * every question holds "i".
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

#define MAX_STRINGS 512      /* per clause; more and the clause is dropped */
#define MAX_CLAUSES 16       /* per regex */
#define MIN_LITERAL 2

typedef struct clause {      /* one of strings[] must be in the text */
    char **s;
    int n;
} clause;

typedef struct cnf {         /* every clause must hold */
    clause c[MAX_CLAUSES];
    int n;
    bool oom;
} cnf;

typedef struct parser {
    const char *p;
    bool oom;
} parser;

static void clause_free(clause *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->s[i]);
    free(c->s);
    c->s = NULL;
    c->n = 0;
}

static void cnf_free(cnf *f)
{
    for (int i = 0; i < f->n; i++)
        clause_free(&f->c[i]);
    f->n = 0;
}

/* The shortest string of a clause: the most a clause can promise. */
static size_t clause_min(const clause *c)
{
    size_t m = (size_t)-1;
    for (int i = 0; i < c->n; i++) {
        size_t n = strlen(c->s[i]);
        if (n < m)
            m = n;
    }
    return m;
}

/* Is a better filter than b: longer shortest string, then fewer strings. */
static bool better(const clause *a, const clause *b)
{
    size_t ma = clause_min(a), mb = clause_min(b);
    return ma != mb ? ma > mb : a->n < b->n;
}

/* Adds c to f (taking it over), keeping the MAX_CLAUSES best. */
static void cnf_add(cnf *f, clause *c)
{
    if (c->n == 0 || clause_min(c) < MIN_LITERAL) {
        clause_free(c);
        return;
    }
    if (f->n < MAX_CLAUSES) {
        f->c[f->n++] = *c;
        c->s = NULL, c->n = 0;
        return;
    }
    int worst = 0;
    for (int i = 1; i < f->n; i++)
        if (better(&f->c[worst], &f->c[i]))
            worst = i;
    if (better(c, &f->c[worst])) {
        clause_free(&f->c[worst]);
        f->c[worst] = *c;
        c->s = NULL, c->n = 0;
    } else {
        clause_free(c);
    }
}

/* Adds s[0..n) to c (a string twice is harmless: literals.c keeps one). */
static bool clause_push(clause *c, const char *s, size_t n)
{
    if (c->n >= MAX_STRINGS)
        return false;
    char **v = realloc(c->s, (size_t)(c->n + 1) * sizeof *v);
    if (!v)
        return false;
    c->s = v;
    if (!(v[c->n] = msfaqp_strndup(s, n)))
        return false;
    c->n++;
    return true;
}

/* A run of literal text ends: it is a clause of its own. */
static void flush(parser *ps, cnf *f, msfaqp_buf *run)
{
    size_t at = 0, n = run->len;
    while (at < n && run->p[at] == ' ')
        at++;
    while (n > at && run->p[n - 1] == ' ')
        n--;
    if (n - at >= MIN_LITERAL) {
        clause c = {0};
        if (!clause_push(&c, run->p + at, n - at))
            ps->oom = true;
        cnf_add(f, &c);
    }
    run->len = 0;
}

static bool literal_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ';
}

/* Skips a quantifier at ps->p; says whether it makes the item optional. */
static bool quantifier(parser *ps, bool *optional)
{
    const char *p = ps->p;
    *optional = false;
    if (*p == '?' || *p == '*') {
        *optional = true;
        p++;
    } else if (*p == '+') {
        p++;
    } else if (*p == '{' && p[1] >= '0' && p[1] <= '9') {
        const char *q = p + 1;
        long lo = strtol(q, (char **)&q, 10);
        while (*q && *q != '}')
            q++;
        if (*q != '}')
            return false;          /* "{" as a literal: not a quantifier */
        *optional = lo == 0;
        p = q + 1;
    } else {
        return false;
    }
    if (*p == '?' || *p == '+')    /* lazy or possessive */
        p++;
    ps->p = p;
    return true;
}

static void parse_alt(parser *ps, cnf *out);

/* One branch: a sequence of items up to "|", ")" or the end. */
static void parse_seq(parser *ps, cnf *f)
{
    msfaqp_buf run = {0};
    while (*ps->p && *ps->p != '|' && *ps->p != ')') {
        char c = *ps->p;
        bool opt;
        if (literal_char(c)) {
            ps->p++;
            if (quantifier(ps, &opt)) {
                /* "s?" : the run ends before it; "s+" : after it */
                if (!opt)
                    msfaqp_buf_put(&run, &c, 1);
                flush(ps, f, &run);
            } else {
                msfaqp_buf_put(&run, &c, 1);
            }
            continue;
        }
        flush(ps, f, &run);
        if (c == '\\') {
            char e = ps->p[1];
            if (!e || e == 'Q' || e == 'E') {
                cnf_free(f);           /* give up on the rest: no clauses */
                while (*ps->p)
                    ps->p++;
                break;
            }
            ps->p += 2;
            quantifier(ps, &opt);
        } else if (c == '[') {
            const char *p = ps->p + 1;
            if (*p == '^')
                p++;
            if (*p == ']')
                p++;
            while (*p && *p != ']') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            ps->p = *p ? p + 1 : p;
            quantifier(ps, &opt);
        } else if (c == '(') {
            const char *p = ps->p + 1;
            bool keep = true;       /* its needs hold for the match */
            if (*p == '?') {
                if (p[1] == ':' || p[1] == '=') {
                    p += 2;
                } else if (p[1] == '!' || (p[1] == '<' && (p[2] == '=' ||
                                                           p[2] == '!'))) {
                    keep = false;   /* lookbehinds and negative looks */
                    p += p[1] == '!' ? 2 : 3;
                } else {
                    /* inline options, named groups, conditions...: not
                     * ours to follow; its needs are not counted */
                    keep = false;
                    while (*p && *p != ':' && *p != ')')
                        p++;
                    if (*p == ':')
                        p++;
                }
            }
            ps->p = p;
            cnf inner = {0};
            parse_alt(ps, &inner);
            if (*ps->p == ')')
                ps->p++;
            if (quantifier(ps, &opt) && opt)
                keep = false;
            if (keep) {
                for (int i = 0; i < inner.n; i++)
                    cnf_add(f, &inner.c[i]);
                inner.n = 0;
            }
            cnf_free(&inner);
            ps->oom = ps->oom || inner.oom;
        } else {
            /* ".", "^", "$", punctuation no question holds, a stray
             * quantifier: no literal */
            ps->p++;
            quantifier(ps, &opt);
        }
    }
    flush(ps, f, &run);
    ps->oom = ps->oom || run.oom;
    free(run.p);
}

/* Alternatives: each must give a clause; their union is the one clause. */
static void parse_alt(parser *ps, cnf *out)
{
    cnf first = {0};
    parse_seq(ps, &first);
    if (*ps->p != '|') {
        *out = first;
        return;
    }
    clause u = {0};
    bool all = true;
    cnf *b = &first;
    cnf next = {0};
    for (;;) {
        int best = -1;
        for (int i = 0; i < b->n; i++)
            if (best < 0 || better(&b->c[i], &b->c[best]))
                best = i;
        if (best < 0)
            all = false;
        for (int i = 0; all && i < b->c[best].n; i++)
            if (!clause_push(&u, b->c[best].s[i], strlen(b->c[best].s[i])))
                all = false;      /* too many strings: no clause */
        cnf_free(b);
        if (*ps->p != '|')
            break;
        ps->p++;
        b = &next;
        parse_seq(ps, b);
    }
    if (all)
        cnf_add(out, &u);
    clause_free(&u);
}

int msfaqp_need_of(const char *regex, msfaqp_need_fn add, void *ud)
{
    parser ps = {.p = regex};
    cnf f = {0};
    parse_alt(&ps, &f);
    /* a ")" with no "(" before it: stop, with what was read so far */
    int rc = ps.oom ? -1 : 0;
    for (int i = 0; i < f.n && !rc; i++)
        rc = add(ud, i, (const char *const *)f.c[i].s, f.c[i].n);
    cnf_free(&f);
    return rc;
}
