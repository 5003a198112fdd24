/*
 * state.c - where msfaq serve keeps what it accepted: --state.
 *
 * Without --state everything stays in the process and on its disk (the
 * local store, state_local.c), as it always did.  With --state
 * redis://... the Slack event ids and Matrix transaction ids are claimed
 * in Redis, and accepted jobs wait in Redis streams (state_redis.c), so
 * any number of replicas behind a load balancer answer each delivery
 * once, and the jobs a dead replica had taken are finished by another.
 *
 * The URL names the server and a few limits, never a password: one
 * there is refused (it would show in ps and in logs), and taken from
 * MSFAQ_REDIS_PASSWORD instead.  Errors name the place in the URL by its
 * byte offset and never quote it.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

struct serve_state {
    serve_redis *redis;          /* NULL: local */
    serve_metrics *metrics;
    char where[400];
};

/* ------------------------------------------------------------ the URL */

#define DEFAULT_PORT 6379

/* A whole decimal number in [min, max] from s[0..n). */
static bool number(const char *s, size_t n, long min, long max, long *out)
{
    if (n == 0 || n > 18)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int bad(char *err, size_t errlen, size_t at, const char *what)
{
    snprintf(err, errlen, "--state: at byte %zu: %s", at, what);
    return -1;
}

/* The options after '?': name=value pairs separated by '&'.  base is the
 * offset of q in the URL, for messages. */
static int parse_options(const char *q, size_t base, serve_state_url *u,
                         char *err, size_t errlen)
{
    static const struct {
        const char *name;
        long min, max;
        size_t off;                  /* of the long in serve_state_url */
    } opts[] = {
        {"timeout_ms", 10, 60000, offsetof(serve_state_url, timeout_ms)},
        {"claim_ttl_s", 60, 30L * 86400,
         offsetof(serve_state_url, claim_ttl_s)},
        {"claim_after_ms", 1000, 86400000L,
         offsetof(serve_state_url, claim_after_ms)},
        {"max_jobs", 1, 10000000, offsetof(serve_state_url, max_jobs)},
    };
    const char *p = q;
    while (*p) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t at = base + (size_t)(p - q);
        if (!eq)
            return bad(err, errlen, at, "expected NAME=VALUE after '?'");
        size_t nlen = (size_t)(eq - p), vlen = len - nlen - 1;
        long v;
        bool known = false;
        if (nlen == 2 && !strncmp(p, "db", 2)) {
            known = true;
            if (!number(eq + 1, vlen, 0, INT_MAX, &v))
                return bad(err, errlen, at + 3,
                           "db= takes a database number");
            u->db = (int)v;
        }
        for (size_t i = 0; !known && i < sizeof opts / sizeof *opts; i++) {
            if (strlen(opts[i].name) != nlen ||
                strncmp(p, opts[i].name, nlen))
                continue;
            known = true;
            if (!number(eq + 1, vlen, opts[i].min, opts[i].max, &v)) {
                char what[96];
                snprintf(what, sizeof what, "%s takes %ld to %ld",
                         opts[i].name, opts[i].min, opts[i].max);
                return bad(err, errlen, at + nlen + 1, what);
            }
            *(long *)((char *)u + opts[i].off) = v;
        }
        if (!known)
            return bad(err, errlen, at, "unknown option (db, timeout_ms, "
                       "claim_ttl_s, claim_after_ms, max_jobs)");
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

int serve_state_url_parse(const char *url, serve_state_url *u, char *err,
                          size_t errlen)
{
    static const char tcp[] = "redis://", unix_[] = "redis+unix://";
    *u = (serve_state_url){.port = DEFAULT_PORT, .timeout_ms = 1000,
                           .claim_ttl_s = 86400, .claim_after_ms = 30000,
                           .max_jobs = 10000};
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return bad(err, errlen, (size_t)(c - url),
                       "white space or a control character");
    const char *q = strchr(url, '?');
    size_t end = q ? (size_t)(q - url) : strlen(url);
    if (!strncmp(url, unix_, sizeof unix_ - 1)) {
        const char *path = url + sizeof unix_ - 1;
        size_t n = end - (sizeof unix_ - 1);
        if (n == 0 || path[0] != '/')
            return bad(err, errlen, sizeof unix_ - 1,
                       "expected an absolute socket path "
                       "(redis+unix:///run/redis/redis.sock)");
        if (n >= sizeof u->path)
            return bad(err, errlen, sizeof unix_ - 1,
                       "the socket path is too long");
        memcpy(u->path, path, n);
        u->path[n] = '\0';
    } else if (!strncmp(url, tcp, sizeof tcp - 1)) {
        size_t at = sizeof tcp - 1;
        const char *p = url + at, *stop = url + end;
        if (memchr(p, '@', (size_t)(stop - p)))
            return bad(err, errlen, at, "a user or password in the URL: "
                       "give the password as MSFAQ_REDIS_PASSWORD or "
                       "MSFAQ_REDIS_PASSWORD_FILE instead");
        const char *slash = memchr(p, '/', (size_t)(stop - p));
        const char *hend = slash ? slash : stop, *port = NULL;
        if (*p == '[') {
            const char *close = memchr(p, ']', (size_t)(hend - p));
            if (!close)
                return bad(err, errlen, at, "an IPv6 address needs its "
                           "closing ']'");
            if (close + 1 < hend && close[1] != ':')
                return bad(err, errlen, at + (size_t)(close + 1 - p),
                           "expected ':' and a port after ']'");
            if ((size_t)(close - p - 1) >= sizeof u->host)
                return bad(err, errlen, at, "the host is too long");
            memcpy(u->host, p + 1, (size_t)(close - p - 1));
            u->host[close - p - 1] = '\0';
            port = close + 1 < hend ? close + 2 : NULL;
        } else {
            const char *colon = memchr(p, ':', (size_t)(hend - p));
            const char *h = colon ? colon : hend;
            if ((size_t)(h - p) >= sizeof u->host)
                return bad(err, errlen, at, "the host is too long");
            memcpy(u->host, p, (size_t)(h - p));
            u->host[h - p] = '\0';
            port = colon ? colon + 1 : NULL;
        }
        if (!u->host[0])
            snprintf(u->host, sizeof u->host, "127.0.0.1");
        long v;
        if (port && !number(port, (size_t)(hend - port), 1, 65535, &v))
            return bad(err, errlen, (size_t)(port - url),
                       "expected a port number (1 to 65535)");
        if (port)
            u->port = (int)v;
        if (slash && slash + 1 < stop) {
            if (!number(slash + 1, (size_t)(stop - slash - 1), 0, INT_MAX,
                        &v))
                return bad(err, errlen, (size_t)(slash + 1 - url),
                           "expected a database number after '/'");
            u->db = (int)v;
        }
    } else if (!strncmp(url, "rediss://", 9)) {
        return bad(err, errlen, 0, "TLS (rediss://) is not supported by "
                   "the hiredis this was built with: reach Redis over a "
                   "unix socket, a private network or a TLS tunnel");
    } else {
        return bad(err, errlen, 0, "expected redis://HOST[:PORT][/DB] or "
                   "redis+unix:///PATH[?db=N]");
    }
    if (q && parse_options(q + 1, end + 1, u, err, errlen) < 0)
        return -1;
    return 0;
}

/* ----------------------------------------------------------- the state */

serve_state *serve_state_open(const char *url, const char *password,
                              serve_metrics *m, char *err, size_t errlen)
{
    serve_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->metrics = m;
    atomic_store(&m->state_up, 1);
    if (!url) {
        snprintf(st->where, sizeof st->where, "local");
        return st;
    }
    serve_state_url u;
    if (serve_state_url_parse(url, &u, err, errlen) < 0) {
        free(st);
        return NULL;
    }
    if (u.path[0])
        snprintf(st->where, sizeof st->where, "redis unix:%s db %d",
                 u.path, u.db);
    else
        snprintf(st->where, sizeof st->where, "redis %s%s%s:%d db %d",
                 strchr(u.host, ':') ? "[" : "", u.host,
                 strchr(u.host, ':') ? "]" : "", u.port, u.db);
    m->state_shared = true;
    st->redis = serve_redis_open(&u, password, m, err, errlen);
    if (!st->redis) {
        free(st);
        return NULL;
    }
    return st;
}

bool serve_state_shared(const serve_state *st)
{
    return st && st->redis;
}

bool serve_state_up(serve_state *st, char *why, size_t len)
{
    if (!st || !st->redis)
        return true;
    return serve_redis_up(st->redis, why, len);
}

const char *serve_state_where(const serve_state *st)
{
    return st ? st->where : "local";
}

serve_store *serve_state_store(serve_state *st, const serve_queue_config *qc,
                               char *err, size_t errlen)
{
    if (!st->redis)
        return serve_store_local_open(qc, err, errlen);
    return serve_store_redis_open(st->redis, qc, err, errlen);
}

void serve_state_close(serve_state *st)
{
    if (!st)
        return;
    serve_redis_close(st->redis);
    free(st);
}
