/*
 * json_pos.c - where a JSON path ("intents[3].patterns[1]") sits in a
 * file's text.
 *
 * jansson keeps no positions for the values it loads, yet a KB author
 * needs file:line:column for "unknown key" or "regex does not compile" as
 * much as for a syntax error.  The loader names every problem by its JSON
 * path; this file walks the raw text along that path (the text already
 * parsed, so it is valid JSON) and returns the byte offset of the value.
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Past the value starting at p (p at its first byte). */
static const char *skip(const char *p)
{
    p = ws(p);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : p;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '"') {
                p = skip(p) - 1;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if ((*p == '}' || *p == ']') && --depth == 0) {
                return p + 1;
            }
        }
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
           *p != '\n' && *p != '\r' && *p != '\t')
        p++;
    return p;
}

/* Does the JSON string at p (at its quote) spell key[0..n)?  Keys in a
 * KB are plain names, so escapes only ever mean "no". */
static bool key_is(const char *p, const char *key, size_t n)
{
    return p[0] == '"' && strncmp(p + 1, key, n) == 0 && p[n + 1] == '"';
}

long msfaqp_json_path_offset(const char *text, const char *path)
{
    const char *p = ws(text);
    const char *c = path;
    while (*c) {
        if (*c == '.')
            c++;
        if (*c == '[') {
            long want = strtol(c + 1, (char **)&c, 10);
            if (*c++ != ']' || *p != '[')
                return -1;
            p = ws(p + 1);
            for (long i = 0; i < want; i++) {
                p = ws(skip(p));
                if (*p != ',')
                    return -1;
                p = ws(p + 1);
            }
            if (*p == ']')
                return -1;
            continue;
        }
        size_t n = strcspn(c, ".[");
        if (*p != '{')
            return -1;
        p = ws(p + 1);
        while (*p == '"' && !key_is(p, c, n)) {
            p = ws(skip(p));                 /* the key */
            if (*p != ':')
                return -1;
            p = ws(skip(p + 1));             /* the value */
            if (*p != ',')
                return -1;
            p = ws(p + 1);
        }
        if (*p != '"')
            return -1;
        p = ws(skip(p));
        if (*p != ':')
            return -1;
        p = ws(p + 1);
        c += n;
    }
    return (long)(p - text);
}
