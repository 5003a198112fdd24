/*
 * regex_cost.c - what each of a KB's regexes costs per question, alone.
 *
 *     regex_cost REGEXES.tsv TEXTS.txt
 *
 * REGEXES.tsv: "NAME<TAB>REGEX" a line (regex_cost.py makes it from the
 * KB files).  TEXTS.txt: one normalised question a line (what the
 * library's patterns read).  Every regex is compiled as the library
 * compiles its patterns (PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C, JIT,
 * match limit 100000, depth limit 1000) and run over every text, several
 * times; one JSON line a regex:
 *   {"name", "mean_ns" (per text), "max_ns" (the worst text),
 *    "worst" (its index), "hits" (texts it matches), "limit" (texts that
 *    hit the match limit), "jit"}
 * Links only libpcre2-8: it never looks inside libmsfaq.
 */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 20

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char **read_lines(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char **v = NULL, *line = NULL;
    size_t n = 0, cap = 0, lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            v = realloc(v, cap * sizeof *v);
            if (!v) {
                perror("realloc");
                exit(1);
            }
        }
        v[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    *count = n;
    return v;
}

/* JSON string body: the names are plain, but be safe. */
static void put_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fputs("usage: regex_cost REGEXES.tsv TEXTS.txt\n", stderr);
        return 2;
    }
    size_t n_re, n_tx;
    char **res = read_lines(argv[1], &n_re);
    char **texts = read_lines(argv[2], &n_tx);
    if (!n_tx) {
        fputs("regex_cost: no texts\n", stderr);
        return 2;
    }
    pcre2_match_context *mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(mctx, 100000);
    pcre2_set_depth_limit(mctx, 1000);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    uint64_t *per = malloc(n_tx * sizeof *per);
    if (!mctx || !md || !per)
        return 1;

    for (size_t i = 0; i < n_re; i++) {
        char *tab = strchr(res[i], '\t');
        if (!tab)
            continue;
        *tab = '\0';
        const char *name = res[i], *re = tab + 1;
        int ec;
        PCRE2_SIZE off;
        pcre2_code *code =
            pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                          PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C, &ec, &off,
                          NULL);
        if (!code) {
            printf("{\"name\":");
            put_json_string(name);
            printf(",\"error\":\"does not compile at offset %zu\"}\n",
                   (size_t)off);
            continue;
        }
        int jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
        size_t hits = 0, limit = 0, worst = 0;
        uint64_t total = 0;
        for (size_t t = 0; t < n_tx; t++) {
            size_t len = strlen(texts[t]);
            int rc = pcre2_match(code, (PCRE2_SPTR)texts[t], len, 0, 0, md,
                                 mctx);
            if (rc >= 0)
                hits++;
            else if (rc != PCRE2_ERROR_NOMATCH)
                limit++;
            uint64_t t0 = now_ns();
            for (int r = 0; r < REPS; r++)
                (void)pcre2_match(code, (PCRE2_SPTR)texts[t], len, 0, 0, md,
                                  mctx);
            per[t] = (now_ns() - t0) / REPS;
            total += per[t];
            if (per[t] > per[worst])
                worst = t;
        }
        printf("{\"name\":");
        put_json_string(name);
        printf(",\"mean_ns\":%.1f,\"max_ns\":%llu,\"worst\":%zu,"
               "\"hits\":%zu,\"limit\":%zu,\"jit\":%s,\"regex_bytes\":%zu}\n",
               (double)total / (double)n_tx,
               (unsigned long long)per[worst], worst, hits, limit,
               jit ? "true" : "false", strlen(re));
        pcre2_code_free(code);
    }
    pcre2_match_data_free(md);
    pcre2_match_context_free(mctx);
    free(per);
    for (size_t i = 0; i < n_re; i++)
        free(res[i]);
    for (size_t t = 0; t < n_tx; t++)
        free(texts[t]);
    free(res);
    free(texts);
    return 0;
}
