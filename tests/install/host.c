/* host.c - the smallest host of libmsfaq, built against an INSTALLED
 * msfaq (cmake --install: tests/install; the .deb: tests/package, which
 * copies it): opens the built-in KB, answers argv[1], prints
 * "kind|section", and fails when the header and library versions differ. */
#include <msfaq.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    msfaq_error err;
    msfaq_kb *kb = msfaq_kb_open(NULL, 0, &err);
    if (!kb) {
        fprintf(stderr, "msfaq_kb_open: %s\n", err.text);
        return 1;
    }
    msfaq_result *r;
    if (msfaq_ask(kb, argc > 1 ? argv[1] : "What is CAR T?", 0, &r,
                  &err) < 0) {
        fprintf(stderr, "msfaq_ask: %s\n", err.text);
        msfaq_kb_close(kb);
        return 1;
    }
    printf("%s|%s\n", msfaq_kind_name(msfaq_result_kind(r)),
           msfaq_result_section(r) ? msfaq_result_section(r) : "-");
    msfaq_result_free(r);
    msfaq_kb_close(kb);
    return msfaq_version_hex() == MSFAQ_VERSION_HEX ? 0 : 1;
}
