/*
 * client.c - a small JSON client for the Matrix client-server API.
 *
 * One libcurl easy handle per client, reused, so calls share one
 * connection.  The access token goes only in the Authorization header
 * (never in a URL, so it never reaches a log line); error text is built
 * from libcurl's message or the homeserver's errcode and error, and any
 * copy of the token in it is replaced by "[redacted]".
 *
 * Decisions (see docs/matrix.md):
 * - Always both time limits: connect (5 s) and the whole call, which the
 *   caller sets per call (/sync's long poll needs its timeout + 15 s).
 * - CURLOPT_NOSIGNAL, and an abort callback checked at least once a
 *   second (libcurl's progress callback), so a stop signal ends a 30 s
 *   long poll within a second.
 * - TLS verification stays on; only http and https; no redirects.
 * - 429: retry_after_ms from the body (finer), else Retry-After.  Retrying
 *   is the caller's choice (mx_reply_transient()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_lib.h"
#include "mx.h"

#define REPLY_MAX (64L * 1024 * 1024)   /* a huge initial /sync is fine */

struct mx_client {
    const msfaq_curl_lib *cu;  /* libcurl's functions */
    CURL *curl;
    char *base;                /* homeserver URL without a final '/' */
    char *token;
    struct curl_slist *headers;
    mx_abort_fn abort_fn;
    void *abort_ud;
    char errbuf[CURL_ERROR_SIZE];
    char *buf;                 /* the reply body */
    size_t len, cap;
    bool too_big;
};

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void mx_client_close(mx_client *c)
{
    if (!c)
        return;
    if (c->curl)
        c->cu->easy_cleanup(c->curl);
    for (struct curl_slist *h = c->headers; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    if (c->headers)
        c->cu->slist_free_all(c->headers);
    wipe_free(c->token);
    free(c->base);
    free(c->buf);
    free(c);
}

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
    mx_client *c = ud;
    size_t len = size * n;
    if (c->len + len + 1 > c->cap) {
        if (c->len + len + 1 > (size_t)REPLY_MAX) {
            c->too_big = true;
            return 0;                    /* ends the transfer */
        }
        size_t cap = c->cap ? c->cap : 16384;
        while (cap < c->len + len + 1)
            cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b)
            return 0;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    c->buf[c->len] = '\0';
    return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    mx_client *c = ud;
    (void)dt, (void)dn, (void)ut, (void)un;
    return c->abort_fn && c->abort_fn(c->abort_ud) ? 1 : 0;
}

static bool header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7F)
            return false;
    return true;
}

mx_client *mx_client_open(const mx_client_config *cfg, char *err,
                          size_t errlen)
{
    const char *hs = cfg->homeserver;
    if (!hs || (strncmp(hs, "https://", 8) && strncmp(hs, "http://", 7)) ||
        !header_safe(hs)) {
        snprintf(err, errlen, "the homeserver URL must start with https:// "
                 "(or http://) and hold no spaces");
        return NULL;
    }
    if (!cfg->token || !*cfg->token || !header_safe(cfg->token)) {
        snprintf(err, errlen, "the access token is empty or holds spaces "
                 "or control characters");
        return NULL;
    }
    char why[256];
    const msfaq_curl_lib *cu = msfaq_curl_lib_open(why, sizeof why);
    if (!cu) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    mx_client *c = calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->cu = cu;
    c->abort_fn = cfg->abort_fn;
    c->abort_ud = cfg->abort_ud;
    size_t n = strlen(hs);
    while (n > 8 && hs[n - 1] == '/')
        n--;
    c->base = strndup(hs, n);
    c->token = strdup(cfg->token);
    if (!c->base || !c->token)
        goto nomem;
    char *auth = NULL;
    if (asprintf(&auth, "Authorization: Bearer %s", cfg->token) < 0)
        goto nomem;
    struct curl_slist *h = c->cu->slist_append(NULL, "Content-Type: "
                                             "application/json");
    struct curl_slist *h2 = h ? c->cu->slist_append(h, "Expect:") : NULL;
    struct curl_slist *h3 = h2 ? c->cu->slist_append(h2, auth) : NULL;
    wipe_free(auth);
    c->headers = h3 ? h3 : h2 ? h2 : h;
    if (!h3)
        goto nomem;
    if (!(c->curl = c->cu->easy_init()))
        goto nomem;
    CURLcode e = CURLE_OK;
#define SET(opt, val) \
    (e = e != CURLE_OK ? e : c->cu->easy_setopt(c->curl, opt, val))
    SET(CURLOPT_HTTPHEADER, c->headers);
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000L);
    SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file && *cfg->ca_file)
        SET(CURLOPT_CAINFO, cfg->ca_file);
    SET(CURLOPT_USERAGENT, cfg->user_agent ? cfg->user_agent
                                           : "msfaq-matrix");
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_data);
    SET(CURLOPT_WRITEDATA, c);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, c);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, "");   /* gzip: /sync replies are big */
#undef SET
    if (e != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s",
                 c->cu->easy_strerror(e));
        mx_client_close(c);
        return NULL;
    }
    return c;
nomem:
    snprintf(err, errlen, "out of memory");
    mx_client_close(c);
    return NULL;
}

void mx_reply_clear(mx_reply *r)
{
    json_decref(r->body);
    memset(r, 0, sizeof *r);
}

/* Replaces each copy of secret in text (NUL-terminated, size bytes). */
static void redact(char *text, size_t size, const char *secret)
{
    static const char mark[] = "[redacted]";
    size_t slen = strlen(secret), mlen = sizeof mark - 1;
    char *p;
    while (slen && (p = strstr(text, secret)) != NULL) {
        size_t tail = strlen(p + slen), at = (size_t)(p - text);
        if (at + mlen + 1 > size) {
            *p = '\0';
            break;
        }
        if (at + mlen + tail + 1 > size)
            tail = size - 1 - at - mlen;
        memmove(p + mlen, p + slen, tail);
        memcpy(p, mark, mlen);
        p[mlen + tail] = '\0';
    }
}

/* Printable ASCII copy of s (other bytes as '?'), cut with "...". */
static void printable(char *out, size_t size, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 4 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        out[o++] = ch >= 0x20 && ch < 0x7F ? (char)ch : '?';
    }
    if (s && *s)
        o += (size_t)snprintf(out + o, size - o, "...");
    out[o] = '\0';
}

int mx_call(mx_client *c, const char *method, const char *path,
            json_t *body, long timeout_ms, mx_reply *out)
{
    memset(out, 0, sizeof *out);
    char *url = NULL, *text = NULL;
    if (asprintf(&url, "%s%s", c->base, path) < 0) {
        snprintf(out->error, sizeof out->error, "out of memory");
        return -1;
    }
    bool get = !strcmp(method, "GET");
    if (!get) {
        text = body ? json_dumps(body, JSON_COMPACT) : strdup("{}");
        if (!text) {
            free(url);
            snprintf(out->error, sizeof out->error, "out of memory");
            return -1;
        }
    }
    c->len = 0;
    c->too_big = false;
    c->errbuf[0] = '\0';
    c->cu->easy_setopt(c->curl, CURLOPT_URL, url);
    c->cu->easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (get) {
        c->cu->easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
        c->cu->easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    } else {
        c->cu->easy_setopt(c->curl, CURLOPT_POST, 1L);
        c->cu->easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
        c->cu->easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)strlen(text));
        c->cu->easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
                         strcmp(method, "POST") ? method : NULL);
    }
    CURLcode rc = c->cu->easy_perform(c->curl);
    if (!get)   /* text is freed below: leave no pointer to it */
        c->cu->easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
    free(url);
    free(text);
    if (rc != CURLE_OK) {
        out->aborted = rc == CURLE_ABORTED_BY_CALLBACK;
        if (c->too_big)
            snprintf(out->error, sizeof out->error,
                     "reply larger than %ld bytes", REPLY_MAX);
        else
            snprintf(out->error, sizeof out->error, "%s",
                     c->errbuf[0] ? c->errbuf : c->cu->easy_strerror(rc));
        redact(out->error, sizeof out->error, c->token);
        return -1;
    }
    c->cu->easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
    json_error_t je;
    /* JSON_ALLOW_NUL: one message holding \u0000 must not make a whole
     * /sync reply unreadable (event.c refuses that message alone) */
    json_t *j = c->len ? json_loadb(c->buf, c->len, JSON_ALLOW_NUL, &je)
                       : NULL;
    if (json_is_object(j))
        out->body = j;
    else
        json_decref(j);
    const char *code = json_string_value(json_object_get(out->body,
                                                         "errcode"));
    if (code)
        printable(out->errcode, sizeof out->errcode, code);
    if (out->status == 429) {
        json_t *ms = json_object_get(out->body, "retry_after_ms");
        curl_off_t ra = 0;
        if (json_is_number(ms) && json_number_value(ms) > 0 &&
            json_number_value(ms) < 86400e3)
            out->retry_after_ms = (long)json_number_value(ms);
        else if (c->cu->easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &ra) ==
                     CURLE_OK && ra > 0)
            out->retry_after_ms = (long)(ra > 86400 ? 86400 : ra) * 1000;
    }
    if (out->status >= 200 && out->status < 300) {
        if (!out->body) {
            snprintf(out->error, sizeof out->error,
                     "HTTP %ld: the reply is not a JSON object",
                     out->status);
            return -1;
        }
        return 0;
    }
    char msg[160];
    printable(msg, sizeof msg,
              json_string_value(json_object_get(out->body, "error")));
    snprintf(out->error, sizeof out->error, "HTTP %ld%s%s%s%s", out->status,
             out->errcode[0] ? " " : "", out->errcode, msg[0] ? ": " : "",
             msg);
    redact(out->error, sizeof out->error, c->token);
    return -1;
}

bool mx_reply_transient(const mx_reply *r)
{
    if (r->aborted)
        return false;
    return r->status == 0 || r->status == 429 || r->status >= 500;
}

bool mx_reply_bad_token(const mx_reply *r)
{
    return r->status == 401 || !strcmp(r->errcode, "M_UNKNOWN_TOKEN") ||
           !strcmp(r->errcode, "M_MISSING_TOKEN");
}

char *mx_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
            ch == '_' || ch == '~') {
            *o++ = (char)ch;
        } else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return out;
}

/* path with one escaped segment: prefix + esc(seg) + suffix. */
static char *path_with(const char *prefix, const char *seg,
                       const char *suffix)
{
    char *e = mx_escape(seg), *p = NULL;
    if (e && asprintf(&p, "%s%s%s", prefix, e, suffix) < 0)
        p = NULL;
    free(e);
    return p;
}

int mx_whoami(mx_client *c, char **user_id, mx_reply *r)
{
    *user_id = NULL;
    if (mx_call(c, "GET", "/_matrix/client/v3/account/whoami", NULL, 30000,
                r) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(r->body, "user_id"));
    if (!id || id[0] != '@') {
        snprintf(r->error, sizeof r->error, "whoami: no user_id in the "
                 "reply");
        return -1;
    }
    *user_id = strdup(id);
    if (!*user_id) {
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    return 0;
}

int mx_join(mx_client *c, const char *room_id, mx_reply *r)
{
    char *path = path_with("/_matrix/client/v3/join/", room_id, "");
    if (!path) {
        memset(r, 0, sizeof *r);
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    json_t *body = json_object();
    int rc = mx_call(c, "POST", path, body, 30000, r);
    json_decref(body);
    free(path);
    return rc;
}

int mx_joined_count(mx_client *c, const char *room_id, int *count,
                    mx_reply *r)
{
    char *path = path_with("/_matrix/client/v3/rooms/", room_id,
                           "/joined_members");
    *count = -1;
    if (!path) {
        memset(r, 0, sizeof *r);
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    int rc = mx_call(c, "GET", path, NULL, 30000, r);
    free(path);
    if (rc < 0)
        return rc;
    json_t *joined = json_object_get(r->body, "joined");
    if (!json_is_object(joined)) {
        snprintf(r->error, sizeof r->error, "joined_members: no joined "
                 "object in the reply");
        return -1;
    }
    *count = (int)json_object_size(joined);
    return 0;
}

char *mx_displayname(mx_client *c, const char *user_id)
{
    char *path = path_with("/_matrix/client/v3/profile/", user_id,
                           "/displayname");
    if (!path)
        return NULL;
    mx_reply r;
    char *name = NULL;
    if (mx_call(c, "GET", path, NULL, 30000, &r) == 0) {
        const char *n = json_string_value(json_object_get(r.body,
                                                          "displayname"));
        if (n && *n)
            name = strdup(n);
    }
    mx_reply_clear(&r);
    free(path);
    return name;
}
