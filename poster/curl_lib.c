/*
 * curl_lib.c - libcurl's functions, opened when a host first posts
 * (curl_lib.h says why).  The library is never closed: handles made from
 * it may live as long as the process, and libcurl's global state with
 * them.
 */
#include <pthread.h>
#include <stdio.h>

#include "curl_lib.h"

static msfaq_curl_lib lib;
static const msfaq_curl_lib *opened;
static char lib_why[256];           /* why it could not be opened, or "" */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

#ifdef MSFAQ_CURL_SONAME
#include <dlfcn.h>

/* POSIX: a function's address from dlsym converts back to its type. */
#define FIND(field, name)                                                 \
    do {                                                                  \
        void *p_ = dlsym(h, name);                                        \
        if (!p_) {                                                        \
            snprintf(lib_why, sizeof lib_why, "%s has no %s",             \
                     MSFAQ_CURL_SONAME, name);                            \
            return;                                                       \
        }                                                                 \
        *(void **)&lib.field = p_;                                        \
    } while (0)

static void open_lib(void)
{
    void *h = dlopen(MSFAQ_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(lib_why, sizeof lib_why, "cannot open libcurl: %s",
                 e ? e : MSFAQ_CURL_SONAME);
        return;
    }
    FIND(global_init, "curl_global_init");
    FIND(global_cleanup, "curl_global_cleanup");
    FIND(easy_init, "curl_easy_init");
    FIND(easy_setopt, "curl_easy_setopt");
    FIND(easy_perform, "curl_easy_perform");
    FIND(easy_getinfo, "curl_easy_getinfo");
    FIND(easy_cleanup, "curl_easy_cleanup");
    FIND(easy_strerror, "curl_easy_strerror");
    FIND(slist_append, "curl_slist_append");
    FIND(slist_free_all, "curl_slist_free_all");
    opened = &lib;
}
#else
/* Linked: the parentheses keep curl.h's type-checking macros out. */
static void open_lib(void)
{
    lib.global_init = (curl_global_init);
    lib.global_cleanup = (curl_global_cleanup);
    lib.easy_init = (curl_easy_init);
    lib.easy_setopt = (curl_easy_setopt);
    lib.easy_perform = (curl_easy_perform);
    lib.easy_getinfo = (curl_easy_getinfo);
    lib.easy_cleanup = (curl_easy_cleanup);
    lib.easy_strerror = (curl_easy_strerror);
    lib.slist_append = (curl_slist_append);
    lib.slist_free_all = (curl_slist_free_all);
    opened = &lib;
}
#endif

const msfaq_curl_lib *msfaq_curl_lib_open(char *why, size_t why_size)
{
    pthread_once(&lib_once, open_lib);
    if (!opened && why && why_size)
        snprintf(why, why_size, "%s", lib_why);
    return opened;
}
