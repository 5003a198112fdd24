/*
 * web.c - the chat page and its widget: GET /, /chat.css, /chat.js,
 * /widget.js, the OPTIONS preflight of /v1/ask, and which web origins may
 * use them (MSFAQ_WEB_ORIGINS).
 *
 * The files in web/ are compiled in (web_assets.c, made by
 * cmake/embed_web.cmake), so the binary needs nothing beside it and a
 * file's ETag is fixed at build time.  They are sent with
 * Cache-Control: no-cache and a strong ETag: a browser revalidates and
 * gets a 304 with no body, and never runs a stale chat.js after an
 * upgrade.
 *
 * Every one of them carries a strict Content-Security-Policy (built once
 * at start by serve_web_csp()): only our own scripts, styles and
 * connections, no plugins, no <base>, no form submission, and Trusted
 * Types with no policy, so a browser refuses any HTML string written into
 * the DOM: answer text reaches the page through textContent only.
 * frame-ancestors lists MSFAQ_WEB_ORIGINS: the widget (/widget.js, pasted
 * into a site's page) shows the page in an iframe, which a browser allows
 * only on those sites.
 *
 * The same origins get CORS on /v1/ask (http.c adds the headers for an
 * allowed Origin), so their own scripts may call the API; every other
 * origin gets no CORS header at all, and a browser keeps the reply from
 * it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve.h"

const serve_web_file *serve_web_find(const char *path)
{
    for (size_t i = 0; i < serve_web_file_count; i++)
        if (!strcmp(serve_web_files[i].path, path))
            return &serve_web_files[i];
    return NULL;
}

const char *serve_web_allowed_origin(const serve_config *cfg,
                                     const char *origin)
{
    if (!origin || !cfg->web_origins)
        return NULL;
    for (size_t i = 0; i < cfg->web_origin_count; i++)
        if (!strcmp(cfg->web_origins[i], origin))
            return cfg->web_origins[i];
    return NULL;
}

bool serve_web_origin_canon(const char *in, char *out, size_t size)
{
    const char *p;
    bool https;
    if (!strncasecmp(in, "https://", 8)) {
        https = true;
        p = in + 8;
    } else if (!strncasecmp(in, "http://", 7)) {
        https = false;
        p = in + 7;
    } else {
        return false;
    }
    /* the host: a name or IPv4 address, or an IPv6 address in brackets */
    char host[256];
    size_t n = 0;
    if (*p == '[') {
        host[n++] = *p++;
        while (*p && *p != ']' && n < sizeof host - 2) {
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return false;
            host[n++] = (char)tolower((unsigned char)*p++);
        }
        if (*p != ']' || n < 3)
            return false;
        host[n++] = *p++;
    } else {
        while (*p && *p != ':' && *p != '/' && n < sizeof host - 1) {
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
                return false;
            host[n++] = (char)tolower((unsigned char)*p++);
        }
        if (!n || host[0] == '.' || host[0] == '-')
            return false;
    }
    host[n] = '\0';
    /* the port; the scheme's default one is not part of an origin */
    unsigned long port = 0;
    if (*p == ':') {
        p++;
        int digits = 0;
        for (; isdigit((unsigned char)*p) && digits < 6; p++, digits++)
            port = port * 10 + (unsigned long)(*p - '0');
        if (!digits || port < 1 || port > 65535)
            return false;
        if (port == (https ? 443UL : 80UL))
            port = 0;
    }
    if (*p == '/')              /* "https://clinic.example/" as pasted */
        p++;
    if (*p)
        return false;           /* a path, a query, white space, ... */
    int w = port ? snprintf(out, size, "%s://%s:%lu",
                            https ? "https" : "http", host, port)
                 : snprintf(out, size, "%s://%s",
                            https ? "https" : "http", host);
    return w > 0 && (size_t)w < size;
}

char *serve_web_csp(const serve_config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs("default-src 'none'; script-src 'self'; style-src 'self'; "
          "connect-src 'self'; img-src 'self' data:; "
          "base-uri 'none'; form-action 'none'; "
          "require-trusted-types-for 'script'; trusted-types 'none'; "
          "frame-ancestors", f);
    if (!cfg->web_origin_count)
        fputs(" 'none'", f);
    for (size_t i = 0; i < cfg->web_origin_count; i++)
        fprintf(f, " %s", cfg->web_origins[i]);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* true when an If-None-Match header (a list of entity tags, or "*")
 * names etag.  The comparison is the weak one RFC 9110 asks for here: a
 * W/ prefix is ignored. */
static bool etag_matches(const char *header, const char *etag)
{
    size_t n = strlen(etag);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (!strncmp(p, "W/", 2))
            p += 2;
        if (!strncmp(p, etag, n) &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
            return true;
        p = strchr(p, ',');
    }
    return false;
}

void serve_route_web(serve_app *app, const serve_request *rq,
                     serve_reply *rp)
{
    (void)app;
    const serve_web_file *f = serve_web_find(serve_route_path(rq->route));
    if (!f) {
        serve_reply_error(rp, 500, "internal", "the page is missing");
        return;
    }
    rp->web = true;
    rp->etag = f->etag;
    rp->cache_control = "no-cache";
    rp->content_type = f->content_type;
    if (rq->if_none_match && etag_matches(rq->if_none_match, f->etag)) {
        rp->status = 304;
        return;
    }
    rp->status = 200;
    rp->data = f->data;
    rp->len = f->size;
}

void serve_route_preflight(serve_app *app, const serve_request *rq,
                           serve_reply *rp)
{
    (void)app;
    (void)rq;
    rp->status = 204;
    rp->preflight = true;
}
