/*
 * Reading `cdht serve`'s configuration (config.h): one table of keys, one validating setter
 * shared by the file and the flags, and config_load(), which lets Debian's inih split the file
 * into sections and "key = value" pairs. We feed inih through our own line reader so that a
 * missing file is ERR_NOTFOUND rather than inih's bare -1, every line is numbered for the
 * refusal, and lines and files are bounded before inih sees them.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "keys.h"

static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == CONFIG_CONTROL_PATH_SIZE_MAX + 1u,
              "the control socket path bound is sun_path's");

enum config_kind {
    CONFIG_LISTEN,   /* a tcp:// URL to bind: HOST may be "*" (every address) */
    CONFIG_UPSTREAM, /* a tcp:// URL to dial, repeatable */
    CONFIG_PATH,     /* an absolute path of a Unix socket */
    CONFIG_UINT,     /* a whole number in [min, max] */
    CONFIG_LEVEL,    /* error, warn, info or debug */
};

struct config_key {
    const char *section;
    const char *name;
    enum config_kind kind;
    size_t offset; /* of the field in struct config */
    unsigned min, max;
};

#define KEY_UINT(sec, name, field, lo, hi)                                                         \
    {                                                                                              \
        sec, name, CONFIG_UINT, offsetof(struct config, field), lo, hi                             \
    }

/* The order of deploy/cdht.conf.example. */
static const struct config_key config_keys[] = {
    {"node", "listen", CONFIG_LISTEN, offsetof(struct config, listen), 0, 0},
    {"node", "control_socket", CONFIG_PATH, offsetof(struct config, control_socket), 0, 0},
    {"node", "log_level", CONFIG_LEVEL, offsetof(struct config, log_level), 0, 0},
    {"sync", "upstream", CONFIG_UPSTREAM, offsetof(struct config, upstream), 0, 0},
    KEY_UINT("sync", "interval_s", interval_s, CONFIG_INTERVAL_S_MIN, CONFIG_INTERVAL_S_MAX),
    KEY_UINT("sync", "jitter_percent", jitter_percent, 0, CONFIG_JITTER_PERCENT_MAX),
    KEY_UINT("sync", "backoff_initial_s", backoff_initial_s, 1, CONFIG_BACKOFF_INITIAL_S_MAX),
    KEY_UINT("sync", "backoff_max_s", backoff_max_s, 1, CONFIG_BACKOFF_MAX_S_MAX),
    KEY_UINT("limits", "session_timeout_s", session_timeout_s, CONFIG_SESSION_TIMEOUT_S_MIN,
             CONFIG_SESSION_TIMEOUT_S_MAX),
    KEY_UINT("limits", "peers_max", peers_max, 1, CONFIG_PEERS_MAX_LIMIT),
};
#define CONFIG_KEY_COUNT (sizeof config_keys / sizeof config_keys[0])

static const struct {
    const char *name;
    enum diag_level level;
} config_levels[] = {
    {"error", DIAG_ERROR},
    {"warn", DIAG_WARN},
    {"info", DIAG_INFO},
    {"debug", DIAG_DEBUG},
};

void
config_defaults(struct config *c)
{
    ASSERT(c != NULL);
    memset(c, 0, sizeof *c);
    static_assert(sizeof CONFIG_LISTEN_DEFAULT <= sizeof c->listen, "the default fits");
    memcpy(c->listen, CONFIG_LISTEN_DEFAULT, sizeof CONFIG_LISTEN_DEFAULT);
    c->control_socket[0] = '\0';
    c->log_level = CONFIG_LOG_LEVEL_DEFAULT;
    c->upstream_count = 0;
    c->interval_s = CONFIG_INTERVAL_S_DEFAULT;
    c->jitter_percent = CONFIG_JITTER_PERCENT_DEFAULT;
    c->backoff_initial_s = CONFIG_BACKOFF_INITIAL_S_DEFAULT;
    c->backoff_max_s = CONFIG_BACKOFF_MAX_S_DEFAULT;
    c->session_timeout_s = CONFIG_SESSION_TIMEOUT_S_DEFAULT;
    c->peers_max = CONFIG_PEERS_MAX_DEFAULT;
}

const char *
config_key_name(size_t i, const char **section)
{
    if (i >= CONFIG_KEY_COUNT) {
        return NULL;
    }
    if (section != NULL) {
        *section = config_keys[i].section;
    }
    return config_keys[i].name;
}

static const struct config_key *
config_key_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        if (strcmp(config_keys[i].name, name) == 0) {
            return &config_keys[i];
        }
    }
    return NULL;
}

/* value for a refusal: at most CONFIG_WHY_VALUE_MAX bytes, "..." when cut, and any byte that
 * is not printable ASCII (a flag can hold anything) as '?'. */
static void
config_quote(char out[CONFIG_WHY_VALUE_MAX + 4], const char *value)
{
    size_t n = 0;
    for (; value[n] != '\0' && n < CONFIG_WHY_VALUE_MAX; n++) {
        unsigned char ch = (unsigned char)value[n];
        out[n] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    if (value[n] != '\0') {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* Digits only (no sign, no space, no hex), into *out; 0 when not a number or above max_digits
 * digits (so that the value cannot overflow). */
static int
config_digits(const char *s, size_t max_digits, unsigned long *out)
{
    unsigned long v = 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= max_digits) {
            return 0;
        }
        v = v * 10u + (unsigned long)(s[n] - '0');
    }
    *out = v;
    return n > 0;
}

/* A DNS name or IPv4 literal: letters, digits, '-' and '.'. */
static int
config_host_ok(const char *h, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.')) {
            return 0;
        }
    }
    return 1;
}

/* A bracketed IPv6 literal's inside: hex digits, ':' and '.' (an embedded IPv4 address). */
static int
config_host6_ok(const char *h, size_t len)
{
    if (len < 2) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') || (ch >= '0' && ch <= '9') ||
              ch == ':' || ch == '.')) {
            return 0;
        }
    }
    return 1;
}

/*
 * tcp://HOST:PORT as nanomsg reads it: HOST a DNS name, an IPv4 address or a bracketed IPv6
 * address; for a listener also "*" (every address). PORT 1-65535 in decimal. nanomsg's
 * "tcp://IFACE;HOST:PORT" form and paths are refused: a node's peers are named, not routed.
 */
static err_code
config_url(const struct config_key *k, const char *v, char why[CONFIG_WHY_SIZE])
{
    static const char scheme[] = "tcp://";
    char q[CONFIG_WHY_VALUE_MAX + 4];
    config_quote(q, v);
    size_t len = strlen(v);
    if (len > CONFIG_URL_SIZE_MAX) {
        snprintf(why, CONFIG_WHY_SIZE, "%s: longer than %u bytes", k->name, CONFIG_URL_SIZE_MAX);
        return ERR_MSGSIZE;
    }
    const char *colon = strrchr(v, ':');
    if (strncmp(v, scheme, sizeof scheme - 1) != 0 || colon == NULL ||
        colon < v + sizeof scheme - 1) {
        snprintf(why, CONFIG_WHY_SIZE, "%s: \"%s\" is not tcp://HOST:PORT", k->name, q);
        return ERR_INVAL;
    }
    const char *host = v + sizeof scheme - 1;
    size_t host_len = (size_t)(colon - host);
    int ok;
    if (host_len == 1 && host[0] == '*') {
        ok = k->kind == CONFIG_LISTEN;
    } else if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        ok = config_host6_ok(host + 1, host_len - 2);
    } else {
        ok = host_len > 0 && host_len <= CONFIG_HOST_SIZE_MAX && config_host_ok(host, host_len);
    }
    if (!ok) {
        snprintf(why, CONFIG_WHY_SIZE, "%s: \"%s\" has no valid host (tcp://HOST:PORT%s)", k->name,
                 q, k->kind == CONFIG_LISTEN ? ", HOST may be *" : "");
        return ERR_INVAL;
    }
    unsigned long port;
    if (!config_digits(colon + 1, 5, &port)) {
        snprintf(why, CONFIG_WHY_SIZE, "%s: \"%s\" has no valid port (tcp://HOST:PORT)", k->name,
                 q);
        return ERR_INVAL;
    }
    if (port < 1 || port > 65535) {
        snprintf(why, CONFIG_WHY_SIZE, "%s: port %lu is out of range 1-65535", k->name, port);
        return ERR_INVAL;
    }
    return ERR_OK;
}

err_code
config_set(struct config *c, const char *key, const char *value, char why[CONFIG_WHY_SIZE])
{
    ASSERT(c != NULL);
    ASSERT(key != NULL);
    ASSERT(value != NULL);
    ASSERT(c->upstream_count <= CONFIG_UPSTREAMS_MAX);
    err_code rc;
    char q[CONFIG_WHY_VALUE_MAX + 4];
    const struct config_key *k = config_key_find(key);
    why[0] = '\0';
    if (k == NULL) {
        config_quote(q, key);
        snprintf(why, CONFIG_WHY_SIZE, "unknown key \"%s\"", q);
        return ERR_NOTFOUND;
    }
    char *field = (char *)c + k->offset;
    switch (k->kind) {
    case CONFIG_LISTEN:
        if ((rc = config_url(k, value, why)) != ERR_OK) {
            return rc;
        }
        memcpy(field, value, strlen(value) + 1); /* config_url bounded it */
        return ERR_OK;
    case CONFIG_UPSTREAM: {
        /* "URL KEY": one space (or more) between the two. */
        const char *sp = strchr(value, ' ');
        char url[CONFIG_URL_SIZE_MAX + 2];
        size_t ulen = sp != NULL ? (size_t)(sp - value) : strlen(value);
        if (ulen > CONFIG_URL_SIZE_MAX) {
            ulen = CONFIG_URL_SIZE_MAX + 1; /* config_url refuses it as too long */
        }
        memcpy(url, value, ulen);
        url[ulen] = '\0';
        if ((rc = config_url(k, url, why)) != ERR_OK) {
            return rc;
        }
        const char *kstr = sp != NULL ? sp + strspn(sp, " ") : "";
        uint8_t pk[KEY_PUBLIC_SIZE];
        if (kstr[0] == '\0') {
            config_quote(q, url);
            snprintf(why, CONFIG_WHY_SIZE,
                     "upstream: \"%s\" has no key after it (URL KEY, the key from the "
                     "upstream's cdht whoami)",
                     q);
            return ERR_INVAL;
        }
        if (keys_from_b64(kstr, pk) != 0) {
            config_quote(q, kstr);
            snprintf(why, CONFIG_WHY_SIZE,
                     "upstream: \"%s\" is not a device key (44 characters of base64)", q);
            return ERR_INVAL;
        }
        for (unsigned i = 0; i < c->upstream_count; i++) {
            if (strcmp(c->upstream[i], url) == 0) {
                config_quote(q, url);
                snprintf(why, CONFIG_WHY_SIZE, "upstream: \"%s\" is listed twice", q);
                return ERR_INVAL;
            }
        }
        if (c->upstream_count == CONFIG_UPSTREAMS_MAX) {
            snprintf(why, CONFIG_WHY_SIZE, "upstream: more than %u upstreams",
                     CONFIG_UPSTREAMS_MAX);
            return ERR_MSGSIZE;
        }
        memcpy(c->upstream_key[c->upstream_count], pk, KEY_PUBLIC_SIZE);
        memcpy(c->upstream[c->upstream_count++], url, ulen + 1);
        return ERR_OK;
    }
    case CONFIG_PATH: {
        size_t len = strlen(value);
        if (len > CONFIG_CONTROL_PATH_SIZE_MAX) {
            snprintf(why, CONFIG_WHY_SIZE,
                     "%s: longer than %u bytes (the longest Unix socket path)", k->name,
                     CONFIG_CONTROL_PATH_SIZE_MAX);
            return ERR_MSGSIZE;
        }
        if (value[0] != '/' && value[0] != '\0') { /* "": the default, HOME/control.sock */
            config_quote(q, value);
            snprintf(why, CONFIG_WHY_SIZE, "%s: \"%s\" is not an absolute path", k->name, q);
            return ERR_INVAL;
        }
        memcpy(field, value, len + 1);
        return ERR_OK;
    }
    case CONFIG_UINT: {
        unsigned long v;
        /* 10 digits hold any unsigned; the bounds below are far smaller. */
        if (!config_digits(value, 10, &v)) {
            config_quote(q, value);
            snprintf(why, CONFIG_WHY_SIZE, "%s: \"%s\" is not a whole number", k->name, q);
            return ERR_INVAL;
        }
        if (v < k->min || v > k->max) {
            snprintf(why, CONFIG_WHY_SIZE, "%s: %lu is out of range %u-%u", k->name, v, k->min,
                     k->max);
            return ERR_INVAL;
        }
        unsigned u = (unsigned)v;
        memcpy(field, &u, sizeof u);
        return ERR_OK;
    }
    case CONFIG_LEVEL:
        for (size_t i = 0; i < sizeof config_levels / sizeof config_levels[0]; i++) {
            if (strcmp(value, config_levels[i].name) == 0) {
                c->log_level = config_levels[i].level;
                return ERR_OK;
            }
        }
        config_quote(q, value);
        snprintf(why, CONFIG_WHY_SIZE, "%s: \"%s\" is not error, warn, info or debug", k->name, q);
        return ERR_INVAL;
    }
    ASSERT(!"every kind is handled");
    return ERR_INVAL;
}

void
config_upstream_clear(struct config *c)
{
    ASSERT(c != NULL);
    memset(c->upstream, 0, sizeof c->upstream);
    memset(c->upstream_key, 0, sizeof c->upstream_key);
    c->upstream_count = 0;
}

err_code
config_check(const struct config *c, char why[CONFIG_WHY_SIZE])
{
    ASSERT(c != NULL);
    ASSERT(c->upstream_count <= CONFIG_UPSTREAMS_MAX);
    why[0] = '\0';
    if (c->backoff_max_s < c->backoff_initial_s) {
        snprintf(why, CONFIG_WHY_SIZE, "backoff_max_s (%u) is less than backoff_initial_s (%u)",
                 c->backoff_max_s, c->backoff_initial_s);
        return ERR_INVAL;
    }
    return ERR_OK;
}

err_code
config_control_socket(const struct config *c, const char *home,
                      char out[CONFIG_CONTROL_PATH_SIZE_MAX + 1])
{
    ASSERT(c != NULL);
    ASSERT(home != NULL);
    if (c->control_socket[0] != '\0') {
        memcpy(out, c->control_socket, strlen(c->control_socket) + 1);
        return ERR_OK;
    }
    char buf[CONFIG_CONTROL_PATH_SIZE_MAX + 2];
    int n = snprintf(buf, sizeof buf, "%s/%s", home, CONFIG_CONTROL_SOCKET_NAME);
    if (n < 0 || (size_t)n > CONFIG_CONTROL_PATH_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    memcpy(out, buf, (size_t)n + 1);
    return ERR_OK;
}

/* The state of one config_load, shared by the line reader and inih's handler. */
struct config_parse {
    FILE *f;
    struct config c; /* the copy being filled; copied out on success only */
    unsigned line;   /* lines handed to inih so far: the number of the current one */
    unsigned seen_line[CONFIG_KEY_COUNT]; /* where each key was set, 0: not yet */
    err_code rc;                          /* the first refusal, ERR_OK until then */
    char why[CONFIG_WHY_SIZE];
};

static const char *const config_sections[] = {"node", "sync", "limits"};

/* Stops the parse: records the first refusal only (inih stops on it, see config_load). */
static void
config_fail(struct config_parse *p, err_code rc)
{
    ASSERT(rc != ERR_OK);
    if (p->rc == ERR_OK) {
        p->rc = rc;
    }
}

/*
 * inih's fgets: one whole line per call, so p->line is the number of the line inih is on when
 * it calls config_parse_cb. Refuses (by ending the input) a line over CONFIG_LINE_SIZE_MAX, a
 * file over CONFIG_LINES_MAX lines, and control bytes other than tab and CR (a binary file).
 * A section header naming no known section is refused here, at its own line, so that an empty
 * unknown section is refused too (inih calls the handler for keys only).
 */
static char *
config_read_cb(char *str, int num, void *stream)
{
    struct config_parse *p = stream;
    ASSERT(num >= 0);
    ASSERT((size_t)num == CONFIG_LINE_SIZE_MAX + 3u);
    if (p->rc != ERR_OK) {
        return NULL;
    }
    size_t n = 0;
    int ch = EOF;
    while (n < CONFIG_LINE_SIZE_MAX + 1u && (ch = getc(p->f)) != EOF && ch != '\n') {
        str[n++] = (char)ch; /* + 1: room for a CR before the LF */
    }
    if (ch == EOF && ferror(p->f)) {
        snprintf(p->why, sizeof p->why, "cannot read the file: %s", strerror(errno));
        config_fail(p, ERR_IO);
        return NULL;
    }
    if (ch == EOF && n == 0) {
        return NULL; /* the end */
    }
    if (p->line == CONFIG_LINES_MAX) {
        p->line++;
        snprintf(p->why, sizeof p->why, "more than %u lines", CONFIG_LINES_MAX);
        config_fail(p, ERR_MSGSIZE);
        return NULL;
    }
    p->line++;
    if (ch != '\n' && ch != EOF) {
        /* The loop stopped on the size, with the line not over yet. One CR may still be the end
         * of a line of exactly CONFIG_LINE_SIZE_MAX bytes: its LF is next. */
        int next = getc(p->f);
        if (!(str[n - 1] == '\r' && (next == '\n' || next == EOF))) {
            snprintf(p->why, sizeof p->why, "line longer than %u bytes", CONFIG_LINE_SIZE_MAX);
            config_fail(p, ERR_MSGSIZE);
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)str[i];
        if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
            snprintf(p->why, sizeof p->why, "control byte 0x%02x in the line (not a text file?)",
                     b);
            config_fail(p, ERR_INVAL);
            return NULL;
        }
    }
    str[n++] = '\n';
    str[n] = '\0';
    /* A section header: "[" NAME "]" after optional blanks, as inih reads it. */
    const char *s = str;
    if (p->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3; /* a UTF-8 byte order mark, which inih skips too (ini_allow_bom) */
    }
    s += strspn(s, " \t");
    const char *end = s[0] == '[' ? strchr(s, ']') : NULL;
    if (end != NULL) {
        size_t len = (size_t)(end - s - 1);
        int known = 0;
        for (size_t i = 0; i < sizeof config_sections / sizeof config_sections[0]; i++) {
            known |=
                strlen(config_sections[i]) == len && memcmp(config_sections[i], s + 1, len) == 0;
        }
        if (!known) {
            char name[CONFIG_WHY_VALUE_MAX + 1];
            size_t cut = len < CONFIG_WHY_VALUE_MAX ? len : CONFIG_WHY_VALUE_MAX;
            memcpy(name, s + 1, cut);
            name[cut] = '\0';
            char q[CONFIG_WHY_VALUE_MAX + 4];
            config_quote(q, name);
            snprintf(p->why, sizeof p->why, "unknown section [%s%s] (sections: node, sync, limits)",
                     q, cut < len ? "..." : "");
            config_fail(p, ERR_INVAL);
            return NULL;
        }
    }
    return str;
}

/* inih's handler for one "name = value" of section. Returns 0 to stop the parse. Debian builds
 * libinih with its line numbers on (a fifth argument) while its ini.h says off; we take the
 * header's four arguments and count lines in config_read_cb, so either build works. */
static int
config_parse_cb(void *user, const char *section, const char *name, const char *value)
{
    struct config_parse *p = user;
    ASSERT(p->line > 0);
    ASSERT(name != NULL);
    char qn[CONFIG_WHY_VALUE_MAX + 4];
    config_quote(qn, name);
    if (value == NULL) {
        /* inih's ini_allow_no_value is off: can't happen; refuse rather than trust it. */
        snprintf(p->why, sizeof p->why, "key \"%s\" has no value", qn);
        config_fail(p, ERR_INVAL);
        return 0;
    }
    const struct config_key *k = config_key_find(name);
    if (section[0] == '\0') {
        snprintf(p->why, sizeof p->why, "key \"%s\" is outside a section%s%s%s", qn,
                 k != NULL ? " (it belongs in [" : "", k != NULL ? k->section : "",
                 k != NULL ? "])" : "");
        config_fail(p, ERR_INVAL);
        return 0;
    }
    if (k == NULL) {
        snprintf(p->why, sizeof p->why, "unknown key \"%s\" in [%s]", qn, section);
        config_fail(p, ERR_INVAL);
        return 0;
    }
    if (strcmp(section, k->section) != 0) {
        snprintf(p->why, sizeof p->why, "key \"%s\" belongs in [%s], not [%s]", k->name, k->section,
                 section);
        config_fail(p, ERR_INVAL);
        return 0;
    }
    size_t idx = (size_t)(k - config_keys);
    /* A repeated key is an error, not "last wins": in a file it is almost always an edit that
     * left the old line behind, and the operator should learn which one counts. Flags override
     * the file through config_set, which replaces. upstream is a list and may repeat. */
    if (k->kind != CONFIG_UPSTREAM && p->seen_line[idx] != 0) {
        snprintf(p->why, sizeof p->why, "%s: given twice (first on line %u)", k->name,
                 p->seen_line[idx]);
        config_fail(p, ERR_INVAL);
        return 0;
    }
    err_code rc = config_set(&p->c, k->name, value, p->why);
    if (rc != ERR_OK) {
        config_fail(p, rc);
        return 0;
    }
    p->seen_line[idx] = p->line;
    return 1;
}

err_code
config_load(struct config *c, const char *path, char why[CONFIG_WHY_SIZE], unsigned *line)
{
    ASSERT(c != NULL);
    ASSERT(path != NULL);
    err_code rc = ERR_OK;
    struct config_parse *p = calloc(1, sizeof *p); /* about 4 KiB: kept off the loop's stack */
    why[0] = '\0';
    *line = 0;
    if (p == NULL) {
        return ERR_NOMEM;
    }
    p->c = *c;
    if ((p->f = fopen(path, "re")) == NULL) {
        int e = errno;
        rc = e == ENOENT ? ERR_NOTFOUND : ERR_IO;
        snprintf(why, CONFIG_WHY_SIZE, "cannot open the file: %s", strerror(e));
        goto out;
    }
    /* inih's options, set here on every call because they are process-wide (Debian builds
     * inih with them as variables). The values make the format strict: no continuation lines
     * (an indented line is a key of its own), no comment after a value (a value is everything
     * after "="), no key without "=", stop at the first error. Our reader hands over lines of
     * at most CONFIG_LINE_SIZE_MAX bytes; ini_max_line is that plus CR, LF and NUL. */
    static char comment_prefixes[] = "#;";
    ini_allow_multiline = false;
    ini_allow_inline_comments = false;
    ini_allow_no_value = false;
    ini_stop_on_first_error = true;
    ini_allow_bom = true;
    ini_use_stack = true;
    ini_start_comment_prefixes = comment_prefixes;
    ini_max_line = (int)(CONFIG_LINE_SIZE_MAX + 3u);
    int bad_line = ini_parse_stream(config_read_cb, p, config_parse_cb, p);
    if (p->rc != ERR_OK) {
        rc = p->rc;
        memcpy(why, p->why, sizeof p->why);
        *line = p->line;
        goto out;
    }
    if (bad_line != 0) {
        /* inih's own refusal: a line with no "=", or a "[" with no "]". */
        rc = ERR_INVAL;
        snprintf(why, CONFIG_WHY_SIZE,
                 "not a [section], a key = value or a comment (starting with # or ;)");
        *line = bad_line > 0 ? (unsigned)bad_line : 0;
        goto out;
    }
    if ((rc = config_check(&p->c, why)) != ERR_OK) {
        goto out; /* *line stays 0: no one line is at fault */
    }
    *c = p->c;
out:
    if (p->f != NULL) {
        fclose(p->f);
    }
    free(p);
    return rc;
}
