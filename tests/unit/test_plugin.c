/*
 * test_plugin.c - load the built libmsfaq.so with dlopen() exactly as a
 * host would: look up the one entry symbol, check the ABI and the table
 * size, then ask through the table.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "msfaq.h"

#ifndef MSFAQ_SO
#error "MSFAQ_SO must name the built library"
#endif

static void test_dlopen_host(void **state)
{
    (void)state;
    void *h = dlopen(MSFAQ_SO, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        fail_msg("dlopen: %s", dlerror());
    msfaq_plugin_entry_fn entry =
        (msfaq_plugin_entry_fn)dlsym(h, MSFAQ_PLUGIN_ENTRY_SYMBOL);
    assert_non_null(entry);

    /* a host built for another ABI is refused clearly */
    assert_null(entry(MSFAQ_PLUGIN_ABI + 1));
    assert_null(entry(0));

    const msfaq_plugin *p = entry(MSFAQ_PLUGIN_ABI);
    assert_non_null(p);
    assert_int_equal(p->abi, MSFAQ_PLUGIN_ABI);
    assert_true(p->size >= offsetof(msfaq_plugin, strerror) +
                               sizeof p->strerror);
    assert_string_equal(p->version, MSFAQ_VERSION_STRING);

    msfaq_error err;
    msfaq_kb *kb = p->kb_open(NULL, 0, &err);
    assert_non_null(kb);
    msfaq_result *r;
    assert_int_equal(p->ask(kb, "What is CAR T-cell therapy?", 0, &r, &err),
                     MSFAQ_OK);
    assert_int_equal(p->result_kind(r), MSFAQ_KIND_ANSWER);
    assert_string_equal(p->kind_name(p->result_kind(r)), "answer");
    assert_string_equal(p->result_section(r),
                        "Emerging Therapies and Approaches");
    assert_non_null(strstr(p->result_answer(r), "reprogramming"));
    assert_true(p->result_follow_up_count(r) > 0);
    assert_non_null(p->result_follow_up(r, 0));
    assert_non_null(strstr(p->result_json(r), "\"kind\":\"answer\""));
    assert_null(p->result_explain(r));
    assert_true(p->result_confidence(r) > 0.5);
    assert_string_equal(p->result_intent(r), "car_t_what");
    p->result_free(r);
    p->kb_close(kb);
    assert_string_equal(p->strerror(MSFAQ_EUTF8),
                        "question is not valid UTF-8");
    /* only msfaq_* symbols are exported: internals stay hidden */
    assert_null(dlsym(h, "msfaqp_normalize"));
    dlclose(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dlopen_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
