/*
 * bench_ask.c - how long msfaq_ask() takes, per question, on one thread and
 * on many.
 *
 * One call is the whole pipeline a host pays for: msfaq_ask() (check,
 * normalise, correct typos, match concepts and patterns, choose, build the
 * reply and its JSON line), reading the JSON with msfaq_result_json(), and
 * msfaq_result_free().  Each call is timed with clock_gettime(CLOCK_MONOTONIC)
 * and every sample is kept, so the median and p99 are exact, not binned.
 *
 *     bench_ask [options] QUESTIONS.txt
 *
 *   --kb DIR        open the KB in DIR instead of the built-in one
 *   --threads N     N threads share one KB (default 1)
 *   --seconds S     measure for S seconds per round (default 2)
 *   --rounds N      N rounds; the one with the highest throughput is
 *                   reported (default 1)
 *   --reps R        instead: every thread runs the question list R times
 *   --warmup R      passes over the list before measuring (default 2)
 *   --lengths       the question-length sweep instead (see length_sweep)
 *   --label TEXT    copied into the output
 *
 * Output: one JSON object a line, so run.sh can read it:
 *   {"bench":"ask", ...}       the whole mix
 *   {"bench":"category", ...}  per "# cat: NAME" block of the file
 *   {"bench":"length", ...}    per question size, with --lengths
 *   {"bench":"open", ...}      msfaq_kb_open() + msfaq_kb_close() times
 *
 * Questions file: one question a line; "# cat: NAME" starts a category;
 * other lines starting with '#' and empty lines are skipped.
 *
 * Under callgrind, run with --instr-atstart=no,
 * --toggle-collect=bench_measured_call and --reps 1: only the measured
 * calls are counted (the warm-up runs uninstrumented), so Ir / calls is
 * instructions per question.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msfaq.h"

/* Under callgrind (run.sh: --instr-atstart=no), instrument only the
 * measured rounds, so the warm-up's calls are neither counted nor timed.
 * Without valgrind's header these are no-ops. */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_CG_START() CALLGRIND_START_INSTRUMENTATION
#define BENCH_CG_STOP() CALLGRIND_STOP_INSTRUMENTATION
#endif
#endif
#ifndef BENCH_CG_START
#define BENCH_CG_START() ((void)0)
#define BENCH_CG_STOP() ((void)0)
#endif

#define MAX_CATS 32

typedef struct question {
    char *text;
    int cat;                      /* index into cats[], or -1 */
} question;

typedef struct samples {          /* nanoseconds of each measured call */
    uint64_t *v;
    size_t n, cap;
} samples;

typedef struct worker {
    pthread_t tid;
    int index;
    size_t start;                 /* first question: threads are staggered */
    samples all;
    samples cat[MAX_CATS];
    size_t calls, errors;
} worker;

static const msfaq_kb *g_kb;
static question *g_q;
static size_t g_nq;
static char *g_cats[MAX_CATS];
static int g_ncats;
static long g_reps;               /* > 0: fixed passes; else by time */
static double g_seconds = 2.0;
static pthread_barrier_t g_barrier;
static struct timespec g_deadline;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_ask: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void push(samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("realloc");
    }
    s->v[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, p in (0, 100]. */
static uint64_t pct(const samples *s, double p)
{
    if (!s->n)
        return 0;
    size_t k = (size_t)((p / 100.0) * (double)s->n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > s->n)
        k = s->n;
    return s->v[k - 1];
}

static double mean(const samples *s)
{
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += (double)s->v[i];
    return s->n ? sum / (double)s->n : 0;
}

/* One question through the whole pipeline.  Returns 0, or -1 when the
 * library refused it (counted, never fatal: a benchmark prints figures). */
static inline int ask_once(const char *q)
{
    msfaq_result *r;
    msfaq_error err;
    if (msfaq_ask(g_kb, q, 0, &r, &err) < 0)
        return -1;
    const char *json = msfaq_result_json(r);
    int bad = !json || json[0] != '{';
    msfaq_result_free(r);
    return bad ? -1 : 0;
}

/* Separate, never-inlined functions so callgrind can count the measured
 * calls alone (--toggle-collect=bench_measured_call).  noipa also stops
 * GCC from folding the two identical bodies into one symbol. */
#if defined(__GNUC__) && !defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline, noipa))
#else
#define BENCH_NOINLINE __attribute__((noinline))
#endif
BENCH_NOINLINE int bench_measured_call(const char *q);
BENCH_NOINLINE int bench_warmup_call(const char *q);

int bench_measured_call(const char *q)
{
    return ask_once(q);
}

int bench_warmup_call(const char *q)
{
    return ask_once(q);
}

static bool past_deadline(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec > g_deadline.tv_sec ||
           (ts.tv_sec == g_deadline.tv_sec && ts.tv_nsec >= g_deadline.tv_nsec);
}

static void *work(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(&g_barrier);
    for (long pass = 0; g_reps > 0 ? pass < g_reps : !past_deadline();
         pass++) {
        for (size_t k = 0; k < g_nq; k++) {
            const question *q = &g_q[(w->start + k) % g_nq];
            uint64_t t0 = now_ns();
            int rc = bench_measured_call(q->text);
            uint64_t dt = now_ns() - t0;
            push(&w->all, dt);
            if (q->cat >= 0)
                push(&w->cat[q->cat], dt);
            w->calls++;
            if (rc)
                w->errors++;
        }
    }
    return NULL;
}

static void print_stats(const char *bench, const char *label,
                        const char *extra, samples *s, int threads,
                        double wall_s, size_t calls, size_t errors)
{
    qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    printf("{\"bench\":\"%s\",\"label\":\"%s\"%s,\"threads\":%d,"
           "\"calls\":%zu,\"errors\":%zu,\"wall_s\":%.4f,\"qps\":%.1f,"
           "\"min_ns\":%llu,\"median_ns\":%llu,\"p90_ns\":%llu,"
           "\"p99_ns\":%llu,\"max_ns\":%llu,\"mean_ns\":%.1f}\n",
           bench, label, extra, threads, calls, errors, wall_s,
           wall_s > 0 ? (double)calls / wall_s : 0.0,
           (unsigned long long)pct(s, 0.0001),
           (unsigned long long)pct(s, 50), (unsigned long long)pct(s, 90),
           (unsigned long long)pct(s, 99),
           (unsigned long long)pct(s, 100), mean(s));
}

/* One measured round: every thread asks until the deadline (or g_reps
 * passes); the samples of all threads are merged. */
typedef struct round_result {
    samples all;
    samples cat[MAX_CATS];
    size_t calls, errors;
    double wall_s;
} round_result;

static void round_free(round_result *r)
{
    free(r->all.v);
    for (int c = 0; c < MAX_CATS; c++)
        free(r->cat[c].v);
    memset(r, 0, sizeof *r);
}

static void measure_round(int threads, round_result *out)
{
    worker *w = calloc((size_t)threads, sizeof *w);
    if (!w)
        die("calloc");
    if (pthread_barrier_init(&g_barrier, NULL, (unsigned)threads + 1))
        die("pthread_barrier_init");
    for (int i = 0; i < threads; i++) {
        w[i].index = i;
        w[i].start = (g_nq * (size_t)i) / (size_t)threads;
        if (pthread_create(&w[i].tid, NULL, work, &w[i]))
            die("pthread_create");
    }
    uint64_t end = now_ns() + (uint64_t)(g_seconds * 1e9);
    g_deadline.tv_sec = (time_t)(end / 1000000000u);
    g_deadline.tv_nsec = (long)(end % 1000000000u);
    pthread_barrier_wait(&g_barrier);
    uint64_t t0 = now_ns();
    for (int i = 0; i < threads; i++)
        pthread_join(w[i].tid, NULL);
    out->wall_s = (double)(now_ns() - t0) / 1e9;
    pthread_barrier_destroy(&g_barrier);
    for (int i = 0; i < threads; i++) {
        for (size_t k = 0; k < w[i].all.n; k++)
            push(&out->all, w[i].all.v[k]);
        for (int c = 0; c < g_ncats; c++)
            for (size_t k = 0; k < w[i].cat[c].n; k++)
                push(&out->cat[c], w[i].cat[c].v[k]);
        out->calls += w[i].calls;
        out->errors += w[i].errors;
        free(w[i].all.v);
        for (int c = 0; c < MAX_CATS; c++)
            free(w[i].cat[c].v);
    }
    free(w);
}

/* The question mix: `rounds` rounds, and the one with the highest
 * throughput is reported, so that a burst of other work on a shared
 * machine spoils one round, not the figure. */
static void run_mix(int threads, const char *label, long warmup, int rounds)
{
    for (long p = 0; p < warmup; p++)
        for (size_t k = 0; k < g_nq; k++)
            (void)bench_warmup_call(g_q[k].text);

    round_result best, cur;
    memset(&best, 0, sizeof best);
    for (int r = 0; r < rounds; r++) {
        memset(&cur, 0, sizeof cur);
        BENCH_CG_START();
        measure_round(threads, &cur);
        BENCH_CG_STOP();
        if (!best.calls || (double)cur.calls / cur.wall_s >
                               (double)best.calls / best.wall_s) {
            round_free(&best);
            best = cur;
        } else {
            round_free(&cur);
        }
    }
    char extra[160];
    snprintf(extra, sizeof extra,
             ",\"questions\":%zu,\"intents\":%zu,\"rounds\":%d", g_nq,
             msfaq_kb_intent_count(g_kb), rounds);
    print_stats("ask", label, extra, &best.all, threads, best.wall_s,
                best.calls, best.errors);
    for (int c = 0; c < g_ncats; c++) {
        snprintf(extra, sizeof extra, ",\"category\":\"%s\"", g_cats[c]);
        /* per category: wall time is shared, so qps is left to "ask" */
        print_stats("category", label, extra, &best.cat[c], threads, 0,
                    best.cat[c].n, 0);
    }
    round_free(&best);
}

/*
 * The cost curve over question length.  Inputs of exactly-or-just-under L
 * bytes are cut from the question mix joined by spaces (real words, real
 * typos), starting at different questions so each size has several
 * distinct inputs; the cut falls on a word boundary.
 */
static void length_sweep(const char *label, long warmup)
{
    static const size_t sizes[] = {100, 256, 512, 1024, 2048, 4096};
    enum { VARIANTS = 16 };
    size_t total = 0;
    for (size_t k = 0; k < g_nq; k++)
        total += strlen(g_q[k].text) + 1;
    char *pool = malloc(total + 1);
    size_t *starts = malloc(g_nq * sizeof *starts);
    if (!pool || !starts)
        die("malloc");
    size_t at = 0;
    for (size_t k = 0; k < g_nq; k++) {
        starts[k] = at;
        size_t n = strlen(g_q[k].text);
        memcpy(pool + at, g_q[k].text, n);
        at += n;
        pool[at++] = ' ';
    }
    pool[at] = '\0';

    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t L = sizes[si];
        char *in[VARIANTS];
        size_t bytes = 0;
        for (int v = 0; v < VARIANTS; v++) {
            size_t st = starts[((size_t)v * g_nq) / VARIANTS];
            char *s = malloc(L + 1);
            if (!s)
                die("malloc");
            size_t n = 0;
            while (n < L) {       /* wrap around the pool if need be */
                size_t take = total - st < L - n ? total - st : L - n;
                memcpy(s + n, pool + st, take);
                n += take;
                st = 0;
            }
            s[L] = '\0';
            /* cut at the last space so no word is half there, unless
             * that would drop more than a tenth */
            char *sp = strrchr(s, ' ');
            if (sp && (size_t)(sp - s) > L - L / 10)
                *sp = '\0';
            /* a space at the start is harmless; a NUL is impossible */
            in[v] = s;
            bytes += strlen(s);
        }
        for (long p = 0; p < warmup; p++)
            for (int v = 0; v < VARIANTS; v++)
                (void)bench_warmup_call(in[v]);
        samples sm = {0};
        size_t calls = 0, errors = 0;
        double budget = g_seconds / 2;
        uint64_t t0 = now_ns();
        while (calls < 50 * VARIANTS ||
               (double)(now_ns() - t0) / 1e9 < budget) {
            for (int v = 0; v < VARIANTS; v++) {
                uint64_t a = now_ns();
                if (bench_measured_call(in[v]))
                    errors++;
                push(&sm, now_ns() - a);
                calls++;
            }
            if (g_reps > 0 && calls >= (size_t)g_reps * VARIANTS)
                break;
        }
        double wall = (double)(now_ns() - t0) / 1e9;
        char extra[96];
        snprintf(extra, sizeof extra, ",\"bytes\":%zu,\"mean_bytes\":%.0f",
                 L, (double)bytes / VARIANTS);
        print_stats("length", label, extra, &sm, 1, wall, calls, errors);
        free(sm.v);
        for (int v = 0; v < VARIANTS; v++)
            free(in[v]);
    }
    free(pool);
    free(starts);
}

static void read_questions(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die(path);
    char *line = NULL;
    size_t cap = 0, qcap = 0;
    ssize_t n;
    int cat = -1;
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (strncmp(line, "# cat: ", 7) == 0) {
            if (g_ncats == MAX_CATS) {
                fprintf(stderr, "bench_ask: more than %d categories\n",
                        MAX_CATS);
                exit(2);
            }
            g_cats[g_ncats] = strdup(line + 7);
            cat = g_ncats++;
            continue;
        }
        if (n == 0 || line[0] == '#')
            continue;
        if (g_nq == qcap) {
            qcap = qcap ? qcap * 2 : 512;
            g_q = realloc(g_q, qcap * sizeof *g_q);
            if (!g_q)
                die("realloc");
        }
        g_q[g_nq].text = strdup(line);
        g_q[g_nq].cat = cat;
        g_nq++;
    }
    free(line);
    fclose(f);
    if (!g_nq) {
        fprintf(stderr, "bench_ask: %s holds no question\n", path);
        exit(2);
    }
}

static void usage(void)
{
    fputs("usage: bench_ask [--kb DIR] [--threads N] [--seconds S] "
          "[--rounds N] [--reps R] [--warmup R]\n"
          "                 [--lengths] [--label TEXT] QUESTIONS.txt\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *label = "", *file = NULL;
    int threads = 1;
    long warmup = 2;
    int lengths = 0, rounds = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--kb") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(a, "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(a, "--seconds") && i + 1 < argc)
            g_seconds = atof(argv[++i]);
        else if (!strcmp(a, "--reps") && i + 1 < argc)
            g_reps = atol(argv[++i]);
        else if (!strcmp(a, "--warmup") && i + 1 < argc)
            warmup = atol(argv[++i]);
        else if (!strcmp(a, "--label") && i + 1 < argc)
            label = argv[++i];
        else if (!strcmp(a, "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(a, "--lengths"))
            lengths = 1;
        else if (a[0] == '-' || file)
            usage();
        else
            file = a;
    }
    if (!file || threads < 1 || threads > 1024 || rounds < 1)
        usage();
    read_questions(file);

    /* msfaq_kb_open: parse the JSON, build the vocabulary, compile and
     * JIT every regex.  Timed a few times; the last KB is kept. */
    msfaq_error err;
    samples open_ns = {0};
    msfaq_kb *kb = NULL;
    for (int k = 0; k < 5; k++) {
        if (kb)
            msfaq_kb_close(kb);
        uint64_t t0 = now_ns();
        kb = msfaq_kb_open(dir, 0, &err);
        push(&open_ns, now_ns() - t0);
        if (!kb) {
            fprintf(stderr, "bench_ask: %s:%d:%d: %s\n", err.file, err.line,
                    err.column, err.text);
            return 1;
        }
    }
    g_kb = kb;
    qsort(open_ns.v, open_ns.n, sizeof *open_ns.v, cmp_u64);
    printf("{\"bench\":\"open\",\"label\":\"%s\",\"intents\":%zu,"
           "\"min_ns\":%llu,\"median_ns\":%llu}\n",
           label, msfaq_kb_intent_count(kb),
           (unsigned long long)open_ns.v[0],
           (unsigned long long)pct(&open_ns, 50));
    free(open_ns.v);
    fflush(stdout);

    if (lengths)
        length_sweep(label, warmup);
    else
        run_mix(threads, label, warmup, rounds);

    msfaq_kb_close(kb);
    for (size_t k = 0; k < g_nq; k++)
        free(g_q[k].text);
    free(g_q);
    for (int c = 0; c < g_ncats; c++)
        free(g_cats[c]);
    return 0;
}
