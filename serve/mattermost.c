/*
 * mattermost.c - POST /mattermost: Mattermost outgoing webhooks.
 *
 * Mattermost posts the message that triggered the webhook as a form
 * (default) or as JSON, with the webhook's token in the body; there is no
 * signature.  The token is compared in constant time with
 * MSFAQ_MATTERMOST_TOKEN: a missing one gets 401, a wrong one 403.  The
 * reply is {"text": markdown} with the question, the answer, the article
 * section and the follow-up questions, formatted (and markdown-escaped)
 * by libmsfaq-post as for its Mattermost target; Mattermost posts it in
 * the channel.
 *
 * The body is parsed before the token can be checked, since the token is
 * in it; a malformed body gets a 400 that says nothing about the token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msfaq_post.h"
#include "serve.h"
#include "program.h"

/* The fields we use, borrowed from the parsed body. */
struct hook {
    const char *token;
    const char *text;
    size_t text_len;
    const char *trigger_word;
    bool bad_token;            /* holds a NUL byte */
};

/* The question: text without the trigger word it starts with. */
static const char *question_of(const struct hook *h)
{
    const char *q = h->text;
    size_t tw = h->trigger_word ? strlen(h->trigger_word) : 0;
    if (tw && !strncmp(q, h->trigger_word, tw))
        q += tw;
    while (*q == ' ' || *q == '\t' || *q == '\n')
        q++;
    return q;
}

static void answer(serve_app *app, const struct hook *h, serve_reply *rp)
{
    serve_answer ans;
    msfaq_error err = {.code = MSFAQ_EUTF8};
    int rc = strlen(h->text) == h->text_len
                 ? serve_ask(app, question_of(h), 0, &ans, &err)
                 : MSFAQ_EUTF8;
    if (rc >= 0) {
        json_t *reply = serve_format_json(MSFAQ_POST_MATTERMOST,
                                          question_of(h), ans.result);
        serve_answer_free(&ans);
        serve_reply_json(rp, 200, reply);
    } else if (err.code == MSFAQ_EUTF8 || err.code == MSFAQ_ETOOLONG) {
        /* a 200, so the person sees why there is no answer */
        char why[128];
        program_refusal(err.code, why, sizeof why);
        serve_reply_json(rp, 200, json_pack("{s:s}", "text", why));
        rp->note = err.code == MSFAQ_EUTF8 ? "invalid_utf8"
                                           : "question_too_long";
    } else {
        serve_reply_ask_error(rp, &err);
    }
}

static void check_and_answer(serve_app *app, const struct hook *h,
                             serve_reply *rp)
{
    if (!h->token) {
        serve_reply_error(rp, 401, "missing_token",
                          "the request carries no token");
    } else if (!serve_token_equal(h->token, app->cfg->mattermost_token) ||
               h->bad_token) {
        serve_reply_error(rp, 403, "bad_token", "the token is not valid");
    } else if (!h->text) {
        serve_reply_error(rp, 400, "missing_text",
                          "the request carries no text");
    } else {
        answer(app, h, rp);
    }
}

void serve_route_mattermost(serve_app *app, const serve_request *rq,
                            serve_reply *rp)
{
    if (!app->cfg->mattermost_token) {
        serve_reply_error(rp, 503, "not_configured",
                          "Mattermost is not configured on this server");
        return;
    }
    struct hook h = {0};
    const char *ct = rq->content_type;
    if (ct && !strncasecmp(ct, "application/json", 16)) {
        json_error_t je;
        json_t *in = json_loadb(rq->body, rq->body_len, 0, &je);
        if (!json_is_object(in)) {
            serve_reply_error(rp, 400, "invalid_json", "%s",
                              in ? "the body must be a JSON object"
                                 : je.text);
        } else {
            h.token = json_string_value(json_object_get(in, "token"));
            h.text = json_string_value(json_object_get(in, "text"));
            h.text_len = h.text ? json_string_length(json_object_get(
                                      in, "text"))
                                : 0;
            h.trigger_word =
                json_string_value(json_object_get(in, "trigger_word"));
            check_and_answer(app, &h, rp);
        }
        json_decref(in);
        return;
    }
    serve_form form;
    if (serve_form_parse(rq->body, rq->body_len, &form) < 0) {
        serve_reply_error(rp, 400, "invalid_form",
                          "the body is not application/x-www-form-urlencoded");
        return;
    }
    size_t token_len;
    h.token = serve_form_get(&form, "token", &token_len);
    /* "right%00anything" must not pass as "right" */
    h.bad_token = h.token && strlen(h.token) != token_len;
    h.text = serve_form_get(&form, "text", &h.text_len);
    h.trigger_word = serve_form_get(&form, "trigger_word", NULL);
    check_and_answer(app, &h, rp);
    serve_form_free(&form);
}
