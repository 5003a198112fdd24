/*
 * fuzz_kb_load.c - libFuzzer harness: the KB loader, on KB files it has
 * never seen.
 *
 * The input is the five KB files one after another, split at the byte
 * 0xFF (which valid UTF-8 never holds, so no well-formed file is lost):
 *
 *     concepts.json 0xFF safety.json 0xFF intents.json 0xFF answers.json
 *     0xFF article.txt
 *
 * A part that is missing (fewer than four separators) leaves its file out
 * of the KB; bytes after a fifth separator belong to article.txt.  The
 * files are written to one temporary directory per process and opened
 * with msfaq_kb_open().  Seeds (corpus/fuzz_kb_load/) are the tiny base
 * KB, the shipped KB and the broken KBs of tests/kb/, joined this way
 * (make_seeds.sh).
 *
 * Checked: a KB that does not open gives a known code, a message, and the
 * name of one of the five files; a KB that opens answers a few questions
 * within the invariants of fuzz_check.h (plain and with explain giving the
 * same reply unless a pattern hit its match limit), and msfaq_kb_lint()
 * reports findings with a file, a place and a text, and returns their
 * number.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_check.h"

#define SEP 0xFF

#define N_FILES 5
static const char *const names[N_FILES] = {
    "patterns/concepts.json", "patterns/safety.json",
    "patterns/intents.json", "responses/answers.json",
    "responses/article.txt"};

static const char *const questions[] = {
    "", "hello", "hi", "what is tea", "how does green tea taste",
    "what flavour is assam", "I burnt my tongue on green tea",
    "What is CAR-T?", "should I stop my interferon?",
    "imunotherapy sideefects", "whats a DMT? pls tell",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
    "((((a))))", "tea tea tea tea tea tea tea tea tea tea tea tea",
    "caf\xc3\xa9 na\xc3\xafve \xf0\x9f\x98\x80 <@U123> @bot hello?"};

static char dir[200];
static char path[N_FILES][240];

static void remove_dir(void)
{
    for (int i = 0; i < N_FILES; i++)
        unlink(path[i]);
    char sub[220];
    snprintf(sub, sizeof sub, "%s/patterns", dir);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/responses", dir);
    rmdir(sub);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/msfaq-fuzz-kb-XXXXXX",
             tmp && *tmp && strlen(tmp) < 160 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("fuzz_kb_load: mkdtemp");
        abort();
    }
    char sub[220];
    snprintf(sub, sizeof sub, "%s/patterns", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/responses", dir);
    mkdir(sub, 0700);
    for (int i = 0; i < N_FILES; i++)
        snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    atexit(remove_dir);
    return 0;
}

static void write_file(const char *p, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(p, "wb");
    if (!fp || (size && fwrite(data, 1, size, fp) != size) || fclose(fp)) {
        perror(p);
        abort();
    }
}

static void lint_finding(void *ud, const char *file, const char *where,
                         const char *text)
{
    FZ_CHECK(file && where && text, "lint finding with a NULL field");
    FZ_CHECK(text[0] != '\0', "lint finding without a text (at %s %s)",
             file, where);
    ++*(int *)ud;
}

static bool names_a_kb_file(const char *file)
{
    size_t n = strlen(file);
    for (int i = 0; i < N_FILES; i++) {
        size_t k = strlen(names[i]);
        if (n >= k && strcmp(file + n - k, names[i]) == 0)
            return true;
    }
    return false;
}

static void ask_all(const msfaq_kb *kb)
{
    for (size_t i = 0; i < sizeof questions / sizeof *questions; i++) {
        int rc_plain, rc_why;
        msfaq_result *plain = fz_ask(kb, questions[i], 0, &rc_plain);
        msfaq_result *why = fz_ask(kb, questions[i], MSFAQ_ASK_EXPLAIN,
                                   &rc_why);
        FZ_CHECK(rc_plain == rc_why && plain && why,
                 "rc %d plain, %d with explain", rc_plain, rc_why);
        if (!fz_limit_hit(why)) {
            json_t *a = json_loads(msfaq_result_json(plain), 0, NULL);
            json_t *b = json_loads(msfaq_result_json(why), 0, NULL);
            json_object_del(b, "explain");
            FZ_CHECK(json_equal(a, b), "explain changed the reply to "
                     "\"%s\":\n  plain:   %s\n  explain: %s", questions[i],
                     msfaq_result_json(plain), msfaq_result_json(why));
            json_decref(a);
            json_decref(b);
        }
        msfaq_result_free(plain);
        msfaq_result_free(why);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    for (int i = 0; i < N_FILES; i++) {
        if (!p) {
            if (unlink(path[i]) && errno != ENOENT)
                abort();
            continue;
        }
        const uint8_t *e = i < N_FILES - 1 ? memchr(p, SEP, (size_t)(end - p)) : NULL;
        write_file(path[i], p, (size_t)((e ? e : end) - p));
        p = e ? e + 1 : NULL;
    }

    msfaq_error err;
    memset(&err, 0x5a, sizeof err);
    msfaq_kb *kb = msfaq_kb_open(dir, 0, &err);
    if (!kb) {
        fz_check_error(err.code, &err);
        FZ_CHECK(err.code == MSFAQ_EIO || err.code == MSFAQ_EJSON ||
                     err.code == MSFAQ_ESCHEMA || err.code == MSFAQ_EREGEX ||
                     err.code == MSFAQ_EREF || err.code == MSFAQ_ENOMEM,
                 "open failed with code %d: %s", err.code, err.text);
        FZ_CHECK(names_a_kb_file(err.file),
                 "error names no KB file: \"%s\": %s", err.file, err.text);
        return 0;
    }
    FZ_CHECK(msfaq_kb_intent_count(kb) > 0, "a KB without intents opened");
    ask_all(kb);
    int findings = 0;
    int n = msfaq_kb_lint(kb, lint_finding, &findings);
    FZ_CHECK(n == findings, "lint returned %d after %d findings", n,
             findings);
    msfaq_kb_close(kb);
    return 0;
}
