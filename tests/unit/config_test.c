/*
 * Tests for node/config.c: the defaults, a full valid file, every kind of refusal with its exact
 * code, sentence and line, each limit at and just past its bound, repeated upstreams, flags
 * (config_set) overriding the file, and deploy/cdht.conf.example, which must load and give
 * exactly the defaults, and name every key (so the example cannot rot). Files are written into
 * a support_tmpdir; the example is read from the source tree (make runs the tests from there).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "support.h"

#define EXAMPLE_PATH "deploy/cdht.conf.example"

static char *dir;

static void
setup(void)
{
    dir = support_tmpdir();
}

static void
teardown(void)
{
    support_rmrf(dir);
    free(dir);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Writes text to dir/name; returns the malloc'd path. */
static char *
write_file(const char *name, const char *text, size_t len)
{
    char *path = support_path(dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    return path;
}

/* Loads text on top of the defaults; the result, why and line in the out-params. */
static err_code
load_text(const char *text, struct config *c, char why[CONFIG_WHY_SIZE], unsigned *line)
{
    char *path = write_file("t.conf", text, strlen(text));
    config_defaults(c);
    err_code rc = config_load(c, path, why, line);
    free(path);
    return rc;
}

/* text is refused with want, exactly the sentence want_why, at want_line; c stays the
 * defaults. */
static void
expect_refused(const char *text, err_code want, const char *want_why, unsigned want_line)
{
    struct config c, d;
    char why[CONFIG_WHY_SIZE];
    unsigned line = 12345;
    err_code rc = load_text(text, &c, why, &line);
    cr_assert_eq(rc, want, "input \"%s\": got %s (%s)", text, err_str(rc), why);
    cr_assert_str_eq(why, want_why, "input \"%s\"", text);
    cr_assert_eq(line, want_line, "input \"%s\": line %u", text, line);
    config_defaults(&d);
    cr_assert_str_eq(c.listen, d.listen, "a refused file changes nothing");
    cr_assert_eq(c.upstream_count, 0);
    cr_assert_eq(c.interval_s, d.interval_s);
}

static void
expect_loads(const char *text, struct config *c)
{
    char why[CONFIG_WHY_SIZE];
    unsigned line = 12345;
    err_code rc = load_text(text, c, why, &line);
    cr_assert_eq(rc, ERR_OK, "input \"%s\": %s at line %u: %s", text, err_str(rc), line, why);
    cr_assert_str_eq(why, "");
    cr_assert_eq(line, 0);
}

/* Every field is the default: config_defaults and the example must agree with this. */
static void
expect_defaults(const struct config *c)
{
    cr_assert_str_eq(c->listen, CONFIG_LISTEN_DEFAULT);
    cr_assert_str_eq(c->control_socket, "");
    cr_assert_eq(c->log_level, CONFIG_LOG_LEVEL_DEFAULT);
    cr_assert_eq(c->upstream_count, 0);
    cr_assert_eq(c->interval_s, CONFIG_INTERVAL_S_DEFAULT);
    cr_assert_eq(c->jitter_percent, CONFIG_JITTER_PERCENT_DEFAULT);
    cr_assert_eq(c->backoff_initial_s, CONFIG_BACKOFF_INITIAL_S_DEFAULT);
    cr_assert_eq(c->backoff_max_s, CONFIG_BACKOFF_MAX_S_DEFAULT);
    cr_assert_eq(c->session_timeout_s, CONFIG_SESSION_TIMEOUT_S_DEFAULT);
    cr_assert_eq(c->peers_max, CONFIG_PEERS_MAX_DEFAULT);
}

/* The defaults are the documented ones, and they pass the cross-key check. */
/* A device key for the upstream lines ("upstream = URL KEY"). */
#define UK "munsIVaQFnyfiORkuJ3NNspIdE6JJpf8xaGnauBWk5c="

Test(config, defaults)
{
    struct config c;
    char why[CONFIG_WHY_SIZE];
    config_defaults(&c);
    expect_defaults(&c);
    cr_assert_str_eq(c.listen, "tcp://127.0.0.1:7411");
    cr_assert_eq(c.log_level, DIAG_INFO);
    cr_assert_eq(config_check(&c, why), ERR_OK);
}

/* An empty file and a file of comments and blank lines change nothing. */
Test(config, empty_file_is_defaults)
{
    struct config c;
    expect_loads("", &c);
    expect_defaults(&c);
    expect_loads("# a comment\n\n; another\n   \n[node]\n[sync]\n[limits]\n", &c);
    expect_defaults(&c);
}

/* Every key set away from its default, with CRLF line ends, a BOM and blanks around "=". */
Test(config, full_file)
{
    struct config c;
    expect_loads("\xef\xbb\xbf# hub of commune 44001\r\n"
                 "[node]\r\n"
                 "listen = tcp://*:7500\r\n"
                 "control_socket = /run/cdht/control.sock\r\n"
                 "log_level=debug\r\n"
                 "[sync]\n"
                 "upstream = tcp://hub.example.org:7411 " UK "\n"
                 "upstream = tcp://[2001:db8::1]:7411 " UK "\n"
                 "interval_s = 60\n"
                 "jitter_percent = 0\n"
                 "backoff_initial_s = 2\n"
                 "backoff_max_s = 2\n"
                 "[limits]\n"
                 "  session_timeout_s   =   3600\n"
                 "peers_max = 1000\n",
                 &c);
    cr_assert_str_eq(c.listen, "tcp://*:7500");
    cr_assert_str_eq(c.control_socket, "/run/cdht/control.sock");
    cr_assert_eq(c.log_level, DIAG_DEBUG);
    cr_assert_eq(c.upstream_count, 2);
    cr_assert_str_eq(c.upstream[0], "tcp://hub.example.org:7411");
    cr_assert_str_eq(c.upstream[1], "tcp://[2001:db8::1]:7411");
    cr_assert_eq(c.interval_s, 60);
    cr_assert_eq(c.jitter_percent, 0);
    cr_assert_eq(c.backoff_initial_s, 2);
    cr_assert_eq(c.backoff_max_s, 2);
    cr_assert_eq(c.session_timeout_s, 3600);
    cr_assert_eq(c.peers_max, 1000);
}

Test(config, unknown_key)
{
    expect_refused("[node]\nlisten = tcp://10.0.0.1:7411\nlisen = tcp://10.0.0.1:7411\n", ERR_INVAL,
                   "unknown key \"lisen\" in [node]", 3);
}

Test(config, unknown_section)
{
    expect_refused("[node]\nlog_level = warn\n\n[nodes]\nlisten = tcp://10.0.0.1:7411\n", ERR_INVAL,
                   "unknown section [nodes] (sections: node, sync, limits)", 4);
    /* Refused even with no key under it, and with blanks around it. */
    expect_refused("[sync]\ninterval_s = 60\n  [network]  \n", ERR_INVAL,
                   "unknown section [network] (sections: node, sync, limits)", 3);
}

Test(config, key_in_wrong_section_or_none)
{
    expect_refused("[sync]\nlisten = tcp://10.0.0.1:7411\n", ERR_INVAL,
                   "key \"listen\" belongs in [node], not [sync]", 2);
    expect_refused("interval_s = 60\n[sync]\n", ERR_INVAL,
                   "key \"interval_s\" is outside a section (it belongs in [sync])", 1);
    expect_refused("colour = blue\n", ERR_INVAL, "key \"colour\" is outside a section", 1);
}

Test(config, bad_url)
{
    expect_refused("[node]\nlisten = http://10.0.0.1:7411\n", ERR_INVAL,
                   "listen: \"http://10.0.0.1:7411\" is not tcp://HOST:PORT", 2);
    expect_refused("[node]\nlisten = tcp://10.0.0.1\n", ERR_INVAL,
                   "listen: \"tcp://10.0.0.1\" is not tcp://HOST:PORT", 2);
    expect_refused("[node]\nlisten = tcp://:7411\n", ERR_INVAL,
                   "listen: \"tcp://:7411\" has no valid host (tcp://HOST:PORT, HOST may be *)", 2);
    expect_refused("[node]\nlisten = tcp://eth0;10.0.0.1:7411\n", ERR_INVAL,
                   "listen: \"tcp://eth0;10.0.0.1:7411\" has no valid host "
                   "(tcp://HOST:PORT, HOST may be *)",
                   2);
    expect_refused("[sync]\nupstream = tcp://*:7411 " UK "\n", ERR_INVAL,
                   "upstream: \"tcp://*:7411\" has no valid host (tcp://HOST:PORT)", 2);
    expect_refused("[sync]\nupstream = tcp://hub:74x1\n", ERR_INVAL,
                   "upstream: \"tcp://hub:74x1\" has no valid port (tcp://HOST:PORT)", 2);
    expect_refused("[sync]\nupstream = tcp://hub:\n", ERR_INVAL,
                   "upstream: \"tcp://hub:\" has no valid port (tcp://HOST:PORT)", 2);
    /* A comment after a value is part of the value. */
    expect_refused("[node]\nlisten = tcp://hub:7411 # the hub\n", ERR_INVAL,
                   "listen: \"tcp://hub:7411 # the hub\" has no valid port (tcp://HOST:PORT)", 2);
}

/* Ports 1 and 65535 are accepted; 0, 65536 and six digits are refused. */
Test(config, port_bounds)
{
    struct config c;
    expect_loads("[node]\nlisten = tcp://10.0.0.1:1\n", &c);
    cr_assert_str_eq(c.listen, "tcp://10.0.0.1:1");
    expect_loads("[node]\nlisten = tcp://10.0.0.1:65535\n", &c);
    cr_assert_str_eq(c.listen, "tcp://10.0.0.1:65535");
    expect_refused("[node]\nlisten = tcp://10.0.0.1:0\n", ERR_INVAL,
                   "listen: port 0 is out of range 1-65535", 2);
    expect_refused("[node]\n\nlisten = tcp://10.0.0.1:65536\n", ERR_INVAL,
                   "listen: port 65536 is out of range 1-65535", 3);
    expect_refused("[node]\nlisten = tcp://10.0.0.1:100000\n", ERR_INVAL,
                   "listen: \"tcp://10.0.0.1:100000\" has no valid port (tcp://HOST:PORT)", 2);
}

/* A host name of CONFIG_HOST_SIZE_MAX bytes is accepted; one more is refused. */
Test(config, host_bounds)
{
    struct config c;
    char text[600], host[CONFIG_HOST_SIZE_MAX + 2];
    memset(host, 'a', CONFIG_HOST_SIZE_MAX);
    host[CONFIG_HOST_SIZE_MAX] = '\0';
    snprintf(text, sizeof text, "[sync]\nupstream = tcp://%s:7411 " UK "\n", host);
    expect_loads(text, &c);
    cr_assert_eq(strlen(c.upstream[0]), 6 + CONFIG_HOST_SIZE_MAX + 5);
    host[CONFIG_HOST_SIZE_MAX] = 'a';
    host[CONFIG_HOST_SIZE_MAX + 1] = '\0';
    snprintf(text, sizeof text, "[sync]\nupstream = tcp://%s:7411 " UK "\n", host);
    char want[CONFIG_WHY_SIZE];
    snprintf(want, sizeof want, "upstream: \"tcp://%.58s...\" has no valid host (tcp://HOST:PORT)",
             host);
    expect_refused(text, ERR_INVAL, want, 2);
}

Test(config, bad_number)
{
    expect_refused("[sync]\ninterval_s = 5m\n", ERR_INVAL,
                   "interval_s: \"5m\" is not a whole number", 2);
    expect_refused("[sync]\ninterval_s = -1\n", ERR_INVAL,
                   "interval_s: \"-1\" is not a whole number", 2);
    expect_refused("[sync]\ninterval_s =\n", ERR_INVAL, "interval_s: \"\" is not a whole number",
                   2);
    expect_refused("[sync]\ninterval_s = 0x10\n", ERR_INVAL,
                   "interval_s: \"0x10\" is not a whole number", 2);
    expect_refused("[sync]\ninterval_s = 300 # seconds\n", ERR_INVAL,
                   "interval_s: \"300 # seconds\" is not a whole number", 2);
    expect_refused("[sync]\ninterval_s = 99999999999\n", ERR_INVAL,
                   "interval_s: \"99999999999\" is not a whole number", 2);
    expect_refused("[node]\nlog_level = verbose\n", ERR_INVAL,
                   "log_level: \"verbose\" is not error, warn, info or debug", 2);
}

/* Each number at its bounds, and one past each. */
Test(config, number_bounds)
{
    struct config c;
    expect_loads("[sync]\ninterval_s = 1\njitter_percent = 50\n[limits]\npeers_max = 1\n"
                 "session_timeout_s = 5\n",
                 &c);
    cr_assert_eq(c.interval_s, 1);
    cr_assert_eq(c.jitter_percent, 50);
    cr_assert_eq(c.peers_max, 1);
    cr_assert_eq(c.session_timeout_s, 5);
    expect_loads("[sync]\ninterval_s = 86400\nbackoff_initial_s = 3600\nbackoff_max_s = 86400\n",
                 &c);
    cr_assert_eq(c.interval_s, 86400);
    cr_assert_eq(c.backoff_max_s, 86400);
    expect_refused("[sync]\ninterval_s = 0\n", ERR_INVAL, "interval_s: 0 is out of range 1-86400",
                   2);
    expect_refused("[sync]\ninterval_s = 86401\n", ERR_INVAL,
                   "interval_s: 86401 is out of range 1-86400", 2);
    expect_refused("[sync]\njitter_percent = 51\n", ERR_INVAL,
                   "jitter_percent: 51 is out of range 0-50", 2);
    expect_refused("[sync]\nbackoff_initial_s = 0\n", ERR_INVAL,
                   "backoff_initial_s: 0 is out of range 1-3600", 2);
    expect_refused("[limits]\nsession_timeout_s = 4\n", ERR_INVAL,
                   "session_timeout_s: 4 is out of range 5-3600", 2);
    expect_refused("[limits]\npeers_max = 1001\n", ERR_INVAL,
                   "peers_max: 1001 is out of range 1-1000", 2);
    expect_refused("[limits]\npeers_max = 0\n", ERR_INVAL, "peers_max: 0 is out of range 1-1000",
                   2);
}

/* backoff_max_s below backoff_initial_s is the file's fault as a whole: line 0. */
Test(config, backoff_relation)
{
    expect_refused("[sync]\nbackoff_max_s = 10\nbackoff_initial_s = 20\n", ERR_INVAL,
                   "backoff_max_s (10) is less than backoff_initial_s (20)", 0);
}

/* Upstreams repeat, in file order, up to CONFIG_UPSTREAMS_MAX. */
Test(config, repeated_upstreams)
{
    struct config c;
    char text[2048];
    size_t n = (size_t)snprintf(text, sizeof text, "[sync]\n");
    for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "upstream = tcp://hub%u:7411 " UK "\n", i);
    }
    expect_loads(text, &c);
    cr_assert_eq(c.upstream_count, CONFIG_UPSTREAMS_MAX);
    for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
        char want[64];
        snprintf(want, sizeof want, "tcp://hub%u:7411", i);
        cr_assert_str_eq(c.upstream[i], want);
    }
    /* One more is over the limit, at its line (the section header is line 1). */
    snprintf(text + n, sizeof text - n, "upstream = tcp://hub%u:7411 " UK "\n", CONFIG_UPSTREAMS_MAX);
    expect_refused(text, ERR_MSGSIZE, "upstream: more than 8 upstreams", CONFIG_UPSTREAMS_MAX + 2);
    /* The same URL twice is an edit mistake. */
    expect_refused("[sync]\nupstream = tcp://hub:7411 " UK "\nupstream = tcp://hub:7411 " UK "\n", ERR_INVAL,
                   "upstream: \"tcp://hub:7411\" is listed twice", 3);
}

/* An upstream names the key its channel expects: missing, short or not base64 is refused. */
Test(config, upstream_needs_its_key)
{
    struct config c;
    expect_loads("[sync]\nupstream = tcp://hub:7411    " UK "\n", &c);
    cr_assert_str_eq(c.upstream[0], "tcp://hub:7411");
    cr_assert_eq(c.upstream_key[0][0], 0x9a); /* "mun..." decodes to 9a 7b ... */
    expect_refused("[sync]\nupstream = tcp://hub:7411\n", ERR_INVAL,
                   "upstream: \"tcp://hub:7411\" has no key after it (URL KEY, the key from the "
                   "upstream's cdht whoami)",
                   2);
    expect_refused("[sync]\nupstream = tcp://hub:7411 munsIVaQFnyfiORkuJ3NNspIdE6JJpf8xaGnauBWk5\n",
                   ERR_INVAL,
                   "upstream: \"munsIVaQFnyfiORkuJ3NNspIdE6JJpf8xaGnauBWk5\" is not a device key "
                   "(44 characters of base64)",
                   2);
    expect_refused("[sync]\nupstream = tcp://hub:7411 " UK " extra\n", ERR_INVAL,
                   "upstream: \"" UK " extra\" is not a device key (44 characters of base64)", 2);
}

/* Any other key given twice is refused, naming the first line: not "last wins". */
Test(config, duplicate_key)
{
    expect_refused("[node]\nlisten = tcp://10.0.0.1:7411\n\n[sync]\ninterval_s = 60\n[node]\n"
                   "listen = tcp://10.0.0.2:7411\n",
                   ERR_INVAL, "listen: given twice (first on line 2)", 7);
}

/* The control socket: absolute, at most CONFIG_CONTROL_PATH_SIZE_MAX (107) bytes. */
Test(config, control_socket_path)
{
    struct config c;
    char path[CONFIG_CONTROL_PATH_SIZE_MAX + 2], text[400];
    memset(path, 'x', sizeof path);
    path[0] = '/';
    path[CONFIG_CONTROL_PATH_SIZE_MAX] = '\0';
    snprintf(text, sizeof text, "[node]\ncontrol_socket = %s\n", path);
    expect_loads(text, &c);
    cr_assert_str_eq(c.control_socket, path);
    path[CONFIG_CONTROL_PATH_SIZE_MAX] = 'x';
    path[CONFIG_CONTROL_PATH_SIZE_MAX + 1] = '\0';
    snprintf(text, sizeof text, "[node]\ncontrol_socket = %s\n", path);
    expect_refused(text, ERR_MSGSIZE,
                   "control_socket: longer than 107 bytes (the longest Unix socket path)", 2);
    /* A path of REPLICA_PATH_MAX bytes (only a flag can be that long: not a line). */
    char *huge = malloc(REPLICA_PATH_MAX + 1);
    char why[CONFIG_WHY_SIZE];
    cr_assert_not_null(huge);
    memset(huge, 'x', REPLICA_PATH_MAX);
    huge[0] = '/';
    huge[REPLICA_PATH_MAX] = '\0';
    cr_assert_eq(config_set(&c, "control_socket", huge, why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "control_socket: longer than 107 bytes (the longest Unix socket path)");
    cr_assert_eq(strlen(c.control_socket), CONFIG_CONTROL_PATH_SIZE_MAX, "unchanged");
    free(huge);
    expect_refused("[node]\ncontrol_socket = run/cdht.sock\n", ERR_INVAL,
                   "control_socket: \"run/cdht.sock\" is not an absolute path", 2);
}

/* config_control_socket: the configured path, else HOME/control.sock if it fits sun_path. */
Test(config, control_socket_resolved)
{
    struct config c;
    char out[CONFIG_CONTROL_PATH_SIZE_MAX + 1], why[CONFIG_WHY_SIZE];
    char home[CONFIG_CONTROL_PATH_SIZE_MAX + 1];
    config_defaults(&c);
    cr_assert_eq(config_control_socket(&c, "/var/lib/cdht", out), ERR_OK);
    cr_assert_str_eq(out, "/var/lib/cdht/control.sock");
    /* HOME + "/control.sock" (13 bytes) of exactly 107 bytes fits; one more does not. */
    memset(home, 'h', sizeof home);
    home[0] = '/';
    home[CONFIG_CONTROL_PATH_SIZE_MAX - 13] = '\0';
    cr_assert_eq(config_control_socket(&c, home, out), ERR_OK);
    cr_assert_eq(strlen(out), CONFIG_CONTROL_PATH_SIZE_MAX);
    home[CONFIG_CONTROL_PATH_SIZE_MAX - 13] = 'h';
    home[CONFIG_CONTROL_PATH_SIZE_MAX - 12] = '\0';
    cr_assert_eq(config_control_socket(&c, home, out), ERR_MSGSIZE);
    cr_assert_eq(config_set(&c, "control_socket", "/run/cdht.sock", why), ERR_OK);
    cr_assert_eq(config_control_socket(&c, home, out), ERR_OK);
    cr_assert_str_eq(out, "/run/cdht.sock");
}

/* A line of CONFIG_LINE_SIZE_MAX bytes is read; one more byte is refused, not split. */
Test(config, line_bounds)
{
    struct config c;
    char *text = malloc(CONFIG_LINE_SIZE_MAX + 64);
    cr_assert_not_null(text);
    size_t n = (size_t)snprintf(text, 64, "[node]\n");
    memset(text + n, '#', CONFIG_LINE_SIZE_MAX);
    n += CONFIG_LINE_SIZE_MAX;
    snprintf(text + n, 64, "\r\nlog_level = warn\n");
    expect_loads(text, &c);
    cr_assert_eq(c.log_level, DIAG_WARN);
    text[n] = '#';
    snprintf(text + n + 1, 64, "\nlog_level = warn\n");
    expect_refused(text, ERR_MSGSIZE, "line longer than 1024 bytes", 2);
    free(text);
}

/* A file of more than CONFIG_LINES_MAX lines is refused at the first line past the bound. */
Test(config, too_many_lines)
{
    struct config c;
    char *text = malloc(CONFIG_LINES_MAX + 2);
    cr_assert_not_null(text);
    memset(text, '\n', CONFIG_LINES_MAX);
    text[CONFIG_LINES_MAX] = '\0';
    expect_loads(text, &c);
    text[CONFIG_LINES_MAX] = '\n';
    text[CONFIG_LINES_MAX + 1] = '\0';
    expect_refused(text, ERR_MSGSIZE, "more than 10000 lines", CONFIG_LINES_MAX + 1);
    free(text);
}

Test(config, missing_file)
{
    struct config c, d;
    char why[CONFIG_WHY_SIZE];
    unsigned line = 12345;
    char *path = support_path(dir, "absent.conf");
    config_defaults(&c);
    cr_assert_eq(config_load(&c, path, why, &line), ERR_NOTFOUND);
    cr_assert_str_eq(why, "cannot open the file: No such file or directory");
    cr_assert_eq(line, 0);
    config_defaults(&d);
    expect_defaults(&c);
    /* A directory opens but cannot be read. */
    cr_assert_eq(config_load(&c, dir, why, &line), ERR_IO);
    cr_assert_str_eq(why, "cannot read the file: Is a directory");
    free(path);
}

/* Garbage: text that is not INI, a section header left open, and binary bytes. */
Test(config, garbage)
{
    expect_refused("hello world\n", ERR_INVAL,
                   "not a [section], a key = value or a comment (starting with # or ;)", 1);
    expect_refused("[node]\n[sync\ninterval_s = 60\n", ERR_INVAL,
                   "not a [section], a key = value or a comment (starting with # or ;)", 2);
    static const char bin[] = {'\x7f', 'E', 'L', 'F', '\x02', '\x01', '\x01', '\0', '=', '\n'};
    struct config c;
    char why[CONFIG_WHY_SIZE];
    unsigned line = 12345;
    char *path = write_file("bin.conf", bin, sizeof bin);
    config_defaults(&c);
    cr_assert_eq(config_load(&c, path, why, &line), ERR_INVAL);
    cr_assert_str_eq(why, "control byte 0x7f in the line (not a text file?)");
    cr_assert_eq(line, 1);
    expect_defaults(&c);
    free(path);
    /* A NUL in the middle of a good-looking line. */
    static const char nul[] = "[node]\nlog_level = info\0debug\n";
    path = write_file("nul.conf", nul, sizeof nul - 1);
    cr_assert_eq(config_load(&c, path, why, &line), ERR_INVAL);
    cr_assert_str_eq(why, "control byte 0x00 in the line (not a text file?)");
    cr_assert_eq(line, 2);
    free(path);
}

/* A failed load leaves the configuration as it was (SIGHUP keeps the running one). */
Test(config, failed_load_changes_nothing)
{
    struct config c;
    char why[CONFIG_WHY_SIZE];
    unsigned line;
    expect_loads("[node]\nlisten = tcp://10.0.0.1:7411\n[sync]\nupstream = tcp://hub:1 " UK "\n", &c);
    char *path = write_file("bad.conf", "[sync]\nupstream = tcp://other:1 " UK "\ninterval_s = x\n",
                            strlen("[sync]\nupstream = tcp://other:1 " UK "\ninterval_s = x\n"));
    cr_assert_eq(config_load(&c, path, why, &line), ERR_INVAL);
    cr_assert_eq(line, 3);
    cr_assert_str_eq(c.listen, "tcp://10.0.0.1:7411");
    cr_assert_eq(c.upstream_count, 1);
    cr_assert_str_eq(c.upstream[0], "tcp://hub:1");
    cr_assert_eq(c.interval_s, CONFIG_INTERVAL_S_DEFAULT);
    free(path);
}

/* Flags override the file through config_set: scalars are replaced, and --upstream replaces the
 * file's list after config_upstream_clear. Refusals leave the value as it was. */
Test(config, set_overrides_file)
{
    struct config c;
    char why[CONFIG_WHY_SIZE];
    expect_loads("[node]\nlisten = tcp://10.0.0.1:7411\n[sync]\ninterval_s = 60\n"
                 "upstream = tcp://a:1 " UK "\nupstream = tcp://b:2 " UK "\n",
                 &c);
    cr_assert_eq(config_set(&c, "listen", "tcp://0.0.0.0:7500", why), ERR_OK);
    cr_assert_str_eq(c.listen, "tcp://0.0.0.0:7500");
    cr_assert_eq(config_set(&c, "interval_s", "30", why), ERR_OK);
    cr_assert_eq(c.interval_s, 30);
    cr_assert_eq(config_set(&c, "interval_s", "0", why), ERR_INVAL);
    cr_assert_str_eq(why, "interval_s: 0 is out of range 1-86400");
    cr_assert_eq(c.interval_s, 30);
    config_upstream_clear(&c);
    cr_assert_eq(config_set(&c, "upstream", "tcp://c:3 " UK, why), ERR_OK);
    cr_assert_eq(c.upstream_count, 1);
    cr_assert_str_eq(c.upstream[0], "tcp://c:3");
    cr_assert_eq(config_set(&c, "listen", "tcp://\x01:1", why), ERR_INVAL);
    cr_assert_str_eq(why,
                     "listen: \"tcp://?:1\" has no valid host (tcp://HOST:PORT, HOST may be *)");
    cr_assert_eq(config_set(&c, "no_such_key", "1", why), ERR_NOTFOUND);
    cr_assert_str_eq(why, "unknown key \"no_such_key\"");
    cr_assert_eq(config_set(&c, "backoff_initial_s", "1000", why), ERR_OK);
    cr_assert_eq(config_check(&c, why), ERR_INVAL); /* the file's default max is 900 */
    cr_assert_eq(config_set(&c, "backoff_max_s", "1000", why), ERR_OK);
    cr_assert_eq(config_check(&c, why), ERR_OK);
    cr_assert_eq(config_set(&c, "backoff_max_s", "999", why), ERR_OK);
    cr_assert_eq(config_check(&c, why), ERR_INVAL);
    cr_assert_str_eq(why, "backoff_max_s (999) is less than backoff_initial_s (1000)");
}

/* deploy/cdht.conf.example loads, gives exactly the defaults, and sets every key but upstream
 * (default: none), which it shows commented out: a new key or a changed default that the
 * example does not follow fails here. */
Test(config, example_file)
{
    struct config c;
    char why[CONFIG_WHY_SIZE];
    unsigned line = 12345;
    config_defaults(&c);
    cr_assert_eq(config_set(&c, "upstream", "tcp://x:1 " UK, why), ERR_OK);
    config_upstream_clear(&c);
    err_code rc = config_load(&c, EXAMPLE_PATH, why, &line);
    cr_assert_eq(rc, ERR_OK, "%s: %s at line %u: %s", EXAMPLE_PATH, err_str(rc), line, why);
    expect_defaults(&c);

    FILE *f = fopen(EXAMPLE_PATH, "r");
    cr_assert_not_null(f);
    static char text[64 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    cr_assert(n > 0 && n < sizeof text - 1);
    text[n] = '\0';
    fclose(f);
    const char *section, *name;
    size_t keys = 0;
    for (size_t i = 0; (name = config_key_name(i, &section)) != NULL; i++) {
        char want[128];
        snprintf(want, sizeof want, "\n%s%s =", strcmp(name, "upstream") == 0 ? "# " : "", name);
        cr_assert_not_null(strstr(text, want), "the example does not set %s", name);
        char header[64];
        snprintf(header, sizeof header, "\n[%s]\n", section);
        const char *h = strstr(text, header);
        cr_assert_not_null(h, "the example has no [%s]", section);
        cr_assert(h < strstr(text, want), "%s comes before [%s]", name, section);
        keys++;
    }
    /* Each key's comment names its default. */
    size_t defaults = 0;
    for (const char *p = text; (p = strstr(p, "\n# Default: ")) != NULL; p++) {
        defaults++;
    }
    cr_assert_eq(defaults, keys, "%zu keys, %zu \"# Default:\" lines", keys, defaults);
}
