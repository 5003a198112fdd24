/*
 * env_secret.c - settings and secrets from the environment (VAR or
 * VAR_FILE); see env_secret.h.  Secrets come only from here, never from
 * the command line, where any user could read them in ps or /proc.
 */
#define _GNU_SOURCE   /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env_secret.h"

#define VALUE_MAX 65536

static void say(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

void msfaq_env_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Reads the value from file (named by fvar).  Messages name the variable
 * and the file, never the content. */
static char *read_file(const char *prog, const char *fvar, const char *file,
                       bool secret)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        say(prog, "%s: cannot open %s: %s", fvar, file, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        say(prog, "%s: %s is not a regular file", fvar, file);
        goto fail;
    }
    if (secret && (st.st_mode & 077)) {
        say(prog, "%s: %s may be read or changed by group or others (mode "
            "%04o); make it private: chmod 600 %s", fvar, file,
            (unsigned)(st.st_mode & 07777), file);
        goto fail;
    }
    if (st.st_size > VALUE_MAX) {
        say(prog, "%s: %s is larger than %d bytes", fvar, file, VALUE_MAX);
        goto fail;
    }
    buf = malloc(VALUE_MAX + 1);
    if (!buf) {
        say(prog, "out of memory");
        goto fail;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, VALUE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            say(prog, "%s: cannot read %s: %s", fvar, file,
                strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > VALUE_MAX) {
            say(prog, "%s: %s is larger than %d bytes", fvar, file,
                VALUE_MAX);
            goto fail;
        }
    }
    close(fd);
    fd = -1;
    buf[len] = '\0';
    /* one trailing line end, as editors and "echo" leave it */
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (strlen(buf) != len) {
        say(prog, "%s: %s holds a NUL byte", fvar, file);
        goto fail;
    }
    return buf;
fail:
    if (buf) {
        explicit_bzero(buf, VALUE_MAX + 1);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

char *msfaq_env_get(const char *prog, const char *var, bool secret,
                    bool required, bool *unset)
{
    char fvar[96];
    snprintf(fvar, sizeof fvar, "%s_FILE", var);
    const char *v = getenv(var), *f = getenv(fvar);
    char *s = NULL;
    if (unset)
        *unset = false;
    if (v && *v && f && *f) {
        say(prog, "both %s and %s are set: keep one", var, fvar);
        return NULL;
    }
    if (v && *v) {
        s = strdup(v);
        if (!s)
            say(prog, "out of memory");
    } else if (f && *f) {
        s = read_file(prog, fvar, f, secret);
    } else {
        if (unset)
            *unset = true;
        if (required)
            say(prog, "%s is not set: set %s, or %s to a file holding it",
                var, var, fvar);
        return NULL;
    }
    if (!s)
        return NULL;
    if (!*s) {
        say(prog, "%s is empty", f && *f ? fvar : var);
        msfaq_env_free(s);
        return NULL;
    }
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F) {
            say(prog, "%s holds a line break or control character (one "
                "line expected)", f && *f ? fvar : var);
            msfaq_env_free(s);
            return NULL;
        }
    return s;
}

/* mkdir -p for the folders of path, mode 0700. */
static void make_parents(const char *path)
{
    char *d = strdup(path);
    if (!d)
        return;
    for (char *p = d + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(d, 0700);
        *p = '/';
    }
    free(d);
}

char *msfaq_env_state_path(const char *var, const char *name)
{
    const char *env = var ? getenv(var) : NULL;
    char *path = NULL;
    if (env && *env) {
        path = strdup(env);
    } else {
        const char *xdg = getenv("XDG_STATE_HOME");
        const char *home = getenv("HOME");
        struct passwd *pw;
        if (!(home && *home) && (pw = getpwuid(getuid())) != NULL)
            home = pw->pw_dir;
        /* the XDG spec ignores a relative XDG_STATE_HOME */
        if (xdg && xdg[0] == '/') {
            if (asprintf(&path, "%s/msfaq/%s", xdg, name) < 0)
                path = NULL;
        } else if (home && *home) {
            if (asprintf(&path, "%s/.local/state/msfaq/%s", home, name) < 0)
                path = NULL;
        }
    }
    if (path)
        make_parents(path);
    return path;
}
