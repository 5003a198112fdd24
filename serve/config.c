/*
 * config.c - the settings: environment, NAME_FILE, --config FILE.
 *
 * Each setting NAME (MSFAQ_SLACK_SIGNING_SECRET, ...) can be given
 *   - in the environment as NAME=value, or as NAME_FILE=path (a file
 *     holding the value, as container secrets are mounted), not both;
 *   - in the --config file as a NAME=value or NAME_FILE=path line.
 * The environment wins over the file.  An empty value means "not set".
 *
 * Secrets (the signing secret and the two tokens) are refused from a file
 * that group or others may read, whether a NAME_FILE file or a config
 * file holding one.  Error messages name settings and files, never a
 * value: even a line we cannot parse is not quoted, since it may be a
 * pasted token.  serve_config_free() wipes the secrets.
 *
 * The Matrix application service's MSFAQ_MATRIX_HS_TOKEN and _AS_TOKEN
 * (secrets) need each other and MSFAQ_MATRIX_HOMESERVER.
 *
 * MSFAQ_WEB_ORIGINS is a comma-separated list of exact web origins
 * (https://clinic.example, http://localhost:8000), each checked and put in
 * the canonical form browsers send (serve_web_origin_canon()), so a
 * request's Origin header is compared with a plain strcmp and an entry can
 * go into a CSP header as it is.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve.h"

/* Longest value read from a NAME_FILE file, and longest config line. */
#define VALUE_MAX 4096

enum {
    SET_SIGNING_SECRET,
    SET_BOT_TOKEN,
    SET_MATTERMOST_TOKEN,
    SET_API_URL,
    SET_RESPONSE_TYPE,
    SET_BOT_USER_ID,
    SET_WEB_ORIGINS,
    SET_MATRIX_HS_TOKEN,
    SET_MATRIX_AS_TOKEN,
    SET_MATRIX_HOMESERVER,
    SET_MATRIX_AS_STATE,
    SET_MATRIX_AS_ID,
    SET_DEAD_LETTER,
    SET_SPOOL_DIR,
    SET_REDIS_PASSWORD,
    SET_COUNT
};

static const struct setting {
    const char *name;
    bool secret;
} settings[SET_COUNT] = {
    [SET_SIGNING_SECRET] = {"MSFAQ_SLACK_SIGNING_SECRET", true},
    [SET_BOT_TOKEN] = {"MSFAQ_SLACK_BOT_TOKEN", true},
    [SET_MATTERMOST_TOKEN] = {"MSFAQ_MATTERMOST_TOKEN", true},
    [SET_API_URL] = {"MSFAQ_SLACK_API_URL", false},
    [SET_RESPONSE_TYPE] = {"MSFAQ_SLACK_RESPONSE_TYPE", false},
    [SET_BOT_USER_ID] = {"MSFAQ_SLACK_BOT_USER_ID", false},
    [SET_WEB_ORIGINS] = {"MSFAQ_WEB_ORIGINS", false},
    [SET_MATRIX_HS_TOKEN] = {"MSFAQ_MATRIX_HS_TOKEN", true},
    [SET_MATRIX_AS_TOKEN] = {"MSFAQ_MATRIX_AS_TOKEN", true},
    [SET_MATRIX_HOMESERVER] = {"MSFAQ_MATRIX_HOMESERVER", false},
    [SET_MATRIX_AS_STATE] = {"MSFAQ_MATRIX_AS_STATE", false},
    [SET_MATRIX_AS_ID] = {"MSFAQ_MATRIX_AS_ID", false},
    [SET_DEAD_LETTER] = {"MSFAQ_DEAD_LETTER", false},
    [SET_SPOOL_DIR] = {"MSFAQ_SPOOL_DIR", false},
    [SET_REDIS_PASSWORD] = {"MSFAQ_REDIS_PASSWORD", true},
};

/* Most entries in MSFAQ_WEB_ORIGINS. */
#define ORIGINS_MAX 64

#define DEFAULT_API_URL "https://slack.com/api"

static void free_value(char **v)
{
    if (*v) {
        serve_wipe(*v, strlen(*v));
        free(*v);
        *v = NULL;
    }
}

/* Strips trailing white space (the newline an editor adds). */
static void rstrip(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

/* Reads the value of setting s from path.  Returns a malloc'd string, or
 * NULL with err set. */
static char *read_value_file(const struct setting *s, const char *path,
                             char *err, size_t errlen)
{
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s_FILE: %s: %s", s->name, path,
                 strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s_FILE: %s: not a regular file", s->name,
                 path);
        goto fail;
    }
    if (s->secret && (st.st_mode & (S_IRGRP | S_IROTH))) {
        snprintf(err, errlen, "%s_FILE: %s holds a secret but group or "
                 "others may read it (chmod 600 it)", s->name, path);
        goto fail;
    }
    buf = malloc(VALUE_MAX + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    size_t n = 0;
    ssize_t got = 0;
    while (n <= VALUE_MAX &&
           (got = read(fd, buf + n, VALUE_MAX + 1 - n)) > 0)
        n += (size_t)got;
    if (got < 0) {
        snprintf(err, errlen, "%s_FILE: %s: %s", s->name, path,
                 strerror(errno));
        goto fail;
    }
    if (n > VALUE_MAX) {
        snprintf(err, errlen, "%s_FILE: %s: longer than %d bytes", s->name,
                 path, VALUE_MAX);
        goto fail;
    }
    if (memchr(buf, '\0', n)) {
        snprintf(err, errlen, "%s_FILE: %s: not a text file", s->name, path);
        goto fail;
    }
    buf[n] = '\0';
    rstrip(buf);
    if (strchr(buf, '\n')) {
        snprintf(err, errlen, "%s_FILE: %s: the value must be one line",
                 s->name, path);
        goto fail;
    }
    if (!*buf) {
        snprintf(err, errlen, "%s_FILE: %s is empty", s->name, path);
        goto fail;
    }
    close(fd);
    return buf;
fail:
    if (buf) {
        serve_wipe(buf, VALUE_MAX + 1);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* The setting called name, with *is_file set for NAME_FILE; or -1. */
static int lookup(const char *name, bool *is_file)
{
    for (int i = 0; i < SET_COUNT; i++) {
        size_t n = strlen(settings[i].name);
        if (!strncmp(name, settings[i].name, n)) {
            if (!name[n]) {
                *is_file = false;
                return i;
            }
            if (!strcmp(name + n, "_FILE")) {
                *is_file = true;
                return i;
            }
        }
    }
    return -1;
}

/* true when s looks like a setting name, so an error may quote it. */
static bool quotable_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!(isupper((unsigned char)s[n]) || isdigit((unsigned char)s[n]) ||
              s[n] == '_') || n >= 64)
            return false;
    return n > 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    rstrip(s);
    return s;
}

/* A NAME_FILE path in the config file is relative to its folder. */
static char *resolve(const char *config, const char *path)
{
    const char *slash = strrchr(config, '/');
    char *out = NULL;
    if (path[0] == '/' || !slash)
        return strdup(path);
    if (asprintf(&out, "%.*s/%s", (int)(slash - config), config, path) < 0)
        return NULL;
    return out;
}

/* Reads the config file into values[].  Returns 0, or -1 with err set. */
static int read_config(const char *file, char *values[SET_COUNT], char *err,
                       size_t errlen)
{
    int rc = -1;
    bool seen[SET_COUNT] = {false}, has_secret = false;
    char *line = NULL;
    size_t cap = 0;
    FILE *f = fopen(file, "re");
    struct stat st;
    if (!f || fstat(fileno(f), &st) < 0) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        goto done;
    }
    ssize_t len;
    for (int lineno = 1; (len = getline(&line, &cap, f)) >= 0; lineno++) {
        if (len > VALUE_MAX || memchr(line, '\0', (size_t)len)) {
            snprintf(err, errlen, "%s:%d: line too long or not text", file,
                     lineno);
            goto done;
        }
        char *p = trim(line);
        if (!*p || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected NAME=VALUE", file,
                     lineno);
            goto done;
        }
        *eq = '\0';
        char *name = trim(p), *value = trim(eq + 1);
        size_t vn = strlen(value);
        if (vn >= 2 && (value[0] == '"' || value[0] == '\'') &&
            value[vn - 1] == value[0]) {
            value[vn - 1] = '\0';
            value++;
        }
        bool is_file;
        int i = lookup(name, &is_file);
        if (i < 0) {
            snprintf(err, errlen, "%s:%d: unknown setting%s%s", file, lineno,
                     quotable_name(name) ? " " : "",
                     quotable_name(name) ? name : "");
            goto done;
        }
        if (seen[i]) {
            snprintf(err, errlen, "%s:%d: %s is set twice", file, lineno,
                     settings[i].name);
            goto done;
        }
        seen[i] = true;
        if (!*value)
            continue;
        if (is_file) {
            char *path = resolve(file, value);
            values[i] = path ? read_value_file(&settings[i], path, err,
                                               errlen) : NULL;
            if (!path)
                snprintf(err, errlen, "out of memory");
            free(path);
        } else {
            values[i] = strdup(value);
            if (!values[i])
                snprintf(err, errlen, "out of memory");
            has_secret |= settings[i].secret;
        }
        if (!values[i])
            goto done;
    }
    if (has_secret && (st.st_mode & (S_IRGRP | S_IROTH))) {
        snprintf(err, errlen, "%s holds a secret but group or others may "
                 "read it (chmod 600 it)", file);
        goto done;
    }
    rc = 0;
done:
    if (line) {
        serve_wipe(line, cap);
        free(line);
    }
    if (f)
        fclose(f);
    return rc;
}

/* Takes setting i from the environment, if there, over values[i]. */
static int read_env(int i, char *values[SET_COUNT], char *err,
                    size_t errlen)
{
    const struct setting *s = &settings[i];
    char file_name[64];
    snprintf(file_name, sizeof file_name, "%s_FILE", s->name);
    const char *direct = getenv(s->name), *path = getenv(file_name);
    if (direct && !*direct)
        direct = NULL;
    if (path && !*path)
        path = NULL;
    if (direct && path) {
        snprintf(err, errlen, "set %s or %s, not both", s->name, file_name);
        return -1;
    }
    if (!direct && !path)
        return 0;
    char *v = direct ? strdup(direct)
                     : read_value_file(s, path, err, errlen);
    if (!v) {
        if (direct)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    free_value(&values[i]);
    values[i] = v;
    return 0;
}

static void free_origins(char ***list, size_t *count)
{
    for (size_t i = 0; *list && (*list)[i]; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *count = 0;
}

/* Splits MSFAQ_WEB_ORIGINS at commas into cfg->web_origins, each in
 * canonical form.  Empty entries (a final comma) are skipped.  Returns 0,
 * or -1 with err naming the entry by its number. */
static int parse_origins(serve_config *cfg, const char *list, char *err,
                         size_t errlen)
{
    const char *name = settings[SET_WEB_ORIGINS].name;
    char *copy = strdup(list), *save = NULL;
    char **out = calloc(ORIGINS_MAX + 1, sizeof *out);
    size_t n = 0;
    int number = 0;
    if (!copy || !out) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* strtok_r would merge ",,"; counting entries needs each one */
    for (char *p = copy; p; p = save) {
        save = strchr(p, ',');
        if (save)
            *save++ = '\0';
        number++;
        char *entry = trim(p), canon[300];
        if (!*entry)
            continue;
        if (!strcmp(entry, "*")) {
            snprintf(err, errlen, "%s: list the exact origins allowed "
                     "(https://host[:port]); * is not accepted", name);
            goto fail;
        }
        if (!serve_web_origin_canon(entry, canon, sizeof canon)) {
            snprintf(err, errlen, "%s: entry %d is not an origin "
                     "(http:// or https://, a host, an optional port, no "
                     "path)", name, number);
            goto fail;
        }
        if (n == ORIGINS_MAX) {
            snprintf(err, errlen, "%s: more than %d origins", name,
                     ORIGINS_MAX);
            goto fail;
        }
        if (!(out[n++] = strdup(canon))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    free(copy);
    if (!n) {
        free(out);
        return 0;
    }
    cfg->web_origins = out;
    cfg->web_origin_count = n;
    return 0;
fail:
    free(copy);
    free_origins(&out, &n);
    return -1;
}

int serve_config_load(serve_config *cfg, const char *file, char *err,
                      size_t errlen)
{
    char *values[SET_COUNT] = {NULL};
    if (file && read_config(file, values, err, errlen) < 0)
        goto fail;
    for (int i = 0; i < SET_COUNT; i++)
        if (read_env(i, values, err, errlen) < 0)
            goto fail;

    const char *type = values[SET_RESPONSE_TYPE];
    if (type && strcmp(type, "ephemeral") && strcmp(type, "in_channel")) {
        snprintf(err, errlen, "%s must be ephemeral or in_channel",
                 settings[SET_RESPONSE_TYPE].name);
        goto fail;
    }
    cfg->slack_in_channel = type && !strcmp(type, "in_channel");

    char *url = values[SET_API_URL];
    if (!url && !(url = values[SET_API_URL] = strdup(DEFAULT_API_URL))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        snprintf(err, errlen, "%s must start with http:// or https://",
                 settings[SET_API_URL].name);
        goto fail;
    }
    size_t n = strlen(url);
    while (n > 8 && url[n - 1] == '/')
        url[--n] = '\0';

    if (values[SET_WEB_ORIGINS] &&
        parse_origins(cfg, values[SET_WEB_ORIGINS], err, errlen) < 0)
        goto fail;

    /* the Matrix application service needs its two tokens and the
     * homeserver; the homeserver alone (msfaq matrix-bot's setting, maybe
     * in the same environment) does not make one */
    if ((values[SET_MATRIX_HS_TOKEN] || values[SET_MATRIX_AS_TOKEN]) &&
        !(values[SET_MATRIX_HS_TOKEN] && values[SET_MATRIX_AS_TOKEN] &&
          values[SET_MATRIX_HOMESERVER])) {
        snprintf(err, errlen, "%s, %s and %s go together (msfaq "
                 "matrix-registration --serve-config writes them)",
                 settings[SET_MATRIX_HS_TOKEN].name,
                 settings[SET_MATRIX_AS_TOKEN].name,
                 settings[SET_MATRIX_HOMESERVER].name);
        goto fail;
    }
    const char *hs = values[SET_MATRIX_HOMESERVER];
    if (hs && strncmp(hs, "http://", 7) && strncmp(hs, "https://", 8)) {
        snprintf(err, errlen, "%s must start with http:// or https://",
                 settings[SET_MATRIX_HOMESERVER].name);
        goto fail;
    }
    free_value(&values[SET_WEB_ORIGINS]);

    cfg->slack_signing_secret = values[SET_SIGNING_SECRET];
    cfg->slack_bot_token = values[SET_BOT_TOKEN];
    cfg->mattermost_token = values[SET_MATTERMOST_TOKEN];
    cfg->slack_api_url = values[SET_API_URL];
    cfg->slack_bot_user_id = values[SET_BOT_USER_ID];
    if (!values[SET_MATRIX_HS_TOKEN]) {   /* not an application service */
        free_value(&values[SET_MATRIX_HOMESERVER]);
        free_value(&values[SET_MATRIX_AS_ID]);
    }
    cfg->matrix_hs_token = values[SET_MATRIX_HS_TOKEN];
    cfg->matrix_as_token = values[SET_MATRIX_AS_TOKEN];
    cfg->matrix_homeserver = values[SET_MATRIX_HOMESERVER];
    cfg->matrix_as_state = values[SET_MATRIX_AS_STATE];
    cfg->matrix_as_id = values[SET_MATRIX_AS_ID];
    cfg->dead_letter = values[SET_DEAD_LETTER];
    cfg->spool_dir = values[SET_SPOOL_DIR];
    cfg->redis_password = values[SET_REDIS_PASSWORD];
    free_value(&values[SET_RESPONSE_TYPE]);
    return 0;
fail:
    for (int i = 0; i < SET_COUNT; i++)
        free_value(&values[i]);
    return -1;
}

void serve_config_free(serve_config *cfg)
{
    free_value(&cfg->slack_signing_secret);
    free_value(&cfg->slack_bot_token);
    free_value(&cfg->mattermost_token);
    free_value(&cfg->slack_api_url);
    free_value(&cfg->slack_bot_user_id);
    free_value(&cfg->matrix_hs_token);
    free_value(&cfg->matrix_as_token);
    free_value(&cfg->matrix_homeserver);
    free_value(&cfg->matrix_as_state);
    free_value(&cfg->matrix_as_id);
    free_value(&cfg->dead_letter);
    free_value(&cfg->spool_dir);
    free_value(&cfg->redis_password);
    free(cfg->state_url);
    cfg->state_url = NULL;
    free_origins(&cfg->web_origins, &cfg->web_origin_count);
    free(cfg->kb_dir);
    free(cfg->listen);
    cfg->kb_dir = cfg->listen = NULL;
}
