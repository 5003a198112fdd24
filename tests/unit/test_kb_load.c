/*
 * test_kb_load.c - the loader: the tiny base KB opens and answers, and every
 * case folder under tests/kb/ fails with exactly the error its "expect"
 * file names (code, file, line, column, and a fragment of the text).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "msfaq.h"
#include "test_util.h"

static int code_of(const char *name)
{
    static const struct { const char *n; int c; } codes[] = {
        {"EIO", MSFAQ_EIO},         {"EJSON", MSFAQ_EJSON},
        {"ESCHEMA", MSFAQ_ESCHEMA}, {"EREGEX", MSFAQ_EREGEX},
        {"EREF", MSFAQ_EREF},       {"EINVAL", MSFAQ_EINVAL}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!strcmp(codes[i].n, name))
            return codes[i].c;
    fail_msg("unknown code %s in an expect file", name);
    return 0;
}

static void check_case(const char *name)
{
    char dir[256], src[512], expect[512];
    assert_int_equal(tu_base_kb(dir, sizeof dir), 0);
    snprintf(src, sizeof src, "%s/%s", TEST_KB_DIR, name);
    assert_int_equal(tu_copy_tree(src, dir), 0);

    char rm[512];
    snprintf(rm, sizeof rm, "%s/remove", src);
    FILE *r = fopen(rm, "r");
    char line[256];
    while (r && fgets(line, sizeof line, r)) {
        line[strcspn(line, "\n")] = '\0';
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, line);
        unlink(p);
    }
    if (r)
        fclose(r);

    snprintf(expect, sizeof expect, "%s/expect", src);
    FILE *f = fopen(expect, "r");
    assert_non_null(f);
    char code[32], file[128], fragment[256];
    int eline, ecol;
    assert_int_equal(fscanf(f, "%31s %127s %d %d\n", code, file, &eline,
                            &ecol), 4);
    assert_non_null(fgets(fragment, sizeof fragment, f));
    fragment[strcspn(fragment, "\n")] = '\0';
    fclose(f);

    msfaq_error err;
    msfaq_kb *kb = msfaq_kb_open(dir, 0, &err);
    if (kb)
        fail_msg("case %s: the KB opened, expected %s", name, code);
    print_message("case %-24s -> %s:%d:%d: %s\n", name, err.file, err.line,
                  err.column, err.text);
    assert_int_equal(err.code, code_of(code));
    size_t fl = strlen(err.file), el = strlen(file);
    if (fl < el || strcmp(err.file + fl - el, file) != 0)
        fail_msg("case %s: file %s does not end with %s", name, err.file,
                 file);
    assert_int_equal(err.line, eline);
    assert_int_equal(err.column, ecol);
    if (!strstr(err.text, fragment))
        fail_msg("case %s: message \"%s\" lacks \"%s\"", name, err.text,
                 fragment);
    tu_remove_tree(dir);
}

static void test_error_cases(void **state)
{
    (void)state;
    DIR *d = opendir(TEST_KB_DIR);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s/expect", TEST_KB_DIR, e->d_name);
        if (e->d_name[0] == '.' || access(p, R_OK) != 0)
            continue;
        check_case(e->d_name);
        n++;
    }
    closedir(d);
    assert_true(n >= 10);
}

static void test_base_opens_and_answers(void **state)
{
    (void)state;
    char dir[256];
    assert_int_equal(tu_base_kb(dir, sizeof dir), 0);
    msfaq_error err;
    msfaq_kb *kb = msfaq_kb_open(dir, 0, &err);
    if (!kb)
        fail_msg("%s:%d:%d: %s", err.file, err.line, err.column, err.text);
    assert_int_equal(msfaq_kb_intent_count(kb), 5);
    assert_string_equal(msfaq_kb_source(kb), dir);
    msfaq_result *r;
    assert_int_equal(msfaq_ask(kb, "How does MATCHA taste?", 0, &r, &err),
                     MSFAQ_OK);
    assert_string_equal(msfaq_result_intent(r), "green_taste");
    assert_string_equal(msfaq_result_section(r), "Green Tea");
    assert_string_equal(msfaq_result_answer(r),
                        "It tastes grassy.\n\nNot advice.");
    msfaq_result_free(r);
    /* uncovered specifics: the guide gives no prices */
    assert_int_equal(msfaq_ask(kb, "how much does assam taste of", 0, &r,
                               &err),
                     MSFAQ_NOMATCH);
    assert_string_equal(msfaq_result_intent(r), "no_price");
    assert_string_equal(msfaq_result_answer(r),
                        "The guide talks about black tea but gives no "
                        "prices.");
    msfaq_result_free(r);
    /* the domain gate: a topic with a word the KB does not know */
    assert_int_equal(msfaq_ask(kb, "how does green paint taste", 0, &r,
                               &err),
                     MSFAQ_NOMATCH);
    assert_string_equal(msfaq_result_intent(r), "");
    msfaq_result_free(r);
    assert_int_equal(msfaq_kb_lint(kb, NULL, NULL), 0);
    msfaq_kb_close(kb);
    tu_remove_tree(dir);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    msfaq_error err;
    assert_null(msfaq_kb_open(NULL, 1, &err));
    assert_int_equal(err.code, MSFAQ_EINVAL);
    assert_null(msfaq_kb_open("/nonexistent/msfaq", 0, &err));
    assert_int_equal(err.code, MSFAQ_EIO);
    assert_non_null(strstr(err.file, "/nonexistent/msfaq/"));
    assert_null(msfaq_kb_open("/nonexistent/msfaq", 0, NULL)); /* no err */
    msfaq_kb_close(NULL);
}

static void test_long_path_is_shortened_from_the_left(void **state)
{
    (void)state;
    char dir[400];
    memset(dir, 'd', sizeof dir);
    memcpy(dir, "/tmp/", 5);
    dir[sizeof dir - 1] = '\0';
    msfaq_error err;
    assert_null(msfaq_kb_open(dir, 0, &err));
    assert_int_equal(strlen(err.file), sizeof err.file - 1);
    assert_memory_equal(err.file, "...", 3);
    assert_non_null(strstr(err.file, "responses/article.txt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_opens_and_answers),
        cmocka_unit_test(test_error_cases),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_long_path_is_shortened_from_the_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
