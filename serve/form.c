/*
 * form.c - application/x-www-form-urlencoded bodies (Slack slash
 * commands, Mattermost outgoing webhooks).
 *
 * Our own small decoder rather than libmicrohttpd's post processor: Slack
 * requests must be verified on the raw body first, and then the whole
 * body is already in memory.  Fields are split on '&', names from values
 * on the first '=', '+' means a space and %XX a byte.  A malformed escape
 * makes the whole body malformed, so a client error is reported as one
 * instead of being half-understood.  Values may decode to NUL bytes; the
 * length is kept so callers can refuse them.
 */
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) into a new NUL-terminated string.  Returns NULL when
 * an escape is malformed or memory ran out. */
static char *decode(const char *s, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 1 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *out_len = (size_t)(o - out);
    return out;
}

int serve_form_parse(const char *body, size_t len, serve_form *form)
{
    form->fields = NULL;
    form->count = 0;
    size_t cap = 0;
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {            /* "a&&b": empty fields are skipped */
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            const char *name_end = eq ? eq : stop;
            if (form->count == cap) {
                size_t ncap = cap ? 2 * cap : 16;
                serve_form_field *nf =
                    realloc(form->fields, ncap * sizeof *nf);
                if (!nf)
                    goto fail;
                form->fields = nf;
                cap = ncap;
            }
            serve_form_field *f = &form->fields[form->count];
            size_t name_len;
            f->name = decode(p, (size_t)(name_end - p), &name_len);
            if (!f->name)
                goto fail;
            f->value = eq ? decode(eq + 1, (size_t)(stop - eq - 1), &f->len)
                          : calloc(1, 1);
            if (!eq)
                f->len = 0;
            if (!f->value) {
                free(f->name);
                goto fail;
            }
            form->count++;
            if (name_len == 0 || strlen(f->name) != name_len)
                goto fail;
        }
        p = stop + 1;
    }
    return 0;
fail:
    serve_form_free(form);
    return -1;
}

const char *serve_form_get(const serve_form *form, const char *name,
                           size_t *len)
{
    for (size_t i = 0; i < form->count; i++)
        if (strcmp(form->fields[i].name, name) == 0) {
            if (len)
                *len = form->fields[i].len;
            return form->fields[i].value;
        }
    return NULL;
}

void serve_form_free(serve_form *form)
{
    for (size_t i = 0; i < form->count; i++) {
        free(form->fields[i].name);
        free(form->fields[i].value);
    }
    free(form->fields);
    form->fields = NULL;
    form->count = 0;
}
