/*
 * curl_lib.h - libcurl's functions, opened when a host first posts.
 *
 * Loading libcurl loads OpenSSL, Kerberos, LDAP, libssh2 and more: over
 * 3 MiB of a process's memory and thousands of relocations.  A host that
 * links libmsfaq-post (or msfaq serve, which posts only when Slack or
 * Matrix is configured) pays for that only once it opens a poster or a
 * Matrix client: msfaq_curl_lib() opens the library then (dlopen, by the
 * soname the build read: MSFAQ_CURL_SONAME), once per process.  Built
 * without a soname (MSFAQ_LAZY_CURL off), libcurl is linked as usual and
 * the table holds its functions.
 */
#ifndef MSFAQ_CURL_LIB_H
#define MSFAQ_CURL_LIB_H

#include <stddef.h>
#include <curl/curl.h>

typedef struct msfaq_curl_lib {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list,
                                       const char *text);
    void (*slist_free_all)(struct curl_slist *list);
} msfaq_curl_lib;

/* libcurl's functions, opening the library on the first call (thread
 * safe).  NULL when it cannot be opened: why (why_size bytes) then says
 * which library and the loader's reason. */
const msfaq_curl_lib *msfaq_curl_lib_open(char *why, size_t why_size);

#endif /* MSFAQ_CURL_LIB_H */
