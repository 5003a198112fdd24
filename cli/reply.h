/* reply.h - printing replies, shared by msfaq and msfaq-repl (reply.c). */
#ifndef MSFAQ_CLI_REPLY_H
#define MSFAQ_CLI_REPLY_H

#include <stdbool.h>

#include "msfaq.h"

/* A KB error as one line on stderr: "msfaq: file:line:column: text". */
void cli_print_kb_error(const msfaq_error *e);
/* Opens path (NULL: the built-in KB), printing why it could not. */
msfaq_kb *cli_open_kb(const char *path);
/* A reply for a person: the answer, "Section: ...", what else to ask. */
void cli_print_human(const msfaq_result *r);
/* A reply explained stage by stage, then as for a person. */
void cli_print_explain(const msfaq_result *r);
/* Answers q and prints the reply (JSON, explained, or for a person).
 * Returns 0, or the error code with err filled. */
int cli_answer(msfaq_kb *kb, const char *q, bool json, bool why,
               msfaq_error *err);

#endif
