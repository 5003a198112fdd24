/*
 * hello.c - the start-up baseline: a C program that prints one line and
 * loads the same shared libraries as the msfaq command (libmsfaq, and
 * through it PCRE2, jansson and libstemmer), so that beside
 * `msfaq ask "..."` the difference is the knowledge base load, the regex
 * JIT and the question itself, not the dynamic loader.
 */
#include <jansson.h>
#include <stdio.h>

#include "msfaq.h"

/* Taking the addresses keeps every library a real dependency, whatever
 * the linker's --as-needed default. */
static void *volatile keep[] = {(void *)msfaq_version, (void *)json_null};

int main(void)
{
    (void)keep;
    printf("hello from msfaq %s\n", msfaq_version());
    return 0;
}
