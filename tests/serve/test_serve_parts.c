/*
 * test_serve_parts.c - msfaq-serve's pieces without HTTP: form decoding,
 * the metrics text, the KB swap on reload, the settings (environment,
 * NAME_FILE, config file), and the chat page's parts (web origins, CSP,
 * the compiled-in files).
 *
 * The server itself is driven over HTTP by test_serve.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve.h"

/* ------------------------------------------------------------- form */

static void test_form(void **state)
{
    (void)state;
    serve_form f;
    size_t len;
    const char *body = "command=%2Ffaq&text=what+is+CAR%20T%3F&empty=&flag"
                       "&&x=%e2%80%a2";
    assert_int_equal(serve_form_parse(body, strlen(body), &f), 0);
    assert_string_equal(serve_form_get(&f, "command", NULL), "/faq");
    assert_string_equal(serve_form_get(&f, "text", &len), "what is CAR T?");
    assert_int_equal(len, 14);
    assert_string_equal(serve_form_get(&f, "empty", NULL), "");
    assert_string_equal(serve_form_get(&f, "flag", NULL), "");
    assert_string_equal(serve_form_get(&f, "x", NULL), "\xe2\x80\xa2");
    assert_null(serve_form_get(&f, "missing", NULL));
    serve_form_free(&f);

    /* a NUL in a value is kept, with its length */
    assert_int_equal(serve_form_parse("text=a%00b", 10, &f), 0);
    assert_string_equal(serve_form_get(&f, "text", &len), "a");
    assert_int_equal(len, 3);
    serve_form_free(&f);

    assert_int_equal(serve_form_parse("", 0, &f), 0);
    assert_int_equal(f.count, 0);
    serve_form_free(&f);

    static const char *const bad[] = {"text=%", "text=%4", "text=%zz",
                                      "a=1&%=2", "=value", "n%00me=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(serve_form_parse(bad[i], strlen(bad[i]), &f), -1);
        assert_int_equal(f.count, 0);
    }
}

/* ---------------------------------------------------------- metrics */

static void test_metrics(void **state)
{
    (void)state;
    serve_metrics m;
    serve_metrics_init(&m);
    serve_metrics_request(&m, SERVE_ROUTE_ASK, 200, 0.0003);
    serve_metrics_request(&m, SERVE_ROUTE_ASK, 200, 2.0);
    serve_metrics_request(&m, SERVE_ROUTE_OTHER, 404, 0.00001);
    serve_metrics_request(&m, SERVE_ROUTE_ASK, 418, 0.00001);
    serve_metrics_request(&m, SERVE_ROUTE_WEB_WIDGET, 304, 0.00001);
    serve_metrics_answer(&m, MSFAQ_KIND_SAFETY);
    serve_metrics_answer(&m, -1);
    serve_metrics_event(&m, SERVE_EVENT_DUPLICATE);
    size_t len;
    char *text = serve_metrics_render(&m, 3, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    static const char *const want[] = {
        "# TYPE msfaq_http_requests_total counter\n",
        "msfaq_http_requests_total{route=\"/v1/ask\",status=\"200\"} 2\n",
        "msfaq_http_requests_total{route=\"/v1/ask\",status=\"other\"} 1\n",
        "msfaq_http_requests_total{route=\"other\",status=\"404\"} 1\n",
        "msfaq_http_requests_total{route=\"/widget.js\",status=\"304\"} "
        "1\n",
        "# TYPE msfaq_http_request_duration_seconds histogram\n",
        "msfaq_http_request_duration_seconds_bucket{route=\"/v1/ask\","
        "le=\"0.00025\"} 1\n",
        "msfaq_http_request_duration_seconds_bucket{route=\"/v1/ask\","
        "le=\"0.0005\"} 2\n",
        "msfaq_http_request_duration_seconds_bucket{route=\"/v1/ask\","
        "le=\"1\"} 2\n",
        "msfaq_http_request_duration_seconds_bucket{route=\"/v1/ask\","
        "le=\"+Inf\"} 3\n",
        "msfaq_http_request_duration_seconds_count{route=\"/v1/ask\"} 3\n",
        "msfaq_http_requests_in_flight 3\n",
        "msfaq_answers_total{kind=\"safety\"} 1\n",
        "msfaq_answers_total{kind=\"error\"} 1\n",
        "msfaq_answers_total{kind=\"answer\"} 0\n",
        "msfaq_slack_events_total{outcome=\"duplicate\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(text, want[i]))
            fail_msg("missing from /metrics: %s", want[i]);
    free(text);
}

/* --------------------------------------------------------------- KB */

static void test_kb_reload(void **state)
{
    (void)state;
    serve_kbslot slot;
    msfaq_error err;
    assert_int_equal(serve_kb_init(&slot, NULL, &err), MSFAQ_OK);
    serve_kbref *old = serve_kb_acquire(&slot);

    /* a failed reload keeps the KB in use */
    assert_true(serve_kb_reload(&slot, "/nonexistent/kb", &err) < 0);
    serve_kbref *same = serve_kb_acquire(&slot);
    assert_ptr_equal(same, old);
    serve_kb_release(same);

    /* a good one swaps it; the old one lives while it is held */
    assert_int_equal(serve_kb_reload(&slot, NULL, &err), MSFAQ_OK);
    serve_kbref *fresh = serve_kb_acquire(&slot);
    assert_ptr_not_equal(fresh, old);
    msfaq_result *r;
    assert_true(msfaq_ask(old->kb, "what is MS?", 0, &r, &err) >= 0);
    msfaq_result_free(r);
    serve_kb_release(old);          /* closes it (ASan checks the rest) */
    serve_kb_release(fresh);
    serve_kb_destroy(&slot);
}

/* ----------------------------------------------------------- config */

static const char *const names[] = {
    "MSFAQ_SLACK_SIGNING_SECRET", "MSFAQ_SLACK_BOT_TOKEN",
    "MSFAQ_MATTERMOST_TOKEN",     "MSFAQ_SLACK_API_URL",
    "MSFAQ_SLACK_RESPONSE_TYPE",  "MSFAQ_SLACK_BOT_USER_ID",
    "MSFAQ_WEB_ORIGINS"};

static void clear_env(void)
{
    char name[64];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        unsetenv(names[i]);
        snprintf(name, sizeof name, "%s_FILE", names[i]);
        unsetenv(name);
    }
}

static char tmpdir[] = "/tmp/msfaq-serve-test-XXXXXX";

static const char *write_file(const char *name, const char *text, int mode)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
    return path;
}

static int load(const char *file, serve_config *cfg, char *err, size_t n)
{
    memset(cfg, 0, sizeof *cfg);
    err[0] = '\0';
    return serve_config_load(cfg, file, err, n);
}

static void test_config(void **state)
{
    (void)state;
    serve_config cfg;
    char err[512];
    assert_non_null(mkdtemp(tmpdir));
    clear_env();

    /* nothing set: defaults */
    assert_int_equal(load(NULL, &cfg, err, sizeof err), 0);
    assert_null(cfg.slack_signing_secret);
    assert_string_equal(cfg.slack_api_url, "https://slack.com/api");
    assert_false(cfg.slack_in_channel);
    serve_config_free(&cfg);

    /* environment, NAME_FILE, trailing slash and newline dropped */
    setenv("MSFAQ_SLACK_SIGNING_SECRET", "env-secret", 1);
    setenv("MSFAQ_SLACK_API_URL", "http://127.0.0.1:9/api/", 1);
    setenv("MSFAQ_SLACK_RESPONSE_TYPE", "in_channel", 1);
    setenv("MSFAQ_MATTERMOST_TOKEN_FILE",
           write_file("mm", "mm-token\n", 0600), 1);
    assert_int_equal(load(NULL, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.slack_signing_secret, "env-secret");
    assert_string_equal(cfg.mattermost_token, "mm-token");
    assert_string_equal(cfg.slack_api_url, "http://127.0.0.1:9/api");
    assert_true(cfg.slack_in_channel);
    serve_config_free(&cfg);

    /* a secret file others may read is refused, naming no value */
    setenv("MSFAQ_MATTERMOST_TOKEN_FILE",
           write_file("mm", "mm-token\n", 0644), 1);
    assert_int_equal(load(NULL, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "group or others"));
    assert_null(strstr(err, "mm-token"));

    /* NAME and NAME_FILE together are refused */
    write_file("mm", "mm-token\n", 0600);
    setenv("MSFAQ_MATTERMOST_TOKEN", "direct", 1);
    assert_int_equal(load(NULL, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "not both"));
    clear_env();

    setenv("MSFAQ_SLACK_RESPONSE_TYPE", "loud", 1);
    assert_int_equal(load(NULL, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "MSFAQ_SLACK_RESPONSE_TYPE"));
    clear_env();

    /* the config file; the environment wins over it */
    char conf[256];
    snprintf(conf, sizeof conf, "%s", write_file(
        "serve.conf",
        "# msfaq-serve\n"
        "MSFAQ_SLACK_SIGNING_SECRET = \"file-secret\"\n"
        "\n"
        "MSFAQ_SLACK_BOT_TOKEN_FILE=bot\n"
        "MSFAQ_SLACK_BOT_USER_ID=UBOT\n",
        0600));
    write_file("bot", "xoxb-file\n", 0400);
    setenv("MSFAQ_SLACK_BOT_USER_ID", "UENV", 1);
    assert_int_equal(load(conf, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.slack_signing_secret, "file-secret");
    assert_string_equal(cfg.slack_bot_token, "xoxb-file");
    assert_string_equal(cfg.slack_bot_user_id, "UENV");
    serve_config_free(&cfg);
    clear_env();

    /* a config file holding a secret must be private */
    chmod(conf, 0640);
    assert_int_equal(load(conf, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "group or others"));
    assert_null(strstr(err, "file-secret"));

    /* bad lines name the line, never its text */
    const char *bad = write_file("bad.conf", "xoxb-pasted-token\n", 0600);
    assert_int_equal(load(bad, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.conf:1: expected NAME=VALUE"));
    assert_null(strstr(err, "xoxb"));
    bad = write_file("bad.conf", "\nMSFAQ_NOPE=1\n", 0600);
    assert_int_equal(load(bad, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.conf:2: unknown setting MSFAQ_NOPE"));
    bad = write_file("bad.conf", "xoxb-secret=1\n", 0600);
    assert_int_equal(load(bad, &cfg, err, sizeof err), -1);
    assert_null(strstr(err, "xoxb"));
    bad = write_file("bad.conf", "MSFAQ_SLACK_BOT_USER_ID=A\n"
                                 "MSFAQ_SLACK_BOT_USER_ID=B\n", 0600);
    assert_int_equal(load(bad, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.conf:2: MSFAQ_SLACK_BOT_USER_ID is set "
                                "twice"));

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* -------------------------------------------------------------- web */

static void test_web_origins(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;   /* out NULL: refused */
    } cases[] = {
        {"https://clinic.example", "https://clinic.example"},
        {"HTTPS://Clinic.EXAMPLE/", "https://clinic.example"},
        {"https://clinic.example:443", "https://clinic.example"},
        {"http://clinic.example:80/", "http://clinic.example"},
        {"https://clinic.example:80", "https://clinic.example:80"},
        {"http://127.0.0.1:8000", "http://127.0.0.1:8000"},
        {"http://localhost:08000", "http://localhost:8000"},
        {"http://[::1]:8080", "http://[::1]:8080"},
        {"http://[FE80::1]", "http://[fe80::1]"},
        {"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
        {"*", NULL},
        {"null", NULL},
        {"clinic.example", NULL},
        {"//clinic.example", NULL},
        {"ftp://clinic.example", NULL},
        {"https://", NULL},
        {"https://clinic.example/path", NULL},
        {"https://clinic.example//", NULL},
        {"https://clinic.example?x", NULL},
        {"https://clinic.example#x", NULL},
        {"https://user@clinic.example", NULL},
        {"https://clinic.example:", NULL},
        {"https://clinic.example:0", NULL},
        {"https://clinic.example:65536", NULL},
        {"https://clinic.example:1234567", NULL},
        {"https://clinic.example x", NULL},
        {"https://clinic.example;script-src *", NULL},
        {"https://clinic.example\r\nSet-Cookie: a=b", NULL},
        {"https://'self'", NULL},
        {"https://[::1", NULL},
        {"https://[]", NULL},
        {"https://[::1]x", NULL},
        {"https://.example", NULL},
        {"https://b\xc3\xbc" "cher.example", NULL},
    };
    char out[300];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bool ok = serve_web_origin_canon(cases[i].in, out, sizeof out);
        if (ok != (cases[i].out != NULL))
            fail_msg("%s: %s", cases[i].in, ok ? "accepted" : "refused");
        if (ok)
            assert_string_equal(out, cases[i].out);
    }
    /* too small a buffer is a refusal, not a cut origin */
    assert_false(serve_web_origin_canon("https://clinic.example", out, 10));

    serve_config cfg;
    char err[512];
    clear_env();

    /* not set: no origins; frame-ancestors 'none' */
    assert_int_equal(load(NULL, &cfg, err, sizeof err), 0);
    assert_null(cfg.web_origins);
    assert_int_equal(cfg.web_origin_count, 0);
    assert_null(serve_web_allowed_origin(&cfg, "https://clinic.example"));
    char *csp = serve_web_csp(&cfg);
    assert_non_null(csp);
    assert_string_equal(csp,
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; require-trusted-types-for 'script'; "
        "trusted-types 'none'; frame-ancestors 'none'");
    free(csp);
    serve_config_free(&cfg);

    /* a list, canonical, empty entries skipped */
    setenv("MSFAQ_WEB_ORIGINS", " HTTPS://Clinic.Example/ ,,"
           "http://127.0.0.1:8000,", 1);
    assert_int_equal(load(NULL, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.web_origin_count, 2);
    assert_string_equal(cfg.web_origins[0], "https://clinic.example");
    assert_string_equal(cfg.web_origins[1], "http://127.0.0.1:8000");
    assert_null(cfg.web_origins[2]);
    assert_ptr_equal(serve_web_allowed_origin(&cfg,
                                              "http://127.0.0.1:8000"),
                     cfg.web_origins[1]);
    assert_null(serve_web_allowed_origin(&cfg, "HTTPS://CLINIC.EXAMPLE"));
    assert_null(serve_web_allowed_origin(&cfg, "http://127.0.0.1:800"));
    assert_null(serve_web_allowed_origin(&cfg, "http://127.0.0.1:80000"));
    assert_null(serve_web_allowed_origin(&cfg, NULL));
    csp = serve_web_csp(&cfg);
    assert_non_null(csp);
    assert_non_null(strstr(csp, "; frame-ancestors https://clinic.example "
                                "http://127.0.0.1:8000"));
    assert_int_equal(csp[strlen(csp) - 1], '0');
    free(csp);
    serve_config_free(&cfg);
    assert_null(cfg.web_origins);

    /* only separators: not set */
    setenv("MSFAQ_WEB_ORIGINS", " , ,", 1);
    assert_int_equal(load(NULL, &cfg, err, sizeof err), 0);
    assert_null(cfg.web_origins);
    serve_config_free(&cfg);

    /* refusals name the setting and the entry */
    setenv("MSFAQ_WEB_ORIGINS", "https://clinic.example,https://a/b", 1);
    assert_int_equal(load(NULL, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "MSFAQ_WEB_ORIGINS: entry 2 is not an "
                                "origin"));
    setenv("MSFAQ_WEB_ORIGINS", "*", 1);
    assert_int_equal(load(NULL, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "* is not accepted"));
    char many[80 * 20] = "";
    for (int i = 0; i < 65; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many),
                 "http://h%d,", i);
    setenv("MSFAQ_WEB_ORIGINS", many, 1);
    assert_int_equal(load(NULL, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 64 origins"));
    clear_env();
}

static void test_web_files(void **state)
{
    (void)state;
    static const char *const paths[] = {"/", "/chat.css", "/chat.js",
                                        "/widget.js"};
    static const int routes[] = {SERVE_ROUTE_WEB_PAGE, SERVE_ROUTE_WEB_CSS,
                                 SERVE_ROUTE_WEB_JS, SERVE_ROUTE_WEB_WIDGET};
    assert_int_equal(serve_web_file_count, 4);
    for (size_t i = 0; i < 4; i++) {
        const serve_web_file *f = serve_web_find(paths[i]);
        assert_non_null(f);
        /* the route's metrics label is the file's path */
        assert_string_equal(serve_route_path(routes[i]), paths[i]);
        assert_true(f->size > 100);
        assert_int_equal(strlen(f->etag), 34);
        assert_int_equal(f->etag[0], '"');
        assert_int_equal(f->etag[33], '"');
        assert_non_null(strstr(f->content_type, "; charset=utf-8"));
        assert_int_equal(f->data[f->size], 0);
    }
    assert_null(serve_web_find("/chat.html"));
    assert_null(serve_web_find(""));

    /* the handler: 200 from static memory, 304 for a matching tag */
    serve_app app = {0};
    serve_request rq = {.route = SERVE_ROUTE_WEB_JS};
    serve_reply rp = {.status = 500};
    serve_route_web(&app, &rq, &rp);
    assert_int_equal(rp.status, 200);
    assert_null(rp.body);
    assert_ptr_equal(rp.data, serve_web_find("/chat.js")->data);
    assert_true(rp.web);
    assert_string_equal(rp.cache_control, "no-cache");
    char inm[64];
    snprintf(inm, sizeof inm, "\"x\", W/%s", rp.etag);
    rq.if_none_match = inm;
    serve_reply rp304 = {.status = 500};
    serve_route_web(&app, &rq, &rp304);
    assert_int_equal(rp304.status, 304);
    assert_null(rp304.data);
    assert_int_equal(rp304.len, 0);
    rq.if_none_match = "\"x\"";
    serve_reply again = {.status = 500};
    serve_route_web(&app, &rq, &again);
    assert_int_equal(again.status, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_kb_reload),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_web_origins),
        cmocka_unit_test(test_web_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
