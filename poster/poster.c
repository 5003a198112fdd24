/*
 * poster.c - open a poster, send with retries, dead-letter what fails.
 *
 * Decisions:
 * - One libcurl easy handle per poster, set up once in msfaq_post_open()
 *   and reused, so successive posts reuse the connection and TLS session.
 *   A mutex makes sends on one poster take turns (libcurl forbids using a
 *   handle from two threads at once).
 * - curl_global_init() runs once per process through pthread_once; so
 *   does opening libcurl itself (curl_lib.h): a host that never opens a
 *   poster never loads it.
 * - TLS verification is set explicitly on (it is libcurl's default too)
 *   and never switched off; only http and https are enabled, redirects
 *   are not followed (a 3xx is a refusal), proxies follow the usual
 *   environment variables.  CURLOPT_NOSIGNAL is set: hosts with threads
 *   ignore SIGPIPE (msfaq-post does).
 * - Backoff: attempt n waits backoff_ms * 2^(n-1), capped at
 *   backoff_max_ms, with "equal jitter" (half fixed, half random), so
 *   many posters that fail together do not retry together.  A Retry-After
 *   from the server replaces the backoff, capped at retry_after_max_ms.
 * - A target with a per-message URL (Matrix: room and transaction id)
 *   gets it set on the handle for each send, inside the lock; its
 *   transaction id is chosen once per send, so every retry of one message
 *   repeats the same request.
 * - Error text names the target, never the URL; it is built from
 *   libcurl's error buffer and the start of the reply, then redacted
 *   (error.c) in case either echoes the token or the URL.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "curl_lib.h"
#include "post_private.h"

#define REPLY_KEEP (16 * 1024)   /* bytes of a reply kept for checking */
#define MAX_ATTEMPTS_LIMIT 100

/* The members every version of msfaq_post_config / _receipt has. */
#define CONFIG_V1_SIZE \
    (offsetof(msfaq_post_config, flags) + sizeof(unsigned))
#define RECEIPT_V1_SIZE \
    (offsetof(msfaq_post_receipt, channel) + 64)
#define RECEIPT_V11_SIZE \
    (offsetof(msfaq_post_receipt, txn_id) + 256)

struct msfaq_poster {
    pthread_mutex_t lock;
    const msfaqp_post_target *t;
    char *url;                 /* what is posted to */
    char *token;
    char *auth;                /* "Authorization: Bearer ..." */
    char *url_given;           /* the config's URL, for redaction */
    char *url_path;            /* its path and query: the secret part */
    const char *secrets[4];
    size_t n_secrets;
    char *dead_letter;
    long connect_timeout_ms, timeout_ms;
    long backoff_ms, backoff_max_ms, retry_after_max_ms;
    int max_attempts;
    CURL *curl;
    struct curl_slist *headers;
    uint64_t rng;
    char errbuf[CURL_ERROR_SIZE];
    char *reply;               /* REPLY_KEEP + 1 bytes */
    size_t reply_len;
};

/* ------------------------------------------------------- global init */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static const msfaq_curl_lib *curl_lib;  /* libcurl, opened (curl_lib.h) */
static CURLcode init_rc = CURLE_FAILED_INIT;
static char init_why[256];

static void global_init(void)
{
    if (!(curl_lib = msfaq_curl_lib_open(init_why, sizeof init_why)))
        return;
    init_rc = curl_lib->global_init(CURL_GLOBAL_DEFAULT);
    if (init_rc != CURLE_OK)
        snprintf(init_why, sizeof init_why, "libcurl: %s",
                 curl_lib->easy_strerror(init_rc));
}

int msfaq_post_global_init(msfaq_error *err)
{
    msfaqp_post_error_clear(err);
    pthread_once(&init_once, global_init);
    if (init_rc != CURLE_OK) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "%s", init_why);
        return MSFAQ_EINVAL;
    }
    return MSFAQ_OK;
}

void msfaq_post_global_cleanup(void)
{
    if (init_rc == CURLE_OK)
        curl_lib->global_cleanup();
}

/* -------------------------------------------------------------- open */

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void msfaq_post_close(msfaq_poster *p)
{
    if (!p)
        return;
    if (p->curl)
        curl_lib->easy_cleanup(p->curl);
    /* the slist holds a copy of the Authorization header */
    for (struct curl_slist *h = p->headers; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    if (p->headers)
        curl_lib->slist_free_all(p->headers);
    wipe_free(p->url);
    wipe_free(p->token);
    wipe_free(p->auth);
    wipe_free(p->url_given);
    wipe_free(p->url_path);
    free(p->dead_letter);
    free(p->reply);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* 1 when s holds no control character and no space: it goes into an
 * HTTP header or a URL as it is. */
static int header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7F)
            return 0;
    return 1;
}

static int http_url(const char *u)
{
    return strncasecmp(u, "https://", 8) == 0 ||
           strncasecmp(u, "http://", 7) == 0;
}

static size_t on_reply(char *data, size_t size, size_t n, void *ud)
{
    msfaq_poster *p = ud;
    size_t len = size * n;
    size_t room = REPLY_KEEP - p->reply_len;
    size_t take = len < room ? len : room;
    memcpy(p->reply + p->reply_len, data, take);
    p->reply_len += take;
    p->reply[p->reply_len] = '\0';
    return len;   /* the rest is read and dropped */
}

static char *dup_or_null(const char *s, int *ok)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = 0;
    return d;
}

/* Builds p->url from the config (base + path + query). */
static char *make_url(const msfaqp_post_target *t, const char *given)
{
    msfaqp_post_buf b = {NULL, 0, 0, 1};
    size_t n = strlen(given);
    if (t->path)
        while (n > 0 && given[n - 1] == '/')
            n--;
    msfaqp_post_buf_add(&b, given, n);
    if (t->path)
        msfaqp_post_buf_puts(&b, t->path);
    if (t->query) {
        msfaqp_post_buf_puts(&b, strchr(b.s ? b.s : "", '?') ? "&" : "?");
        msfaqp_post_buf_puts(&b, t->query);
    }
    if (!b.ok) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

#define SETOPT(opt, val) \
    (cerr = cerr != CURLE_OK ? cerr : curl_lib->easy_setopt(p->curl, opt, val))

msfaq_poster *msfaq_post_open(const msfaq_post_config *cfg, msfaq_error *err)
{
    msfaq_error local;
    if (!err)
        err = &local;
    msfaqp_post_error_clear(err);
    if (!cfg || cfg->size < CONFIG_V1_SIZE) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "%s", cfg
            ? "config size not set: initialise it with MSFAQ_POST_CONFIG_INIT"
            : "no config given");
        return NULL;
    }
    const msfaqp_post_target *t = msfaqp_post_target_find(cfg->target);
    if (!t) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "unknown target %d",
                          cfg->target);
        return NULL;
    }
    const char *url = cfg->url && *cfg->url ? cfg->url : t->default_url;
    if (!url) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "%s: no %s URL given", t->name,
                          t->id == MSFAQ_POST_MATRIX ? "homeserver"
                                                     : "webhook");
        return NULL;
    }
    /* never quote the URL: it is a secret */
    if (!http_url(url) || !header_safe(url)) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "%s: the URL must start with "
                          "https:// (or http://) and hold no spaces or "
                          "control characters", t->name);
        return NULL;
    }
    if (t->needs_token && (!cfg->token || !*cfg->token)) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "%s: no token given", t->name);
        return NULL;
    }
    if (t->needs_token && !header_safe(cfg->token)) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "%s: the token holds spaces "
                          "or control characters", t->name);
        return NULL;
    }
    if (cfg->connect_timeout_ms < 0 || cfg->timeout_ms < 0 ||
        cfg->max_attempts < 0 || cfg->max_attempts > MAX_ATTEMPTS_LIMIT ||
        cfg->backoff_ms < 0 || cfg->backoff_max_ms < 0 ||
        cfg->retry_after_max_ms < 0) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "%s: a time limit is negative "
                          "or max_attempts is outside 0..%d", t->name,
                          MAX_ATTEMPTS_LIMIT);
        return NULL;
    }
    if (cfg->flags) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "flags must be 0");
        return NULL;
    }
    if (msfaq_post_global_init(err) != MSFAQ_OK)
        return NULL;

    msfaq_poster *p = calloc(1, sizeof *p);
    if (!p) {
        msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->t = t;
    p->connect_timeout_ms = cfg->connect_timeout_ms
        ? cfg->connect_timeout_ms : MSFAQ_POST_DEFAULT_CONNECT_TIMEOUT_MS;
    p->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms
                                    : MSFAQ_POST_DEFAULT_TIMEOUT_MS;
    p->max_attempts = cfg->max_attempts ? cfg->max_attempts
                                        : MSFAQ_POST_DEFAULT_MAX_ATTEMPTS;
    p->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms
                                    : MSFAQ_POST_DEFAULT_BACKOFF_MS;
    p->backoff_max_ms = cfg->backoff_max_ms
        ? cfg->backoff_max_ms : MSFAQ_POST_DEFAULT_BACKOFF_MAX_MS;
    p->retry_after_max_ms = cfg->retry_after_max_ms
        ? cfg->retry_after_max_ms : MSFAQ_POST_DEFAULT_RETRY_AFTER_MAX_MS;
    if (getrandom(&p->rng, sizeof p->rng, GRND_NONBLOCK) != sizeof p->rng)
        p->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
                 (uint64_t)(uintptr_t)p;
    p->rng |= 1;   /* xorshift needs a non-zero state */

    int ok = 1;
    p->url = make_url(t, url);
    ok = p->url != NULL;
    p->dead_letter = dup_or_null(cfg->dead_letter && *cfg->dead_letter
                                     ? cfg->dead_letter : NULL, &ok);
    p->reply = malloc(REPLY_KEEP + 1);
    if (!p->reply)
        ok = 0;
    if (t->needs_token) {
        p->token = dup_or_null(cfg->token, &ok);
        msfaqp_post_buf b = {NULL, 0, 0, 1};
        msfaqp_post_buf_printf(&b, "Authorization: Bearer %s", cfg->token);
        p->auth = b.ok ? b.s : (free(b.s), NULL);
        if (!p->auth)
            ok = 0;
        p->secrets[p->n_secrets++] = p->token;
    }
    if (!t->url_is_base) {
        /* the whole URL, and its path (the part that is the secret;
         * when it is long enough not to be an ordinary word) */
        p->url_given = dup_or_null(url, &ok);
        p->secrets[p->n_secrets++] = p->url_given;
        const char *host = strstr(url, "://");
        const char *path = host ? strchr(host + 3, '/') : NULL;
        if (path && strlen(path) >= 8) {
            p->url_path = dup_or_null(path, &ok);
            p->secrets[p->n_secrets++] = p->url_path;
        }
    }
    if (!ok)
        goto nomem;
    p->headers = curl_lib->slist_append(NULL,
        "Content-Type: application/json; charset=utf-8");
    if (p->headers) {
        /* no "Expect: 100-continue" round trip on larger bodies */
        struct curl_slist *h = curl_lib->slist_append(p->headers, "Expect:");
        p->headers = h ? h : p->headers;
        ok = h != NULL;
        if (ok && p->auth) {
            h = curl_lib->slist_append(p->headers, p->auth);
            p->headers = h ? h : p->headers;
            ok = h != NULL;
        }
    }
    if (!p->headers || !ok)
        goto nomem;
    p->curl = curl_lib->easy_init();
    if (!p->curl)
        goto nomem;

    CURLcode cerr = CURLE_OK;
    SETOPT(CURLOPT_URL, p->url);
    SETOPT(CURLOPT_POST, 1L);
    if (strcmp(t->method, "POST") != 0)   /* the body stays; verb changes */
        SETOPT(CURLOPT_CUSTOMREQUEST, t->method);
    SETOPT(CURLOPT_HTTPHEADER, p->headers);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
    SETOPT(CURLOPT_TIMEOUT_MS, p->timeout_ms);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file && *cfg->ca_file)
        SETOPT(CURLOPT_CAINFO, cfg->ca_file);
    SETOPT(CURLOPT_USERAGENT, cfg->user_agent && *cfg->user_agent
                                  ? cfg->user_agent
                                  : "msfaq-post/" MSFAQ_POST_VERSION_STRING);
    SETOPT(CURLOPT_ERRORBUFFER, p->errbuf);
    SETOPT(CURLOPT_WRITEFUNCTION, on_reply);
    SETOPT(CURLOPT_WRITEDATA, p);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    if (cerr != CURLE_OK) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "%s: libcurl refused an "
                          "option: %s", t->name,
                          curl_lib->easy_strerror(cerr));
        msfaq_post_close(p);
        return NULL;
    }
    return p;
nomem:
    msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory");
    msfaq_post_close(p);
    return NULL;
}

/* -------------------------------------------------------------- send */

static uint64_t next_random(msfaq_poster *p)
{
    /* xorshift64: plenty for spreading retries, not for secrets */
    uint64_t x = p->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p->rng = x;
    return x;
}

/* The wait before attempt n + 1, after attempt n (1-based) failed. */
static long backoff(msfaq_poster *p, int n)
{
    long w = p->backoff_ms;
    for (int i = 1; i < n && w < p->backoff_max_ms; i++)
        w *= 2;
    if (w > p->backoff_max_ms)
        w = p->backoff_max_ms;
    long half = w / 2;
    return half + (long)(next_random(p) % (uint64_t)(w - half + 1));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}, rem;
    while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
        ts = rem;
}

/* libcurl errors that no retry can mend. */
static int curl_permanent(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return 1;
    default:
        return 0;
    }
}

/* One attempt.  Returns the verdict and fills r (and *code, the error
 * code if this were the last attempt). */
static int attempt(msfaq_poster *p, const char *body, size_t len,
                   msfaqp_post_reply *r, int *code)
{
    memset(r, 0, sizeof *r);
    p->reply_len = 0;
    p->reply[0] = '\0';
    p->errbuf[0] = '\0';
    curl_lib->easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
    curl_lib->easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                          (curl_off_t)len);
    CURLcode rc = curl_lib->easy_perform(p->curl);
    /* the body buffer is the caller's: do not leave a pointer to it */
    curl_lib->easy_setopt(p->curl, CURLOPT_POSTFIELDS, "");
    if (rc != CURLE_OK) {
        /* redacted before it is cut short, so no part of a secret stays */
        msfaqp_post_redact(p->errbuf, sizeof p->errbuf, p->secrets,
                           p->n_secrets);
        snprintf(r->detail, sizeof r->detail, "%s",
                 p->errbuf[0] ? p->errbuf : curl_lib->easy_strerror(rc));
        *code = rc == CURLE_OPERATION_TIMEDOUT ? MSFAQ_POST_ETIMEOUT
                                                : MSFAQ_POST_ENETWORK;
        r->verdict = curl_permanent(rc) ? MSFAQP_POST_REFUSED
                                        : MSFAQP_POST_RETRY;
        return r->verdict;
    }
    curl_off_t ra = 0;
    curl_lib->easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (curl_lib->easy_getinfo(p->curl, CURLINFO_RETRY_AFTER, &ra) ==
            CURLE_OK && ra > 0)
        r->retry_after_s = ra > 86400 ? 86400 : (long)ra;
    /* a reply may quote the URL or the token: redact it before anything
     * reads it, so an excerpt cut short cannot keep half a secret */
    char *clean = msfaqp_post_redact_dup(p->reply, p->secrets, p->n_secrets);
    r->body = clean ? clean : "";
    r->len = clean ? strlen(clean) : 0;
    p->t->check(r);
    free(clean);
    r->body = NULL;
    switch (r->verdict) {
    case MSFAQP_POST_DELIVERED: *code = MSFAQ_OK; break;
    case MSFAQP_POST_RETRY: *code = MSFAQ_POST_EUNAVAILABLE; break;
    case MSFAQP_POST_PROTOCOL: *code = MSFAQ_POST_EPROTOCOL; break;
    default: *code = MSFAQ_POST_EREFUSED; break;
    }
    return r->verdict;
}

/* Makes the dead-letter line and appends it.  Returns 0 or -1 with why
 * filled. */
static int dead_letter(msfaq_poster *p, const msfaqp_post_msg *m, json_t *body,
                       int attempts, long status, const char *error,
                       char *why, size_t why_size)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *msg = msfaqp_post_msg_to_json(m);
    json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:s,s:o?,s:O}", "target",
                          p->t->name, "time", when, "attempts", attempts,
                          "http_status", (json_int_t)status, "error", error,
                          "message", msg, "payload", body);
    char *line = o ? json_dumps(o, MSFAQP_POST_JSON_FLAGS) : NULL;
    json_decref(o);
    /* a secret the user typed into the question stays out of the file */
    char *clean = line ? msfaqp_post_redact_dup(line, p->secrets, p->n_secrets)
                       : NULL;
    free(line);
    if (!clean) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    int rc = msfaqp_post_dead_letter_append(p->dead_letter, clean,
                                            strlen(clean), why, why_size);
    free(clean);
    return rc;
}

int msfaq_post_send(msfaq_poster *p, const msfaq_post_message *msg,
                    msfaq_post_receipt *out, msfaq_error *err)
{
    msfaq_error local;
    if (!err)
        err = &local;
    msfaqp_post_error_clear(err);
    if (out && out->size < RECEIPT_V1_SIZE) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "receipt size not set: "
                          "initialise it with MSFAQ_POST_RECEIPT_INIT");
        return MSFAQ_EINVAL;
    }
    bool v11 = out && out->size >= RECEIPT_V11_SIZE;
    if (out) {
        out->attempts = 0;
        out->http_status = 0;
        out->dead_lettered = 0;
        out->ts[0] = out->channel[0] = '\0';
        if (v11)
            out->event_id[0] = out->txn_id[0] = '\0';
    }
    if (!p) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "no poster given");
        return MSFAQ_EINVAL;
    }
    msfaqp_post_msg m;
    if (msfaqp_post_msg_resolve(msg, &m, err))
        return MSFAQ_EINVAL;
    json_t *body = p->t->format(&m, err);
    if (!body)
        return err->code;
    /* one transaction id for every attempt of this message */
    char txn[MSFAQP_POST_TXN_SIZE] = "";
    char *msg_url = NULL;
    if (p->t->message_url) {
        if (m.txn_id)
            snprintf(txn, sizeof txn, "%s", m.txn_id);
        else if (m.reply_to)
            msfaqp_post_matrix_txn_for(m.reply_to, txn);
        else
            msfaqp_post_matrix_txn_new(txn, sizeof txn);
        m.txn_id = txn;   /* for the dead-letter record */
        if (v11)
            snprintf(out->txn_id, sizeof out->txn_id, "%s", txn);
        msg_url = p->t->message_url(p->url, &m, txn, err);
        if (!msg_url) {
            json_decref(body);
            return err->code;
        }
    }
    char *text = json_dumps(body, MSFAQP_POST_JSON_FLAGS);
    if (!text) {
        json_decref(body);
        free(msg_url);
        msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory");
        return MSFAQ_ENOMEM;
    }
    size_t len = strlen(text);

    msfaqp_post_reply r;
    int code = MSFAQ_POST_ENETWORK, n = 0;
    pthread_mutex_lock(&p->lock);
    if (msg_url)   /* libcurl copies it */
        curl_lib->easy_setopt(p->curl, CURLOPT_URL, msg_url);
    for (;;) {
        n++;
        int v = attempt(p, text, len, &r, &code);
        if (v != MSFAQP_POST_RETRY || n >= p->max_attempts)
            break;
        long wait = backoff(p, n);
        if (r.retry_after_ms > 0)
            wait = r.retry_after_ms < p->retry_after_max_ms
                       ? r.retry_after_ms : p->retry_after_max_ms;
        sleep_ms(wait);
    }
    pthread_mutex_unlock(&p->lock);
    free(msg_url);
    if (out) {
        out->attempts = n;
        out->http_status = r.status;
        snprintf(out->ts, sizeof out->ts, "%s", r.ts);
        snprintf(out->channel, sizeof out->channel, "%s", r.channel);
        if (v11)
            snprintf(out->event_id, sizeof out->event_id, "%s", r.event_id);
    }
    free(text);
    if (code == MSFAQ_OK) {
        json_decref(body);
        return MSFAQ_OK;
    }

    char line[256];
    snprintf(line, sizeof line, "%s: %s after %d attempt%s: %s",
             p->t->name, msfaq_post_strerror(code), n, n == 1 ? "" : "s",
             r.detail);
    msfaqp_post_redact(line, sizeof line, p->secrets, p->n_secrets);
    if (p->dead_letter) {
        char why[200];
        if (dead_letter(p, &m, body, n, r.status, line, why, sizeof why) ==
            0) {
            if (out)
                out->dead_lettered = 1;
        } else {
            /* both reasons, the delivery one first */
            size_t k = strlen(line);
            snprintf(line + k, sizeof line - k,
                     "; not saved to the dead-letter file: %s", why);
            msfaqp_post_redact(line, sizeof line, p->secrets, p->n_secrets);
        }
    }
    json_decref(body);
    msfaqp_post_error(err, code, "%s", line);
    return code;
}
