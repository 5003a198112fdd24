/*
 * bot_state.c - the bot's state file: where /sync resumes, when the bot
 * first started, and the rooms it still has to join.
 *
 * Why a file: the sync token ("since") is what makes a restart neither
 * answer a message twice nor miss one.  It is saved after a whole /sync
 * batch has been handled, never before, so a bot that dies half-way
 * through a batch gets the same batch again; the replies it had already
 * sent carry transaction ids derived from the questions, and the
 * homeserver returns the earlier reply instead of posting a second one.
 *
 * started_ms is written once, at the very first start, and never moved:
 * a message older than that is history the bot never saw and is not
 * answered, even in a room it joins much later; a message sent while the
 * bot was stopped is newer, and the saved token brings it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bot.h"

#define STATE_VERSION 1
#define STATE_MAX (1024 * 1024)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int take_lock(bot_state *s, char *err, size_t errlen)
{
    char *lock = NULL;
    if (asprintf(&lock, "%s.lock", s->path) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (s->lock_fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", lock, strerror(errno));
        free(lock);
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "%s is locked: another %s uses the state "
                 "file %s (give each bot its own --state)", lock, BOT_NAME,
                 s->path);
        free(lock);
        return -1;
    }
    free(lock);
    return 0;
}

/* Loads an existing file into s.  Returns 0 (also when there is none), or
 * -1 with err set. */
static int load(bot_state *s, const char *user_id, char *err, size_t errlen)
{
    int fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot open %s: %s", s->path,
                 strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > STATE_MAX) {
        snprintf(err, errlen, "%s is not a regular file of at most %d "
                 "bytes", s->path, STATE_MAX);
        close(fd);
        return -1;
    }
    json_error_t je;
    json_t *o = json_loadfd(fd, 0, &je);
    close(fd);
    if (!o) {
        snprintf(err, errlen, "%s:%d:%d: %s (delete the file to start "
                 "afresh; messages sent while the bot was stopped are then "
                 "not answered)", s->path, je.line, je.column, je.text);
        return -1;
    }
    int rc = -1;
    json_t *v = json_object_get(o, "version");
    const char *who = json_string_value(json_object_get(o, "user_id"));
    json_t *started = json_object_get(o, "started_ms");
    json_t *since = json_object_get(o, "since");
    json_t *pending = json_object_get(o, "pending_joins");
    if (!json_is_integer(v) || json_integer_value(v) != STATE_VERSION ||
        !who || !json_is_integer(started) ||
        !(json_is_string(since) || json_is_null(since) || !since) ||
        !(json_is_array(pending) || !pending)) {
        snprintf(err, errlen, "%s is not a version %d state file of %s",
                 s->path, STATE_VERSION, BOT_NAME);
        goto done;
    }
    if (strcmp(who, user_id) != 0) {
        snprintf(err, errlen, "%s is the state of %s, but the access token "
                 "belongs to %s: give this bot its own --state", s->path,
                 who, user_id);
        goto done;
    }
    s->started_ms = (long long)json_integer_value(started);
    if (json_is_string(since) && bot_state_set_since(s, json_string_value(
                                                        since)) < 0)
        goto nomem;
    size_t i;
    json_t *room;
    json_array_foreach(pending, i, room)
        if (json_is_string(room) &&
            bot_state_add_pending(s, json_string_value(room)) < 0)
            goto nomem;
    s->saved = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    rc = 0;
    goto done;
nomem:
    snprintf(err, errlen, "out of memory");
done:
    json_decref(o);
    return rc;
}

int bot_state_open(bot_state *s, const char *path, const char *user_id,
                   char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    s->path = strdup(path);
    s->user_id = strdup(user_id);
    if (!s->path || !s->user_id) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (take_lock(s, err, errlen) < 0 || load(s, user_id, err, errlen) < 0)
        return -1;
    if (!s->started_ms)
        s->started_ms = now_ms();
    return 0;
}

int bot_state_set_since(bot_state *s, const char *since)
{
    char *copy = strdup(since);
    if (!copy)
        return -1;
    free(s->since);
    s->since = copy;
    return 0;
}

int bot_state_add_pending(bot_state *s, const char *room_id)
{
    for (size_t i = 0; i < s->n_pending; i++)
        if (!strcmp(s->pending[i], room_id))
            return 0;
    char **v = realloc(s->pending, (s->n_pending + 1) * sizeof *v);
    if (!v)
        return -1;
    s->pending = v;
    if (!(v[s->n_pending] = strdup(room_id)))
        return -1;
    s->n_pending++;
    return 0;
}

void bot_state_drop_pending(bot_state *s, const char *room_id)
{
    for (size_t i = 0; i < s->n_pending; i++)
        if (!strcmp(s->pending[i], room_id)) {
            free(s->pending[i]);
            s->pending[i] = s->pending[--s->n_pending];
            return;
        }
}

/* write(2) all of buf. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync the folder holding path, so the rename itself is durable. */
static void sync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int bot_state_save(bot_state *s, char *err, size_t errlen)
{
    json_t *pending = json_array();
    for (size_t i = 0; pending && i < s->n_pending; i++)
        json_array_append_new(pending, json_string(s->pending[i]));
    json_t *o = json_pack("{s:i,s:s,s:I,s:s?,s:o?}", "version",
                          STATE_VERSION, "user_id", s->user_id, "started_ms",
                          (json_int_t)s->started_ms, "since", s->since,
                          "pending_joins", pending);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (s->saved && !strcmp(s->saved, text)) {
        free(text);
        return 0;
    }
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", s->path) < 0) {
        free(text);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
                  0600);
    size_t len = strlen(text);
    if (fd < 0 || write_all(fd, text, len) < 0 || write_all(fd, "\n", 1) < 0 ||
        fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        free(tmp);
        free(text);
        return -1;
    }
    close(fd);
    if (rename(tmp, s->path) != 0) {
        snprintf(err, errlen, "cannot replace %s: %s", s->path,
                 strerror(errno));
        unlink(tmp);
        free(tmp);
        free(text);
        return -1;
    }
    sync_dir(s->path);
    free(tmp);
    free(s->saved);
    s->saved = text;
    return 0;
}

void bot_state_close(bot_state *s)
{
    for (size_t i = 0; i < s->n_pending; i++)
        free(s->pending[i]);
    free(s->pending);
    free(s->since);
    free(s->saved);
    free(s->user_id);
    free(s->path);
    if (s->lock_fd >= 0)
        close(s->lock_fd);   /* releases the lock */
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
}
