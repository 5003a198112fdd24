/*
 * text.c - escaping and cutting chat text (UTF-8), and a growing buffer.
 *
 * Chat services count characters, not bytes, and (being JavaScript or
 * Java underneath) mostly in UTF-16 code units; counting those is never
 * shorter than counting code points, so a text that fits here fits there.
 * Cuts fall between whole characters, never inside an escape this file
 * made (an &entity; or a backslash pair), and at a space when one is near,
 * so a truncated message still reads as text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "post_private.h"

/* ------------------------------------------------------------- buffer */

static void buf_grow(msfaqp_post_buf *b, size_t need)
{
    if (!b->ok)
        return;
    if (b->len + need + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + need + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->ok = 0;
            return;
        }
        cap *= 2;
    }
    char *s = realloc(b->s, cap);
    if (!s) {
        b->ok = 0;
        return;
    }
    b->s = s;
    b->cap = cap;
}

void msfaqp_post_buf_add(msfaqp_post_buf *b, const char *s, size_t n)
{
    buf_grow(b, n);
    if (!b->ok)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void msfaqp_post_buf_puts(msfaqp_post_buf *b, const char *s)
{
    msfaqp_post_buf_add(b, s, strlen(s));
}

void msfaqp_post_buf_printf(msfaqp_post_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->ok = 0;
        return;
    }
    buf_grow(b, (size_t)n);
    if (!b->ok)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ----------------------------------------------------------- escaping */

/* Copies s, putting repl[c] in place of each byte c that has one. */
static char *escape(const char *s, const char *(*repl)(unsigned char c))
{
    msfaqp_post_buf b = {NULL, 0, 0, 1};
    msfaqp_post_buf_add(&b, "", 0);
    for (const char *p = s; *p; p++) {
        const char *r = repl((unsigned char)*p);
        if (r)
            msfaqp_post_buf_puts(&b, r);
        else
            msfaqp_post_buf_add(&b, p, 1);
    }
    if (!b.ok) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static const char *slack_repl(unsigned char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    default: return NULL;
    }
}

char *msfaqp_post_slack_escape(const char *s)
{
    return escape(s, slack_repl);
}

/* The characters that style (* _ ~ ` |), link ([ ] < >), quote or head
 * (> #), mention (@ and <@...>) or escape (\) in Discord's and
 * Mattermost's markdown.  CommonMark lets any ASCII punctuation be
 * backslash-escaped, so the escaped text renders as it was written. */
static const char *md_repl(unsigned char c)
{
    static const char pairs[][3] = {
        "\\\\", "\\*", "\\_", "\\~", "\\`", "\\|", "\\[", "\\]", "\\<",
        "\\>", "\\#", "\\@"};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if ((unsigned char)pairs[i][1] == c)
            return pairs[i];
    return NULL;
}

char *msfaqp_post_md_escape(const char *s)
{
    return escape(s, md_repl);
}

const char *msfaqp_post_html_repl(unsigned char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

char *msfaqp_post_html_escape(const char *s)
{
    return escape(s, msfaqp_post_html_repl);
}

/* ------------------------------------------------------------ cutting */

/* Bytes in the UTF-8 sequence that starts with lead (1 for a stray
 * continuation byte, so malformed input still advances). */
static size_t seq_len(unsigned char lead)
{
    if (lead >= 0xF0)
        return 4;
    if (lead >= 0xE0)
        return 3;
    if (lead >= 0xC0)
        return 2;
    return 1;
}

size_t msfaqp_post_units(const char *s, size_t len)
{
    size_t u = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80)
            u += c >= 0xF0 ? 2 : 1;   /* outside the BMP: a surrogate pair */
    }
    return u;
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

size_t msfaqp_post_cut(const char *s, size_t len, size_t max_units)
{
    if (msfaqp_post_units(s, len) <= max_units)
        return len;
    size_t i = 0, u = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t n = seq_len(c), cu = c >= 0xF0 ? 2 : 1;
        if (u + cu > max_units || i + n > len)
            break;
        u += cu;
        i += n;
    }
    size_t cut = i;
    /* a space in the last quarter makes a cleaner end than a cut word */
    for (size_t j = cut; j > 0 && j > cut - cut / 4; j--)
        if (is_space(s[j - 1])) {
            cut = j - 1;
            break;
        }
    /* not inside an escape made by msfaqp_post_slack_escape ("&amp;") */
    for (size_t j = cut; j > 0 && cut - j < 6; j--) {
        if (s[j - 1] == ';')
            break;
        if (s[j - 1] == '&') {
            cut = j - 1;
            break;
        }
    }
    /* not after a lone backslash (it would escape what follows) */
    size_t bs = 0;
    while (bs < cut && s[cut - 1 - bs] == '\\')
        bs++;
    if (bs % 2)
        cut--;
    while (cut > 0 && is_space(s[cut - 1]))
        cut--;
    return cut;
}

char *msfaqp_post_truncate(const char *s, size_t max_units)
{
    static const char ellipsis[] = "\xE2\x80\xA6";   /* U+2026, one unit */
    size_t len = strlen(s);
    size_t keep = msfaqp_post_cut(s, len, max_units);
    int cut = keep < len;
    if (cut && max_units > 0)
        keep = msfaqp_post_cut(s, len, max_units - 1);
    char *out = malloc(keep + (cut ? sizeof ellipsis : 1));
    if (!out)
        return NULL;
    memcpy(out, s, keep);
    if (cut && max_units > 0)
        memcpy(out + keep, ellipsis, sizeof ellipsis);
    else
        out[keep] = '\0';
    return out;
}

char *msfaqp_post_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int msfaqp_post_valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;   /* also stops at the NUL */
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}
