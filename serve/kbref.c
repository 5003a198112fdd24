/*
 * kbref.c - the KB requests use, swapped on reload.
 *
 * A reload opens the new KB off to the side; only when that succeeded is
 * the slot's pointer swapped.  Every user holds a reference, so requests
 * already running finish on the old KB, and the last of them closes it.
 *
 * Why a mutex around "read the pointer, take a reference": done with
 * atomics alone, a reader could load the pointer, be preempted while a
 * reload drops the last reference and closes that KB, and then increment
 * a count in freed memory.  Fixing that without a lock needs hazard
 * pointers or epochs; a mutex held for two instructions is simpler and
 * costs nothing next to answering a question.  The count itself is
 * atomic, so releasing never takes the lock.
 */
#include <stdio.h>
#include <stdlib.h>

#include "serve.h"

static serve_kbref *kbref_open(const char *dir, msfaq_error *err)
{
    msfaq_kb *kb = msfaq_kb_open(dir, 0, err);
    if (!kb)
        return NULL;
    serve_kbref *ref = malloc(sizeof *ref);
    if (!ref) {
        msfaq_kb_close(kb);
        if (err) {
            err->code = MSFAQ_ENOMEM;
            snprintf(err->text, sizeof err->text, "%s",
                     msfaq_strerror(MSFAQ_ENOMEM));
        }
        return NULL;
    }
    ref->kb = kb;
    atomic_init(&ref->refs, 1);   /* the slot's reference */
    return ref;
}

int serve_kb_init(serve_kbslot *slot, const char *dir, msfaq_error *err)
{
    slot->current = kbref_open(dir, err);
    if (!slot->current)
        return err ? err->code : MSFAQ_EIO;
    pthread_mutex_init(&slot->lock, NULL);
    return MSFAQ_OK;
}

serve_kbref *serve_kb_acquire(serve_kbslot *slot)
{
    pthread_mutex_lock(&slot->lock);
    serve_kbref *ref = slot->current;
    atomic_fetch_add_explicit(&ref->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&slot->lock);
    return ref;
}

void serve_kb_release(serve_kbref *ref)
{
    if (!ref)
        return;
    /* acq_rel: the thread that closes sees every other user's last reads */
    if (atomic_fetch_sub_explicit(&ref->refs, 1, memory_order_acq_rel) == 1) {
        msfaq_kb_close(ref->kb);
        free(ref);
    }
}

int serve_kb_reload(serve_kbslot *slot, const char *dir, msfaq_error *err)
{
    serve_kbref *fresh = kbref_open(dir, err);
    if (!fresh)
        return err ? err->code : MSFAQ_EIO;
    pthread_mutex_lock(&slot->lock);
    serve_kbref *old = slot->current;
    slot->current = fresh;
    pthread_mutex_unlock(&slot->lock);
    serve_kb_release(old);
    return MSFAQ_OK;
}

void serve_kb_destroy(serve_kbslot *slot)
{
    serve_kb_release(slot->current);
    slot->current = NULL;
    pthread_mutex_destroy(&slot->lock);
}
