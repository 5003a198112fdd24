/*
 * test_kb_image.c - the compiled KB (kb_image.c): an image answers exactly
 * as the KB it was compiled from, and an image that is truncated, damaged,
 * foreign, of another format, or inconsistent behind a valid checksum is
 * refused with MSFAQ_EIMAGE and a message, never trusted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "msfaq_private.h"

static const char *const questions[] = {
    "What is CAR T-cell therapy?", "should I stop my interferon?",
    "imunotherapy sideefects", "hello", "who wrote this song",
    "how much does ocrelizumab cost", "fysiotherapy for ms good or not?",
    "my husband collapsed and can't move his arm", "what are my options?",
    "which sources did the author cite", "ttyl", "side affects?"};

static char *reply(const msfaq_kb *kb, const char *q, unsigned flags)
{
    msfaq_result *r = NULL;
    msfaq_error err;
    if (msfaq_ask(kb, q, flags, &r, &err) < 0)
        fail_msg("ask(\"%s\"): %s", q, err.text);
    char *s = strdup(msfaq_result_json(r));
    msfaq_result_free(r);
    return s;
}

/* The same replies, explained too, from the JSON files, the built-in
 * image, and an image written by msfaq_kb_save and mapped from a file. */
static void test_image_answers_as_the_files(void **state)
{
    (void)state;
    msfaq_error err;
    msfaq_kb *files = msfaq_kb_open(MSFAQ_REPO, 0, &err);
    if (!files)
        fail_msg("%s: %s", err.file, err.text);
    msfaq_kb *builtin = msfaq_kb_open(NULL, 0, &err);
    assert_non_null(builtin);
    char path[] = "/tmp/msfaq-image-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(msfaq_kb_save(files, path, &err), 0);
    msfaq_kb *saved = msfaq_kb_open(path, 0, &err);
    if (!saved)
        fail_msg("%s: %s", err.file, err.text);
    assert_string_equal(msfaq_kb_source(saved), path);
    assert_int_equal(msfaq_kb_intent_count(saved),
                     msfaq_kb_intent_count(files));
    for (size_t i = 0; i < sizeof questions / sizeof *questions; i++)
        for (unsigned flags = 0; flags <= MSFAQ_ASK_EXPLAIN;
             flags += MSFAQ_ASK_EXPLAIN) {
            char *a = reply(files, questions[i], flags);
            char *b = reply(builtin, questions[i], flags);
            char *c = reply(saved, questions[i], flags);
            assert_string_equal(a, b);
            assert_string_equal(a, c);
            free(a);
            free(b);
            free(c);
        }
    assert_int_equal(msfaq_kb_lint(saved, NULL, NULL), 0);
    msfaq_kb_close(saved);
    msfaq_kb_close(builtin);
    msfaq_kb_close(files);
    unlink(path);
}

/* The built-in KB written out, for the damage below. */
static unsigned char *image(size_t *size)
{
    msfaq_kb *kb = msfaq_kb_open(NULL, 0, NULL);
    assert_non_null(kb);
    msfaqp_buf b = {0};
    assert_int_equal(msfaqp_image_write(kb, &b), 0);
    msfaq_kb_close(kb);
    *size = b.len;
    return (unsigned char *)b.p;
}

static void expect_refused(const unsigned char *data, size_t size,
                           const char *why)
{
    msfaq_error err;
    memset(&err, 0, sizeof err);
    msfaq_kb *kb = msfaqp_image_open(data, size, true, "test.img", &err);
    if (kb)
        fail_msg("an image that is %s was opened", why);
    assert_int_equal(err.code, MSFAQ_EIMAGE);
    if (!strstr(err.text, why))
        fail_msg("error \"%s\" does not say \"%s\"", err.text, why);
    assert_string_equal(err.file, "test.img");
}

static void fix_checksum(unsigned char *img, size_t size)
{
    uint64_t sum = msfaqp_image_checksum(img + MSFAQP_IMAGE_HEADER,
                                         size - MSFAQP_IMAGE_HEADER);
    memcpy(img + 40, &sum, sizeof sum);   /* header.checksum */
}

/* The offset of the first element of block tag (see kb_image.c). */
static size_t block_at(const unsigned char *img, size_t size, uint32_t tag)
{
    size_t at = MSFAQP_IMAGE_HEADER;
    while (at + 16 <= size) {
        uint32_t head[2];
        uint64_t n;
        memcpy(head, img + at, sizeof head);
        memcpy(&n, img + at + 8, sizeof n);
        if (head[0] == tag)
            return at + 16;
        size_t bytes = (size_t)(head[1] * n);
        at += 16 + bytes + (8 - bytes % 8) % 8;
    }
    fail_msg("no block %u", tag);
    return 0;
}

static void test_damaged_images_are_refused(void **state)
{
    (void)state;
    size_t size;
    unsigned char *img = image(&size);
    unsigned char *bad = malloc(size);

    expect_refused(img, 10, "truncated");
    expect_refused(img, 4, "not a compiled msfaq KB");
    expect_refused(img, size - 1, "truncated");
    memcpy(bad, img, size);
    bad[0] = 'X';
    expect_refused(bad, size, "not a compiled msfaq KB");
    memcpy(bad, img, size);
    bad[8] = 99;                                  /* format version */
    expect_refused(bad, size, "another format version");
    memcpy(bad, img, size);
    uint32_t bom = 0x04030201;                    /* another byte order */
    memcpy(bad + 12, &bom, sizeof bom);
    expect_refused(bad, size, "another byte order");
    memcpy(bad, img, size);
    bad[size / 2] ^= 0x55;
    expect_refused(bad, size, "checksum");

    /* behind a valid checksum: contents that do not add up */
    memcpy(bad, img, size);
    size_t terms = block_at(bad, size, 9);        /* B_TERMS */
    int32_t far = 1 << 20;
    memcpy(bad + terms + 16, &far, sizeof far);   /* term 0's concept */
    fix_checksum(bad, size);
    expect_refused(bad, size, "a term's concept is out of range");
    memcpy(bad, img, size);
    int32_t loop = 5;                             /* term 0 -> term 5 */
    memcpy(bad + terms + 20, &loop, sizeof loop);
    fix_checksum(bad, size);
    expect_refused(bad, size, "a term chain loops");
    memcpy(bad, img, size);
    int32_t words;                                /* term 0's n_words... */
    memcpy(&words, bad + terms + 8, sizeof words);
    words++;                                      /* ...not its stems' */
    memcpy(bad + terms + 8, &words, sizeof words);
    fix_checksum(bad, size);
    expect_refused(bad, size, "a term is malformed");
    memcpy(bad, img, size);
    size_t fail_at = block_at(bad, size, 34);     /* B_AC_FAIL */
    int32_t ahead = 1000;
    memcpy(bad + fail_at + 4 * 10, &ahead, sizeof ahead);
    fix_checksum(bad, size);
    expect_refused(bad, size, "the literal automaton loops");
    /* the tables and the index, used where they lie in the image */
    memcpy(bad, img, size);
    size_t keys = block_at(bad, size, 18);        /* B_MAP_KEYS: by_stem */
    size_t n_keys;
    memcpy(&n_keys, bad + keys - 8, sizeof n_keys);
    size_t used = 0;                              /* the first key */
    for (uint32_t k = 0; !k; used++)
        memcpy(&k, bad + keys + 4 * used, sizeof k);
    used--;
    uint32_t outside = UINT32_MAX - 7;            /* a key past the pool */
    memcpy(bad + keys + 4 * used, &outside, sizeof outside);
    fix_checksum(bad, size);
    expect_refused(bad, size, "a string is outside the pool");
    memcpy(bad, img, size);
    for (size_t i = 0; i < n_keys; i++) {         /* no empty slot left */
        uint32_t k;
        memcpy(&k, bad + keys + 4 * i, sizeof k);
        if (!k)
            memcpy(bad + keys + 4 * i, &(uint32_t){1}, sizeof k);
    }
    fix_checksum(bad, size);
    expect_refused(bad, size, "a table is full");
    memcpy(bad, img, size);
    size_t at = block_at(bad, size, 37);          /* B_GROUP_AT: clauses */
    int32_t back = -1;
    memcpy(bad + at + 4 * 2, &back, sizeof back);
    fix_checksum(bad, size);
    expect_refused(bad, size, "the index does not add up");
    memcpy(bad, img, size);
    size_t of = block_at(bad, size, 38);          /* B_GROUP_OF */
    int32_t nowhere = 1 << 24;
    memcpy(bad + of, &nowhere, sizeof nowhere);
    fix_checksum(bad, size);
    expect_refused(bad, size, "an index value is out of range");

    memcpy(bad, img, size);
    bad[block_at(bad, size, 1) + 10] ^= 0x7f;     /* a string's byte */
    bad[MSFAQP_IMAGE_HEADER + 16 + 0] = 'z';      /* pool: not harmful */
    fix_checksum(bad, size);
    msfaq_kb *kb = msfaqp_image_open(bad, size, true, "test.img", NULL);
    msfaq_kb_close(kb);                           /* opened or refused */

    /* through msfaq_kb_open, from a file */
    char path[] = "/tmp/msfaq-image-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img, size / 3), (ssize_t)(size / 3));
    close(fd);
    msfaq_error err;
    assert_null(msfaq_kb_open(path, 0, &err));
    assert_int_equal(err.code, MSFAQ_EIMAGE);
    assert_string_equal(err.file, path);
    assert_non_null(strstr(err.text, "truncated"));
    unlink(path);
    free(bad);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_answers_as_the_files),
        cmocka_unit_test(test_damaged_images_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
