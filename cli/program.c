/*
 * program.c - usage errors and log lines shared by the msfaq programs.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "msfaq.h"
#include "msfaq_post.h"   /* the message struct only */
#include "program.h"

int program_usage_error(const char *prog, const char *help, const char *fmt,
                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", help);
    return PROGRAM_EXIT_USAGE;
}

void program_refusal(int code, char *buf, size_t size)
{
    if (code == MSFAQ_ETOOLONG)
        snprintf(buf, size, "Sorry, that question is too long: ask in at "
                 "most %d bytes.", MSFAQ_MAX_QUESTION);
    else if (code == MSFAQ_EUTF8)
        snprintf(buf, size, "Sorry, I could not read that question: it is "
                 "not valid UTF-8.");
    else
        snprintf(buf, size, "Sorry, I could not answer that (%s).",
                 msfaq_strerror(code));
}

void program_refusal_message(struct msfaq_post_message *msg, int code,
                             char *buf, size_t size)
{
    program_refusal(code, buf, size);
    msg->result = NULL;
    msg->kind = MSFAQ_KIND_FALLBACK;
    msg->answer = buf;
}

void program_log(const char *prog, const char *fmt, va_list ap)
{
    char line[1024];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03dZ %s: ",
                  (int)(tv.tv_usec / 1000), prog);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
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
