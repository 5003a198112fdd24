/*
 * log.c - the log: one line per event on stderr, UTC time first.
 *
 * Each line is formatted whole and written with one call, so lines from
 * different threads never interleave.  Callers pass no request bodies and
 * no secrets; see docs/serve.md for what a line holds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

#include "serve.h"

void serve_log(const char *fmt, ...)
{
    char line[1024];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03dZ %s: ",
                  (int)(tv.tv_usec / 1000), SERVE_NAME);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    if ((size_t)(n + m) > sizeof line - 2)
        m = (int)(sizeof line - 2) - n;
    n += m;
    line[n++] = '\n';
    /* one write(2): whole lines even when several threads log at once */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
