/*
 * repl.c - msfaq-repl, "msfaq repl": ask interactively, with line editing
 * and history (libedit).  A program of its own so that only it loads
 * libedit: "msfaq ask" starts without it.
 *
 * Usage: msfaq-repl [--kb KB]
 * ":why QUESTION" explains a reply; ":quit", ":q" or Ctrl-D leaves.  The
 * history is kept in ~/.msfaq_history.  Exit status: 0, 1 when the KB
 * cannot be opened, 2 for bad usage.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "msfaq.h"
#include "program.h"
#include "reply.h"

#define usage_error(...) \
    program_usage_error("msfaq-repl", "msfaq repl", __VA_ARGS__)

static const char usage_text[] =
    "usage: msfaq-repl [--kb KB]   (or: msfaq [--kb KB] repl)\n"
    "\n"
    "Ask questions about immune therapy for MS interactively, with line\n"
    "editing and history (~/.msfaq_history).  ':why QUESTION' explains a\n"
    "reply; ':quit', ':q' or Ctrl-D leaves.\n"
    "\n"
    "options:\n"
    "  --kb KB       use the knowledge base KB (a folder or a compiled\n"
    "                image) instead of the one built into the library\n"
    "  -h, --help    this help;  -V, --version  the version\n";

static int repl(msfaq_kb *kb)
{
    char hist[1024] = "";
    const char *home = getenv("HOME");
    if (home && snprintf(hist, sizeof hist, "%s/.msfaq_history", home) <
                    (int)sizeof hist)
        read_history(hist);
    else
        hist[0] = '\0';
    bool tty = isatty(STDIN_FILENO);
    if (tty)
        printf("msfaq %s: ask about immune therapy for MS. "
               "':why QUESTION' explains, ':quit' or Ctrl-D leaves.\n",
               msfaq_version());
    char *line;
    while ((line = readline(tty ? "msfaq> " : "")) != NULL) {
        char *q = line;
        while (*q == ' ')
            q++;
        if (strcmp(q, ":quit") == 0 || strcmp(q, ":q") == 0) {
            free(line);
            break;
        }
        if (*q) {
            add_history(q);
            bool why = strncmp(q, ":why ", 5) == 0;
            msfaq_error err;
            if (cli_answer(kb, why ? q + 5 : q, false, why, &err) < 0)
                printf("error: %s\n", err.text);
            printf("\n");
        }
        free(line);
    }
    if (hist[0])
        write_history(hist);
    return 0;
}

int main(int argc, char **argv)
{
    const char *kb_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("msfaq-repl %s\n", msfaq_version());
            return 0;
        } else if (!strcmp(argv[i], "--kb")) {
            if (++i >= argc)
                return usage_error("%s needs a folder or an image", "--kb");
            kb_path = argv[i];
        } else if (!strncmp(argv[i], "--kb=", 5)) {
            kb_path = argv[i] + 5;
        } else {
            return usage_error("repl takes no arguments: unexpected '%s'",
                               argv[i]);
        }
    }
    msfaq_kb *kb = cli_open_kb(kb_path);
    if (!kb)
        return 1;
    int rc = repl(kb);
    msfaq_kb_close(kb);
    return rc;
}
