/*
 * registration.c - msfaq-matrix-registration ("msfaq matrix-registration"):
 * writes the application-service registration file a homeserver admin
 * lists under app_service_config_files in Synapse's homeserver.yaml, with
 * two fresh random tokens, and optionally the settings file msfaq serve
 * reads (--config) to be that service.
 *
 *     as_token   msfaq serve -> homeserver (MSFAQ_MATRIX_AS_TOKEN)
 *     hs_token   homeserver -> msfaq serve (MSFAQ_MATRIX_HS_TOKEN): every
 *                transaction must carry it
 *
 * Both are 32 bytes from getrandom(), in hex.  The files hold them, so
 * they are created mode 0600 and an existing file is replaced only with
 * --force.  The bot's user is sender_localpart; an exclusive user
 * namespace for exactly that user keeps anyone else from registering it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msfaq.h"
#include "program.h"

#define NAME "msfaq-matrix-registration"
#define EXIT_USAGE 2
#define TOKEN_BYTES 32

static const char usage_text[] =
    "usage: msfaq matrix-registration --url URL [OPTIONS]\n"
    "   or: msfaq-matrix-registration [...]\n"
    "\n"
    "Writes a Matrix application-service registration for msfaq serve,\n"
    "with fresh random tokens: add the file to app_service_config_files in\n"
    "Synapse's homeserver.yaml and restart Synapse.  With --serve-config\n"
    "it also writes the settings msfaq serve needs (msfaq serve --config\n"
    "FILE).  See docs/matrix.md.\n"
    "\n"
    "options:\n"
    "  --url URL            where the homeserver reaches msfaq serve, e.g.\n"
    "                       http://127.0.0.1:8080 (required)\n"
    "  --homeserver URL     where msfaq serve reaches the homeserver, e.g.\n"
    "                       https://matrix.example.org (with --serve-config)\n"
    "  --id ID              the service's unique id (default msfaq)\n"
    "  --localpart NAME     the bot user, @NAME:server (default msfaq)\n"
    "  --server-name NAME   the homeserver's server name: the exclusive\n"
    "                       user namespace is then exactly @NAME:SERVER\n"
    "  --output FILE        write the registration to FILE (mode 0600)\n"
    "                       instead of standard output\n"
    "  --serve-config FILE  also write msfaq serve's settings to FILE\n"
    "                       (mode 0600)\n"
    "  --force              replace files that exist\n"
    "  -h, --help           this help;  -V, --version  the version\n";

#define usage_error(...) \
    program_usage_error(NAME, "msfaq matrix-registration", __VA_ARGS__)

typedef struct options {
    const char *url, *homeserver, *id, *localpart, *server_name;
    const char *output, *serve_config;
    bool force;
} options;

/* Only these characters: what Matrix allows in a localpart (lower case,
 * digits, . _ = - /), which is also safe in YAML and in a regex after
 * escaping the dot. */
static bool localpart_ok(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr("._=-/", *s)))
            return false;
    return true;
}

/* A server name: host[:port], letters, digits, . - : [ ] */
static bool server_ok(const char *s)
{
    if (!*s || strlen(s) > 255)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr(".-:[]", *s)))
            return false;
    return true;
}

/* An http(s) URL with nothing YAML or a header could trip on. */
static bool url_ok(const char *s)
{
    if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7F || *s == '"' ||
            *s == '\\' || *s == '\'')
            return false;
    return true;
}

static int parse_args(int argc, char **argv, options *o)
{
    o->id = "msfaq";
    o->localpart = "msfaq";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        char name[32];
        const char *eq = strchr(a, '=');
        if (!strncmp(a, "--", 2) && eq && (size_t)(eq - a) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
            printf(NAME " %s\n", MSFAQ_VERSION_STRING);
            return 0;
        }
        if (!strcmp(name, "--force")) {
            o->force = true;
            continue;
        }
        const char **slot = !strcmp(name, "--url") ? &o->url
            : !strcmp(name, "--homeserver") ? &o->homeserver
            : !strcmp(name, "--id") ? &o->id
            : !strcmp(name, "--localpart") ? &o->localpart
            : !strcmp(name, "--server-name") ? &o->server_name
            : !strcmp(name, "--output") ? &o->output
            : !strcmp(name, "--serve-config") ? &o->serve_config
            : NULL;
        const char *ignored = NULL;
        if (!strcmp(name, "--kb"))   /* "msfaq --kb DIR ..." passes it on */
            slot = &ignored;
        if (!slot)
            return usage_error("unknown option '%s'", a);
        if (!v) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", name);
            v = argv[++i];
        }
        *slot = v;
    }
    if (!o->url)
        return usage_error("--url is required: where the homeserver reaches "
                           "msfaq serve (http://127.0.0.1:8080)");
    if (!url_ok(o->url))
        return usage_error("--url must be an http:// or https:// URL");
    if (o->serve_config && !o->homeserver)
        return usage_error("--serve-config needs --homeserver (where msfaq "
                           "serve reaches the homeserver)");
    if (o->homeserver && !url_ok(o->homeserver))
        return usage_error("--homeserver must be an http:// or https:// "
                           "URL");
    if (!localpart_ok(o->id))
        return usage_error("--id may hold a-z 0-9 . _ = - / only");
    if (!localpart_ok(o->localpart))
        return usage_error("--localpart may hold a-z 0-9 . _ = - / only");
    if (o->server_name && !server_ok(o->server_name))
        return usage_error("--server-name is not a server name");
    return -1;
}

static bool random_hex(char *out, size_t bytes)
{
    unsigned char raw[64];
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = getrandom(raw + got, bytes - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    for (size_t i = 0; i < bytes; i++)
        sprintf(out + 2 * i, "%02x", raw[i]);
    explicit_bzero(raw, sizeof raw);
    return true;
}

/* A regex for exactly s (dots escaped; the rest needs no escape), with
 * YAML's backslash doubled: "@msfaq:example\\.org". */
static void yaml_regex(char *out, size_t size, const char *s)
{
    size_t o = 0;
    for (; *s && o + 4 < size; s++) {
        if (strchr(".[]", *s)) {
            out[o++] = '\\';
            out[o++] = '\\';
        }
        out[o++] = *s;
    }
    out[o] = '\0';
}

/* Opens path for a new secret file (0600); NULL after saying why. */
static FILE *open_private(const char *path, bool force)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
                (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, 0600);
    if (fd < 0) {
        fprintf(stderr, NAME ": %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (use --force to replace it)" : "");
        return NULL;
    }
    if (fchmod(fd, 0600) != 0) {
        fprintf(stderr, NAME ": %s: cannot make it private: %s\n", path,
                strerror(errno));
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f)
        close(fd);
    return f;
}

static bool finish(FILE *f, const char *path)
{
    bool ok = fflush(f) == 0 && !ferror(f) && (f == stdout ||
                                               fsync(fileno(f)) == 0);
    if (f != stdout)
        ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, NAME ": writing %s: %s\n", path, strerror(errno));
    return ok;
}

int main(int argc, char **argv)
{
    options o = {0};
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    char as_token[2 * TOKEN_BYTES + 1], hs_token[2 * TOKEN_BYTES + 1];
    if (!random_hex(as_token, TOKEN_BYTES) ||
        !random_hex(hs_token, TOKEN_BYTES)) {
        fprintf(stderr, NAME ": getrandom: %s\n", strerror(errno));
        return 1;
    }
    char user[400], regex[800];
    snprintf(user, sizeof user, "@%s:%s", o.localpart,
             o.server_name ? o.server_name : "");
    yaml_regex(regex, sizeof regex, user);
    if (!o.server_name)
        snprintf(regex + strlen(regex), sizeof regex - strlen(regex), ".*");

    status = 1;
    FILE *f = o.output ? open_private(o.output, o.force) : stdout;
    if (!f)
        goto done;
    fprintf(f,
            "# Matrix application service: msfaq serve answering questions\n"
            "# about immune therapy for MS (made by msfaq "
            "matrix-registration).\n"
            "# List this file under app_service_config_files in\n"
            "# homeserver.yaml and restart Synapse.  It holds two secrets:\n"
            "# keep it private (mode 0600), readable by the homeserver.\n"
            "id: \"%s\"\n"
            "url: \"%s\"\n"
            "as_token: \"%s\"\n"
            "hs_token: \"%s\"\n"
            "sender_localpart: \"%s\"\n"
            "rate_limited: false\n"
            "namespaces:\n"
            "  users:\n"
            "    - exclusive: true\n"
            "      regex: \"%s\"\n"
            "  aliases: []\n"
            "  rooms: []\n",
            o.id, o.url, as_token, hs_token, o.localpart, regex);
    if (!finish(f, o.output ? o.output : "standard output"))
        goto done;
    if (o.serve_config) {
        FILE *c = open_private(o.serve_config, o.force);
        if (!c)
            goto done;
        fprintf(c,
                "# msfaq serve settings for the Matrix application service\n"
                "# \"%s\" (made by msfaq matrix-registration; secrets: keep\n"
                "# this file mode 0600).  Use: msfaq serve --config FILE\n"
                "MSFAQ_MATRIX_HOMESERVER=%s\n"
                "MSFAQ_MATRIX_AS_ID=%s\n"
                "MSFAQ_MATRIX_AS_TOKEN=%s\n"
                "MSFAQ_MATRIX_HS_TOKEN=%s\n",
                o.id, o.homeserver, o.id, as_token, hs_token);
        if (!finish(c, o.serve_config))
            goto done;
    }
    if (o.output)
        fprintf(stderr, "wrote %s%s%s; the bot user is @%s:%s\n", o.output,
                o.serve_config ? " and " : "",
                o.serve_config ? o.serve_config : "", o.localpart,
                o.server_name ? o.server_name : "<server name>");
    status = 0;
done:
    explicit_bzero(as_token, sizeof as_token);
    explicit_bzero(hs_token, sizeof hs_token);
    return status;
}
