/* test_util.h - small helpers shared by the unit tests. */
#ifndef MSFAQ_TEST_UTIL_H
#define MSFAQ_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Paths baked in by tests/unit/CMakeLists.txt. */
#ifndef TEST_KB_DIR
#error "TEST_KB_DIR must point at tests/kb"
#endif

/* Copies every regular file under src into dst (made as needed). */
static inline int tu_copy_tree(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    if (!d)
        return -1;
    mkdir(dst, 0700);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        if (e->d_name[0] == '.')
            continue;
        char s[1024], t[1024];
        snprintf(s, sizeof s, "%s/%s", src, e->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, e->d_name);
        struct stat st;
        if (stat(s, &st))
            rc = -1;
        else if (S_ISDIR(st.st_mode))
            rc = tu_copy_tree(s, t);
        else {
            FILE *in = fopen(s, "rb"), *out = fopen(t, "wb");
            char buf[4096];
            size_t n;
            if (!in || !out)
                rc = -1;
            while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
                if (fwrite(buf, 1, n, out) != n)
                    rc = -1;
            if (in)
                fclose(in);
            if (out)
                fclose(out);
        }
    }
    closedir(d);
    return rc;
}

static inline void tu_remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            tu_remove_tree(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A fresh copy of tests/kb/base in a temporary folder: name receives it. */
static inline int tu_base_kb(char *name, size_t size)
{
    snprintf(name, size, "/tmp/msfaq-kb-XXXXXX");
    if (!mkdtemp(name))
        return -1;
    return tu_copy_tree(TEST_KB_DIR "/base", name);
}

#endif
