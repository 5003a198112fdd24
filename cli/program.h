/* program.h - what the msfaq programs (msfaq, msfaq-post, msfaq-serve,
 * msfaq-matrix-bot, ...) share: one way to report bad usage and one log
 * line format.  A static library; not part of any ABI. */
#ifndef MSFAQ_PROGRAM_H
#define MSFAQ_PROGRAM_H

#include <stdarg.h>
#include <stddef.h>

#define PROGRAM_EXIT_USAGE 2

/* Prints "PROG: message" and "Try 'HELP --help'." on stderr; returns
 * PROGRAM_EXIT_USAGE.  A program defines its own one-line shorthand:
 *     #define usage_error(...) \
 *         program_usage_error("msfaq-post", "msfaq post", __VA_ARGS__) */
int program_usage_error(const char *prog, const char *help, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

/* The reply for a question the library refused (msfaq_ask's error code):
 * too long, not UTF-8, or anything else, as one sentence into buf. */
void program_refusal(int code, char *buf, size_t size);

struct msfaq_post_message;

/* Makes msg (a libmsfaq-post message) the reply to a question that
 * msfaq_ask() refused with code: program_refusal()'s sentence, written to
 * buf (which must outlive msg's use), as a fallback without a result.
 * The one "ask failed, reply with the refusal" path of the chat adapters
 * (Slack events, the Matrix bot and application service).  Only fills
 * fields: msfaq_program does not link libmsfaq-post. */
void program_refusal_message(struct msfaq_post_message *msg, int code,
                             char *buf, size_t size);

/* One log line on stderr: UTC time to the millisecond, "PROG: ", the
 * message.  A single write(2), so lines from several threads never mix;
 * cut at 1 KiB. */
void program_log(const char *prog, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
