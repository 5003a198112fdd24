/*
 * dead_letter.c - append one undelivered message to the dead-letter file.
 *
 * The file is JSON lines, shared by every process that posts: each line is
 * written with one write() to a descriptor opened O_APPEND, under an
 * exclusive flock(), so concurrent writers never interleave, even for
 * lines longer than PIPE_BUF or when a write() comes back short.  The file
 * holds questions about people's health, so it is created 0600 and an
 * existing file that others could read is tightened to 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "post_private.h"

static int lock_fd(int fd, int op)
{
    int rc;
    do
        rc = flock(fd, op);
    while (rc == -1 && errno == EINTR);
    return rc;
}

int msfaqp_post_dead_letter_append(const char *path, const char *line,
                              size_t len, char *why, size_t why_size)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
                  0600);
    if (fd < 0) {
        snprintf(why, why_size, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "%s is not a regular file", path);
        goto fail;
    }
    if ((st.st_mode & 077) && fchmod(fd, 0600) != 0) {
        snprintf(why, why_size, "cannot make %s private (mode 0600): %s",
                 path, strerror(errno));
        goto fail;
    }
    if (lock_fd(fd, LOCK_EX) != 0) {
        snprintf(why, why_size, "cannot lock %s: %s", path, strerror(errno));
        goto fail;
    }
    /* where this record starts, to take back a half-written one */
    off_t start = lseek(fd, 0, SEEK_END);
    /* the line and its newline in one buffer: one write() in the
     * usual case */
    char *rec = malloc(len + 1);
    if (!rec) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    memcpy(rec, line, len);
    rec[len] = '\n';
    size_t off = 0;
    while (off < len + 1) {
        ssize_t n = write(fd, rec + off, len + 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, why_size, "cannot write %s: %s", path,
                     n < 0 ? strerror(errno) : "no progress");
            if (off > 0 && start >= 0 && ftruncate(fd, start) != 0) {
                /* nothing more to do: the reason above is the news */
            }
            free(rec);
            goto fail;
        }
        off += (size_t)n;
    }
    free(rec);
    if (fsync(fd) != 0 && errno != EINVAL) {
        snprintf(why, why_size, "cannot sync %s: %s", path, strerror(errno));
        goto fail;
    }
    lock_fd(fd, LOCK_UN);
    close(fd);
    return 0;
fail:
    close(fd);   /* also releases the lock */
    return -1;
}
