/*
 * reply.c - the reply to one Matrix question, as msfaq-matrix-bot
 * (bot_sync.c) and msfaq serve's application service (serve/appservice.c)
 * both send it: an m.notice rich reply to the question's event, in its
 * thread when it was asked in one, mentioning the asker (libmsfaq-post's
 * Matrix target formats it and derives its transaction id from the
 * event, so a reply sent twice is posted once).  A question the library
 * refused gets the refusal sentence instead of an answer.
 *
 * Asking stays with the caller: the bot asks its own KB, the service its
 * reference-counted one with metrics; logging too, in each one's words.
 */
#include "mx.h"
#include "program.h"

int mx_send_reply(msfaq_poster *p, const char *room_id, const mx_message *m,
                  const char *question, const msfaq_result *r, int ask_code,
                  msfaq_post_receipt *rec, msfaq_error *perr)
{
    msfaq_post_message msg = MSFAQ_POST_MESSAGE_INIT;
    char why[160];
    if (r)
        msg.result = r;
    else
        program_refusal_message(&msg, ask_code, why, sizeof why);
    msg.question = question;
    msg.channel = room_id;
    msg.reply_to = m->event_id;
    msg.reply_sender = m->sender;
    msg.thread_ts = m->thread_root;
    *rec = (msfaq_post_receipt)MSFAQ_POST_RECEIPT_INIT;
    return msfaq_post_send(p, &msg, rec, perr);
}
