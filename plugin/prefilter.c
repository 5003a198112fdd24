/*
 * prefilter.c - a literal every match of a regex must contain.
 *
 * Most KB patterns read like "\bwhat (can|do) you (do|know)\b": a run of
 * plain text outside any group that any match has to include.  When the
 * question does not contain it, running the regex is pointless; a strstr()
 * says so in a fraction of the time.  The rule is conservative: only runs
 * of lowercase letters, digits and spaces at the top level of a pattern
 * with no top-level alternation count, a character followed by a
 * quantifier is left out, and anything unusual (escapes such as \Q, an
 * uppercase letter under PCRE2_CASELESS) gives no prefilter at all.
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

static bool plain(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ';
}

char *msfaqp_required_literal(const char *re)
{
    const char *best = NULL, *run = NULL;
    size_t best_n = 0;
    int depth = 0;
    for (const char *p = re;; p++) {
        char c = *p;
        bool in_run = depth == 0 && plain(c);
        if (in_run && !run)
            run = p;
        if (!in_run && run) {
            size_t n = (size_t)(p - run);
            /* a quantifier makes the character before it optional */
            if (c == '?' || c == '*' || c == '{')
                n--;
            /* spaces at the ends add nothing: "what " needs only "what" */
            while (n && *run == ' ')
                run++, n--;
            while (n && run[n - 1] == ' ')
                n--;
            if (n > best_n) {
                best = run;
                best_n = n;
            }
            run = NULL;
        }
        if (!c)
            break;
        if (c >= 'A' && c <= 'Z')
            return NULL;             /* caseless: would need folding */
        if (c == '\\') {
            if (p[1] == 'Q' || p[1] == 'E' || !p[1])
                return NULL;
            p++;                     /* \b, \w, \. ... end any run */
        } else if (c == '[') {
            /* a class: skip to its end ("[]...]" and "[^]...]" too) */
            p++;
            if (*p == '^')
                p++;
            if (*p == ']')
                p++;
            while (*p && *p != ']') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (!*p)
                return NULL;
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (--depth < 0)
                return NULL;
        } else if (c == '|' && depth == 0) {
            return NULL;             /* top-level alternatives */
        }
    }
    return best_n >= 3 ? msfaqp_strndup(best, best_n) : NULL;
}
