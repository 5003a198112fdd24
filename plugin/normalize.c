/*
 * normalize.c - turn what people type into the words the patterns read.
 *
 * Chat text arrives with mentions (<@U123>, @msfaq:example.org), emoji,
 * curly quotes, CAR-T / CAR T-cell spellings, contractions and typos.  The
 * patterns only ever see lowercase ASCII words separated by single spaces,
 * so a KB author writes "car t cell" once instead of guessing punctuation.
 *
 * Steps, in order: UTF-8 check; mentions dropped; letters lowercased and
 * accents folded; apostrophes joined ("what's" -> "whats"); everything else
 * a word break; KB rewrites ("whats" -> "what is"); typo correction against
 * the KB's own vocabulary (spell.c), never of an English word (words.c);
 * then every word's Snowball stem (stem.c) and, for a word that is often
 * typed for another ("affects" for "effects"), that other word's stem.
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

/* Returns 0 when s[0..len) is valid UTF-8 (no overlongs, no surrogates),
 * else -1 with *bad_at set to the offending byte offset. */
int msfaqp_check_utf8(const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1; min = 0x80; cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2; min = 0x800; cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3; min = 0x10000; cp = c & 0x07;
        } else {
            goto bad;
        }
        if (len - i <= n)
            goto bad;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += n + 1;
    }
    return 0;
bad:
    if (bad_at)
        *bad_at = i;
    return -1;
}

/* Latin-1 supplement letters (U+00C0..U+00FF) folded to ASCII; '\0' means
 * "not a letter", e.g. the multiplication sign. */
static const char latin1_fold[64] =
    "aaaaaaaceeeeiiii" "dnooooo\0ouuuuyts"
    "aaaaaaaceeeeiiii" "dnooooo\0ouuuuyty";

/* Append one word, with a separating space when needed. */
static int put_word(msfaqp_buf *b, const char *w, size_t n)
{
    if (b->len)
        msfaqp_buf_put(b, " ", 1);
    msfaqp_buf_put(b, w, n);
    return b->oom ? -1 : 0;
}

/* msfaqp_buf_put, as 0 or -1 for out of memory */
static int buf_put(msfaqp_buf *b, const char *s, size_t n)
{
    msfaqp_buf_put(b, s, n);
    return b->oom ? -1 : 0;
}

static bool is_mention_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == ':';
}

static bool is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Is the 's after the word that ends out a possessive (or "is" after a
 * noun)?  Not after the words whose 's the rewrites read ("what's" ->
 * "whats" -> "what is"). */
static bool possessive(const msfaqp_buf *out)
{
    static const char *const contracted[] = {
        "it", "that", "what", "who", "how", "where", "when", "there", "here",
        "he", "she", "let", "why", "everyone", "everything", "nothing",
        "something", "somebody", "someone", "nobody", "one",
    };
    size_t end = out->len, start = end;
    while (start > 0 && out->p[start - 1] != ' ')
        start--;
    size_t n = end - start;
    for (size_t k = 0; k < sizeof contracted / sizeof *contracted; k++)
        if (strlen(contracted[k]) == n &&
            memcmp(out->p + start, contracted[k], n) == 0)
            return false;
    return n > 0;
}

/* Pass 1: bytes -> lowercase ASCII words split by single spaces. */
static int fold(const char *q, msfaqp_buf *out)
{
    const unsigned char *p = (const unsigned char *)q;
    bool in_word = false;
    for (size_t i = 0; p[i];) {
        unsigned c = p[i];
        char ch = 0;
        size_t adv = 1;
        bool apostrophe = false;
        if (c == '<' && (p[i + 1] == '@' || p[i + 1] == '!' ||
                         p[i + 1] == '#')) {
            /* Slack <@U123>, <!here>, <#C1|name>: markup, not words */
            size_t j = i + 2;
            while (p[j] && p[j] != '>' && p[j] != ' ' && j - i < 128)
                j++;
            if (p[j] == '>') {
                i = j + 1;
                in_word = false;
                continue;
            }
        }
        if (c == '@' && !in_word && is_mention_char(p[i + 1])) {
            size_t j = i + 1;
            while (is_mention_char(p[j]))
                j++;
            /* "@msfaq:" as an address is a mention; keep the text after */
            i = j;
            continue;
        }
        if (c >= 'A' && c <= 'Z') {
            ch = (char)(c - 'A' + 'a');
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            ch = (char)c;
        } else if (c == '\'' || c == '`') {
            apostrophe = true;
        } else if (c == 0xC3 && p[i + 1] >= 0x80 && p[i + 1] <= 0xBF) {
            ch = latin1_fold[p[i + 1] - 0x80];
            adv = 2;
        } else if (c == 0xE2 && p[i + 1] == 0x80 &&
                   (p[i + 2] == 0x98 || p[i + 2] == 0x99)) {
            apostrophe = true;           /* curly quotes */
            adv = 3;
        } else if (c >= 0x80) {
            /* any other code point (emoji, CJK...) is a word break */
            adv = 1;
            while ((p[i + adv] & 0xC0) == 0x80)
                adv++;
        }
        if (apostrophe) {
            /* joined inside a word ("what's" -> "whats"), else a break;
             * a possessive 's goes ("the ai's name" -> "the ai name") */
            i += adv;
            if (in_word && (p[i] == 's' || p[i] == 'S') &&
                !is_letter(p[i + 1]) && possessive(out)) {
                i++;
                continue;
            }
            if (!(in_word && ((p[i] >= 'a' && p[i] <= 'z') ||
                              (p[i] >= 'A' && p[i] <= 'Z'))))
                in_word = false;
            continue;
        }
        if (ch) {
            if (!in_word && out->len && buf_put(out, " ", 1))
                return -1;
            if (buf_put(out, &ch, 1))
                return -1;
            in_word = true;
        } else {
            in_word = false;
        }
        i += adv;
    }
    return buf_put(out, "", 0);
}

static const msfaqp_rewrite *find_rewrite(const msfaq_kb *kb, const char *w,
                                          size_t n)
{
    int r = msfaqp_strmap_get(&kb->index.rewrite_of, w, n);
    return r >= 0 ? &kb->rewrites[r] : NULL;
}

static bool all_letters(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return false;
    return true;
}

/* Splits norm into tokens and stems each word; a word that is a common
 * slip for another (concepts.json "confusions") also carries that word's
 * stem, which only multi-word terms may use (terms.c). */
static int tokenize(const msfaq_kb *kb, msfaqp_text *t)
{
    msfaqp_buf stems = {0};
    int n = *t->norm ? 1 : 0;            /* words are joined by one space */
    for (const char *p = t->norm; *p; p++)
        n += *p == ' ';
    t->tokens = calloc((size_t)(n ? n : 1), sizeof *t->tokens);
    if (!t->tokens)
        return -1;
    int i = 0;
    for (const char *p = t->norm; *p && i < n; i++) {
        size_t len = strcspn(p, " ");
        msfaqp_token *tok = &t->tokens[i];
        tok->at = (uint32_t)(p - t->norm);
        tok->len = (uint32_t)len;
        char st[MSFAQP_MAX_WORD];
        size_t sn = len < MSFAQP_MAX_WORD
                        ? msfaqp_stem(kb, p, len, st, sizeof st)
                        : 0;
        if (!sn) {                       /* too long to stem: as it is */
            sn = len < sizeof st ? len : sizeof st - 1;
            memcpy(st, p, sn);
        }
        if (stems.len)
            msfaqp_buf_put(&stems, " ", 1);
        tok->stem_at = (uint32_t)stems.len;
        tok->stem_len = (uint32_t)sn;
        msfaqp_buf_put(&stems, st, sn);
        tok->alt = msfaqp_strmap_get(&kb->confusion_of, p, len);
        p += len + (p[len] == ' ');
    }
    t->n_words = i;
    if (buf_put(&stems, "", 0)) {
        free(stems.p);
        return -1;
    }
    t->stems = stems.p;
    return 0;
}

int msfaqp_normalize(const msfaq_kb *kb, const char *q, msfaqp_text *t)
{
    msfaqp_buf folded = {0}, raw = {0}, norm = {0}, fixes = {0};
    memset(t, 0, sizeof *t);
    if (fold(q, &folded))
        goto nomem;

    /* Pass 2: rewrites, then typo correction, word by word. */
    const char *s = folded.p;
    int words = 0;
    while (*s && words < MSFAQP_MAX_TOKENS) {
        const char *e = strchr(s, ' ');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const msfaqp_rewrite *rw = find_rewrite(kb, s, n);
        if (put_word(&raw, s, n))
            goto nomem;
        if (rw) {
            if (put_word(&norm, rw->to, strlen(rw->to)))
                goto nomem;
        } else if (n >= 5 && n < MSFAQP_MAX_WORD && all_letters(s, n) &&
                   !msfaqp_known(kb, s, n)) {
            char split[2 * MSFAQP_MAX_WORD];
            const char *fix = msfaqp_correct(kb, s, n);
            if (!fix && msfaqp_split(kb, s, n, split, sizeof split))
                fix = split;           /* "sideeffects" -> "side effects" */
            if (fix) {
                if (put_word(&norm, fix, strlen(fix)) ||
                    (fixes.len && buf_put(&fixes, "|", 1)) ||
                    buf_put(&fixes, s, n) || buf_put(&fixes, ">", 1) ||
                    buf_put(&fixes, fix, strlen(fix)))
                    goto nomem;
                t->n_corrected++;
            } else if (put_word(&norm, s, n)) {
                goto nomem;
            }
        } else if (put_word(&norm, s, n)) {
            goto nomem;
        }
        words++;
        s = e ? e + 1 : s + n;
    }
    if (buf_put(&norm, "", 0) || buf_put(&raw, "", 0) ||
        buf_put(&fixes, "", 0))
        goto nomem;
    free(folded.p);
    t->norm = norm.p;
    t->len = norm.len;
    t->raw_words = raw.p;
    t->corrections = fixes.p;
    if (tokenize(kb, t)) {
        msfaqp_text_free(t);
        return MSFAQ_ENOMEM;
    }
    return 0;
nomem:
    free(folded.p);
    free(raw.p);
    free(norm.p);
    free(fixes.p);
    return MSFAQ_ENOMEM;
}

void msfaqp_text_free(msfaqp_text *t)
{
    free(t->norm);
    free(t->raw_words);
    free(t->corrections);
    free(t->stems);
    free(t->tokens);
    memset(t, 0, sizeof *t);
}

/* Where the text addressed by a mention of someone in the middle of a
 * message starts ("ok ok stop spamming @bot current strategies?" ->
 * "current strategies?"), or NULL: in a busy room what comes after the
 * last mention is what was said to the mentioned one.  A mention that
 * opens the message, or ends it, changes nothing. */
static const char *after_mention(const char *q)
{
    const unsigned char *p = (const unsigned char *)q;
    const char *after = NULL;
    bool words_before = false, in_word = false;
    for (size_t i = 0; p[i];) {
        size_t end = 0;
        if (p[i] == '<' && (p[i + 1] == '@' || p[i + 1] == '!')) {
            size_t j = i + 2;
            while (p[j] && p[j] != '>' && p[j] != ' ' && j - i < 128)
                j++;
            if (p[j] == '>')
                end = j + 1;
        } else if (p[i] == '@' && !in_word && is_mention_char(p[i + 1])) {
            end = i + 1;
            while (is_mention_char(p[end]))
                end++;
        }
        if (end) {
            if (words_before)
                after = q + end;
            i = end;
            in_word = false;
            continue;
        }
        bool letter = (p[i] >= 'a' && p[i] <= 'z') ||
                      (p[i] >= 'A' && p[i] <= 'Z') ||
                      (p[i] >= '0' && p[i] <= '9');
        words_before = words_before || letter;
        in_word = letter || (in_word && p[i] >= 0x80);
        i++;
    }
    if (!after)
        return NULL;
    for (const unsigned char *c = (const unsigned char *)after; *c; c++)
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            (*c >= '0' && *c <= '9'))
            return after;
    return NULL;                    /* nothing after it: "thanks @bot" */
}

/* The question sentences of q into *f, or NULL when q is one sentence,
 * or all questions, or none.  Sentences end at . ! ? (followed by a space
 * or the end) and at line breaks: context ("my aunt was just diagnosed")
 * must not outweigh what was asked ("what is a DMT?").  -1: no memory. */
static int question_sentences(const char *q, char **f)
{
    size_t len = strlen(q), kept = 0;
    int sentences = 0, questions = 0;
    char *out = malloc(len + 1);
    *f = NULL;
    if (!out)
        return -1;
    const char *start = q;
    for (const char *p = q;; p++) {
        bool end = *p == '\0' || *p == '\n' ||
                   ((*p == '.' || *p == '!' || *p == '?') &&
                    (p[1] == ' ' || p[1] == '\n' || p[1] == '\r' ||
                     p[1] == '\t' || p[1] == '\0'));
        if (!end)
            continue;
        const char *e = *p && *p != '\n' ? p + 1 : p;
        bool words = false;
        for (const char *c = start; c < e && !words; c++)
            words = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9');
        if (words) {
            sentences++;
            if (*p == '?') {
                questions++;
                while (*start == ' ' || *start == '\t' || *start == '\r')
                    start++;
                memcpy(out + kept, start, (size_t)(e - start));
                kept += (size_t)(e - start);
                out[kept++] = ' ';
            }
        }
        if (!*p)
            break;
        start = p + 1;
    }
    if (questions == 0 || questions == sentences) {
        free(out);
        return 0;
    }
    out[kept ? kept - 1 : 0] = '\0';
    *f = out;
    return 0;
}

bool msfaqp_refers_back(const msfaqp_text *t)
{
    static const char *const back[] = {"it", "its", "that", "this", "they",
                                       "them", "their", "these", "those"};
    for (int i = 0; i < t->n_words; i++)
        for (size_t k = 0; k < sizeof back / sizeof back[0]; k++)
            if (t->tokens[i].len == strlen(back[k]) &&
                memcmp(t->norm + t->tokens[i].at, back[k],
                       t->tokens[i].len) == 0)
                return true;
    return false;
}

/* The focus: what follows a mid-message mention, and of that its
 * question sentences. */
int msfaqp_focus(const char *q, char **f)
{
    const char *addressed = after_mention(q);
    if (question_sentences(addressed ? addressed : q, f))
        return MSFAQ_ENOMEM;
    if (!*f && addressed && !(*f = msfaqp_strdup(addressed)))
        return MSFAQ_ENOMEM;
    return 0;
}
