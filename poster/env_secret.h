/*
 * env_secret.h - a setting from the environment: VAR, or VAR_FILE naming
 * a file that holds it.  Shared by the command-line programs (msfaq-post,
 * msfaq-matrix-bot, ...); not part of libmsfaq-post.
 *
 * A secret's file must be a regular file only its owner may access (mode
 * 0600 or 0400); anything else is refused with a message saying how to fix
 * it.  One trailing newline (or CRLF) is stripped; a value with a line
 * break or control character, an empty value, or both VAR and VAR_FILE
 * set, is refused.  Messages go to stderr as "PROG: ..." and name the
 * variable and the file, never the value.
 */
#ifndef MSFAQ_ENV_SECRET_H
#define MSFAQ_ENV_SECRET_H

#include <stdbool.h>

/* The value of var (or var_FILE) as a new string, or NULL after printing
 * why.  *unset (may be NULL) is set when neither is set; nothing is
 * printed then unless required.  secret: the file must be private, and
 * the copy is wiped when freed with msfaq_env_free(). */
char *msfaq_env_get(const char *prog, const char *var, bool secret,
                    bool required, bool *unset);

/* Wipes and frees a value from msfaq_env_get(); NULL is a no-op. */
void msfaq_env_free(char *s);

/* A file for a program's state: the value of var when set, else
 * $XDG_STATE_HOME/msfaq/NAME (an absolute XDG_STATE_HOME only), else
 * ~/.local/state/msfaq/NAME.  Missing folders on the way are made, mode
 * 0700 (errors are left for whoever opens the file).  A new string, or
 * NULL when no home folder is known or memory ran out. */
char *msfaq_env_state_path(const char *var, const char *name);

#endif
