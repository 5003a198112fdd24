/*
 * msfaq.c - the msfaq command: ask, explain, lint, compile; repl and the
 * chat adapters are programs of their own (msfaq-repl, msfaq-post, ...).
 *
 * Uses only the public header, as any other host would.  Exit status:
 * 0 success (any reply kind), 1 the KB could not be opened or lint found
 * problems, 2 bad usage or bad input (empty, not UTF-8, too long).
 *
 * In the reading-from-stdin mode every input line gets exactly one output
 * line, in order, whatever it holds, so a caller can pair outputs with
 * inputs; a line the library refuses gets a JSON error object (or, for a
 * person, an "error:" line) in its place.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msfaq.h"
#include "program.h"
#include "reply.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: msfaq [--kb KB] COMMAND [OPTIONS] [QUESTION]\n"
    "\n"
    "Answers questions about immune therapy for multiple sclerosis from the\n"
    "article \"Immune Therapy Options for MS Management\".  General\n"
    "information, not medical advice.\n"
    "\n"
    "commands:\n"
    "  ask [--json] [QUESTION]   answer QUESTION, or each line of stdin\n"
    "  explain [--json] QUESTION show why: words, corrections, concepts,\n"
    "                            patterns, top intents and the margin\n"
    "  lint [KB]                 check a knowledge base (default: the one\n"
    "                            built in); exit 1 when it is not clean\n"
    "  compile KB OUT            write KB as a compiled image OUT, which\n"
    "                            --kb OUT then opens without parsing\n"
    "  repl                      ask interactively (line editing, history)\n"
    "  post, serve, ...          chat adapters, run as msfaq-post,\n"
    "                            msfaq-serve, ... ('msfaq post --help')\n"
    "\n"
    "options:\n"
    "  --kb KB       use the knowledge base KB instead of the one built\n"
    "                into the library: a folder (patterns/, responses/)\n"
    "                or a compiled image ('msfaq compile')\n"
    "  --json        one JSON object a line: kind, intent, confidence,\n"
    "                section, answer, follow_ups\n"
    "  -h, --help    this help;  -V, --version  the version\n";

#define usage_error(...) \
    program_usage_error("msfaq", "msfaq", __VA_ARGS__)

static void print_json_error(const msfaq_error *e, long lineno)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s}", "kind", "error",
                          "error", msfaq_strerror(e->code), "message",
                          e->text, "line", (json_int_t)lineno, "answer", "");
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    printf("%s\n", s ? s : "{\"kind\":\"error\"}");
    free(s);
    json_decref(o);
}

/* Reads one line of at most MSFAQ_MAX_QUESTION bytes into buf (which
 * holds MSFAQ_MAX_QUESTION + 2); the rest of a longer line is skipped and
 * *too_long set.  A NUL byte sets *has_nul.  Returns false at end of
 * input with nothing read. */
static bool read_line(FILE *in, char *buf, bool *too_long, bool *has_nul)
{
    size_t n = 0;
    int c;
    bool any = false;
    *too_long = *has_nul = false;
    while ((c = getc(in)) != EOF) {
        any = true;
        if (c == '\n')
            break;
        if (c == '\0')
            *has_nul = true;
        if (n <= MSFAQ_MAX_QUESTION)
            buf[n++] = (char)c;
        else
            *too_long = true;
    }
    if (n > MSFAQ_MAX_QUESTION)
        *too_long = true;
    if (n && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return any;
}

static int ask_stdin(msfaq_kb *kb, bool json)
{
    static char buf[MSFAQ_MAX_QUESTION + 2];
    bool too_long, has_nul;
    long lineno = 0;
    while (read_line(stdin, buf, &too_long, &has_nul)) {
        msfaq_error err = {0};
        lineno++;
        int rc = 0;
        if (too_long) {
            err.code = rc = MSFAQ_ETOOLONG;
            snprintf(err.text, sizeof err.text,
                     "line is longer than %d bytes", MSFAQ_MAX_QUESTION);
        } else if (has_nul) {
            err.code = rc = MSFAQ_EUTF8;
            snprintf(err.text, sizeof err.text, "line holds a NUL byte");
        } else {
            rc = cli_answer(kb, buf, json, false, &err);
        }
        if (rc < 0) {
            if (json)
                print_json_error(&err, lineno);
            else
                printf("error: line %ld: %s\n", lineno, err.text);
        } else if (!json) {
            printf("\n");
        }
        fflush(stdout);
    }
    if (ferror(stdin)) {
        fprintf(stderr, "msfaq: reading standard input: %s\n",
                strerror(errno));
        return 1;
    }
    return 0;
}

/* Checks a question given on the command line. */
static int check_question(const char *q)
{
    const char *p = q;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p) {
        fprintf(stderr, "msfaq: empty question\n");
        return EXIT_USAGE;
    }
    return 0;
}

static int cmd_ask(msfaq_kb *kb, int argc, char **argv, bool why)
{
    bool json = false;
    const char *q = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && !q) {
            q = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("unknown option '%s'", argv[i]);
        } else if (!q) {
            q = argv[i];
        } else {
            return usage_error("give the question as one argument (quote "
                               "it): unexpected '%s'", argv[i]);
        }
    }
    if (!q && why)
        return usage_error("%s needs a QUESTION", "explain");
    if (!q)
        return ask_stdin(kb, json);
    int rc = check_question(q);
    if (rc)
        return rc;
    msfaq_error err;
    if (cli_answer(kb, q, json, why, &err) < 0) {
        fprintf(stderr, "msfaq: %s\n", err.text);
        return err.code == MSFAQ_ENOMEM ? 1 : EXIT_USAGE;
    }
    return 0;
}

/* ------------------------------------------------------------- lint */

static void lint_finding(void *ud, const char *file, const char *where,
                         const char *text)
{
    const char *dir = ud;
    fprintf(stdout, "%s/%s: %s: %s\n", dir, file, where, text);
}

static int cmd_lint(const char *kb_dir, int argc, char **argv)
{
    const char *dir = kb_dir;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-')
            return usage_error("unknown option '%s'", argv[i]);
        if (dir && dir != kb_dir)
            return usage_error("lint takes one DIR: unexpected '%s'",
                               argv[i]);
        dir = argv[i];
    }
    msfaq_kb *kb = cli_open_kb(dir);
    if (!kb)
        return 1;
    int n = msfaq_kb_lint(kb, lint_finding, (void *)(dir ? dir : "embedded"));
    if (n < 0)
        fprintf(stderr, "msfaq: lint: %s\n", msfaq_strerror(n));
    else if (n == 0)
        printf("%s: clean (%zu intents)\n", dir ? dir : "embedded",
               msfaq_kb_intent_count(kb));
    else
        printf("%s: %d finding%s\n", dir ? dir : "embedded", n,
               n == 1 ? "" : "s");
    msfaq_kb_close(kb);
    return n == 0 ? 0 : 1;
}

/* ---------------------------------------------------------- compile */

static int cmd_compile(const char *kb_dir, int argc, char **argv)
{
    const char *args[2] = {NULL, NULL};
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return usage_error("unknown option '%s'", argv[i]);
        if (n == 2)
            return usage_error("compile takes KB and OUT: unexpected '%s'",
                               argv[i]);
        args[n++] = argv[i];
    }
    if (n == 1 && kb_dir) {             /* msfaq --kb DIR compile OUT */
        args[1] = args[0];
        args[0] = kb_dir;
        n = 2;
    }
    if (n != 2)
        return usage_error("%s", "compile needs a KB (a folder or an image) "
                                 "and an OUT file");
    msfaq_kb *kb = cli_open_kb(args[0]);
    if (!kb)
        return 1;
    msfaq_error err;
    int rc = msfaq_kb_save(kb, args[1], &err);
    msfaq_kb_close(kb);
    if (rc) {
        cli_print_kb_error(&err);
        return 1;
    }
    printf("%s: compiled %s\n", args[1], args[0]);
    return 0;
}

/* ------------------------------------------------------ subcommands */

/* "msfaq post ..." runs msfaq-post from the directory msfaq lives in, or
 * from PATH, the way git runs git-<command>.  The chat adapters link
 * libcurl and libmicrohttpd, and the interactive prompt libedit; keeping
 * them in their own programs keeps those libraries' load time off every
 * "msfaq ask". */
static int run_external(const char *cmd, char **argv)
{
    char name[64], path[4096];
    for (const char *c = cmd; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || *c == '-'))
            return usage_error("unknown command '%s'", cmd);
    snprintf(name, sizeof name, "msfaq-%s", cmd);
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n > 0) {
        path[n] = '\0';
        char *slash = strrchr(path, '/');
        if (slash && (size_t)(slash - path) + strlen(name) + 2 < sizeof path) {
            strcpy(slash + 1, name);
            if (access(path, X_OK) == 0) {
                argv[0] = path;
                execv(path, argv);
            }
        }
    }
    argv[0] = name;
    execvp(name, argv);
    return usage_error("unknown command '%s' (no %s program found)", cmd,
                       name);
}

/* ------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    const char *kb_dir = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("msfaq %s\n", msfaq_version());
            return 0;
        } else if (!strcmp(argv[i], "--kb")) {
            if (++i >= argc)
                return usage_error("%s needs a folder or an image", "--kb");
            kb_dir = argv[i];
        } else if (!strncmp(argv[i], "--kb=", 5)) {
            kb_dir = argv[i] + 5;
        } else {
            return usage_error("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc)
        return usage_error("%s", "no command given (ask, explain, lint, "
                                 "compile, repl)");
    const char *cmd = argv[i++];
    bool core = !strcmp(cmd, "ask") || !strcmp(cmd, "explain") ||
                !strcmp(cmd, "lint") || !strcmp(cmd, "compile");
    if (!core) {
        /* pass the global --kb on to the adapter */
        char **args = calloc((size_t)(argc - i) + 4, sizeof *args);
        if (!args)
            return 1;
        int k = 0;
        args[k++] = (char *)cmd;
        if (kb_dir) {
            args[k++] = (char *)"--kb";
            args[k++] = (char *)kb_dir;
        }
        for (int j = i; j < argc; j++)
            args[k++] = argv[j];
        int rc = run_external(cmd, args);
        free(args);
        return rc;
    }
    /* --help and --version work after any command too */
    for (int k = i; k < argc && strcmp(argv[k], "--"); k++) {
        if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (!strcmp(argv[k], "-V") || !strcmp(argv[k], "--version")) {
            printf("msfaq %s\n", msfaq_version());
            return 0;
        }
        if (!strcmp(argv[k], "--kb") && k + 1 < argc) {
            kb_dir = argv[k + 1];
            memmove(&argv[k], &argv[k + 2], (size_t)(argc - k - 2) *
                                                sizeof *argv);
            argc -= 2;
            k--;
        }
    }
    if (!strcmp(cmd, "lint"))
        return cmd_lint(kb_dir, argc - i, argv + i);
    if (!strcmp(cmd, "compile"))
        return cmd_compile(kb_dir, argc - i, argv + i);
    bool is_why = !strcmp(cmd, "explain");
    msfaq_kb *kb = cli_open_kb(kb_dir);
    if (!kb)
        return 1;
    int rc = cmd_ask(kb, argc - i, argv + i, is_why);
    msfaq_kb_close(kb);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "msfaq: writing output: %s\n", strerror(errno));
        return 1;
    }
    return rc;
}
