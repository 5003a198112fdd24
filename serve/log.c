/*
 * log.c - the log: one line per event on stderr, UTC time first.
 *
 * The line format is every msfaq program's (cli/program.c): formatted
 * whole and written with one call, so lines from different threads never
 * interleave.  Callers pass no request bodies and
 * no secrets; see docs/serve.md for what a line holds.
 */
#include <stdarg.h>

#include "program.h"
#include "serve.h"

void serve_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    program_log(SERVE_NAME, fmt, ap);
    va_end(ap);
}
