/*
 * fuzz_kb_image.c - libFuzzer harness: the compiled-KB loader
 * (plugin/kb_image.c) on images it has never seen.
 *
 * The input is an image.  When it is long enough to hold a header, the
 * harness makes the header's payload size and checksum agree with the
 * payload first: a checksum catches a damaged file, but the loader must
 * also refuse a crafted one whose checksum holds, so the fuzzer's changes
 * have to reach the checks behind it.  Seeds (made by the build) are the
 * small KB of tests/kb/base compiled, and damaged copies of it.
 *
 * Checked: an image that does not open gives MSFAQ_EIMAGE or
 * MSFAQ_ENOMEM with a message and the source's name; one that opens
 * answers a few questions within the invariants of fuzz_check.h and is
 * linted without trouble.
 */
#include <stdint.h>

#include "fuzz_check.h"
#include "msfaq_private.h"

static const char *const questions[] = {
    "", "hello", "what is tea", "how does green tea taste",
    "should I stop my interferon?", "imunotherapy sideefects",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
    "tea tea tea tea tea tea tea tea tea tea tea tea",
    "caf\xc3\xa9 na\xc3\xafve \xf0\x9f\x98\x80 <@U123> @bot hello?"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *img = malloc(size ? size : 1);
    if (!img)
        return 0;
    memcpy(img, data, size);
    if (size >= MSFAQP_IMAGE_HEADER) {
        uint64_t payload = size - MSFAQP_IMAGE_HEADER;
        uint64_t sum = msfaqp_image_checksum(img + MSFAQP_IMAGE_HEADER,
                                             (size_t)payload);
        memcpy(img + 32, &payload, sizeof payload);  /* header.size */
        memcpy(img + 40, &sum, sizeof sum);          /* header.checksum */
    }
    msfaq_error err;
    memset(&err, 0x5a, sizeof err);
    msfaq_kb *kb = msfaqp_image_open(img, size, true, "fuzz.img", &err);
    free(img);                 /* the KB keeps its own copy */
    if (!kb) {
        fz_check_error(err.code, &err);
        FZ_CHECK(err.code == MSFAQ_EIMAGE || err.code == MSFAQ_ENOMEM,
                 "open failed with code %d: %s", err.code, err.text);
        FZ_CHECK(strcmp(err.file, "fuzz.img") == 0,
                 "error names \"%s\", not the image", err.file);
        return 0;
    }
    for (size_t i = 0; i < sizeof questions / sizeof *questions; i++) {
        int rc;
        msfaq_result *r = fz_ask(kb, questions[i], MSFAQ_ASK_EXPLAIN, &rc);
        msfaq_result_free(r);
    }
    msfaq_kb_lint(kb, NULL, NULL);
    msfaq_kb_close(kb);
    return 0;
}
