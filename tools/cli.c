/*
 * Shared command-line plumbing. Messages name what was wrong and never echo a value that may
 * be personal data (a citizen id, a name); exit codes follow STYLE.md section 10.
 */
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "keys.h"
#include "replica.h"
#include "textfmt.h"

void
cli_init(struct cli *c, const char *cmd, const char *usage)
{
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->usage = usage;
    c->home = getenv("CDHT_HOME");
    c->pass_file = getenv("CDHT_PASSPHRASE_FILE");
    cli_getopt_reset();
}

int
cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

void
cli_getopt_reset(void)
{
    optind = 0; /* glibc: 0 also resets its internal state */
    opterr = 0; /* we print our own message */
}

int
cli_common(struct cli *c, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_HOME: c->home = arg; return 1;
    case CLI_OPT_PASSFILE: c->pass_file = arg; return 1;
    default: return 0;
    }
}

int
cli_usage(const struct cli *c, const char *fmt, ...)
{
    if (fmt != NULL) {
        va_list ap;
        fprintf(stderr, "cdht %s: ", c->cmd);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    fprintf(stderr, "usage: cdht %s\n", c->usage);
    return CLI_USAGE;
}

int
cli_exit_for(err_code rc)
{
    switch (rc) {
    case ERR_OK: return CLI_OK;
    case ERR_INVAL:
    case ERR_MSGSIZE:
    case ERR_CORRUPT:
    case ERR_AUTH:
    case ERR_FORK:
    case ERR_NOTFOUND:
    case ERR_PROTO:
    case ERR_DENIED: return CLI_USAGE;
    default: return CLI_ERROR;
    }
}

int
cli_bad_option(const struct cli *c, int opt, char **argv)
{
    /* optind has moved past the offending token; getopt_long set optopt. */
    const char *tok = argv[optind - 1];
    char name[64];
    size_t n = 0;
    if (tok[0] == '-' && tok[1] == '-') {
        /* "--name=value": keep "--name" only. */
        while (tok[n] != '\0' && tok[n] != '=' && n < sizeof name - 1) {
            name[n] = tok[n];
            n++;
        }
    } else {
        /* A short option: "-x", never the rest of the token (it could be "-0010..."). */
        name[n++] = '-';
        name[n++] = optopt > 32 && optopt < 127 ? (char)optopt : '?';
    }
    name[n] = '\0';
    return cli_usage(c, "%s %s", name,
                     opt == ':' ? "needs a value" : "is not an option of this command");
}

int
cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts, size_t n,
          int positionals, const char *what)
{
    /* getopt_long's table: the common options, then ours, whose val is CLI_OPT_BASE + index. */
    enum { CLI_OPT_BASE = 2000, CLI_COMMON_COUNT = 3 };
    struct option table[CLI_COMMON_COUNT + CLI_OPTS_MAX + 1];
    static const struct option common[] = {CLI_COMMON_OPTIONS};
    char shorts[2 + 2 * CLI_OPTS_MAX + 1] = ":";
    size_t ns = 1;
    ASSERT(n <= CLI_OPTS_MAX);
    static_assert(sizeof common / sizeof common[0] == CLI_COMMON_COUNT, "common options");
    memcpy(table, common, sizeof common);
    for (size_t i = 0; i < n; i++) {
        ASSERT((opts[i].value == NULL) != (opts[i].flag == NULL));
        int takes = opts[i].value != NULL;
        table[CLI_COMMON_COUNT + i] = (struct option){
            .name = opts[i].name,
            .has_arg = takes ? required_argument : no_argument,
            .flag = NULL,
            .val = opts[i].short_name != 0 ? opts[i].short_name : CLI_OPT_BASE + (int)i,
        };
        if (opts[i].short_name != 0) {
            shorts[ns++] = opts[i].short_name;
            if (takes) {
                shorts[ns++] = ':';
            }
        }
    }
    table[CLI_COMMON_COUNT + n] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';
    int opt;
    while ((opt = getopt_long(argc, argv, shorts, table, NULL)) != -1) {
        if (cli_common(c, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            cli_usage(c, NULL);
            return CLI_HELP_SHOWN;
        }
        size_t i = n;
        for (size_t k = 0; k < n; k++) {
            if (opt == (opts[k].short_name != 0 ? opts[k].short_name : CLI_OPT_BASE + (int)k)) {
                i = k;
            }
        }
        if (i == n) {
            return cli_bad_option(c, opt, argv);
        }
        if (opts[i].value != NULL) {
            *opts[i].value = optarg;
        } else {
            *opts[i].flag = 1;
        }
    }
    int extra = argc - optind;
    if (positionals >= 0 && extra != positionals && what != NULL) {
        return cli_usage(c, "%s", what);
    }
    if (positionals >= 0 && extra > positionals) {
        return cli_extra_argument(c);
    }
    if (positionals >= 0 && extra < positionals) {
        return cli_usage(c, "missing argument");
    }
    return 0;
}

int
cli_parse_common(struct cli *c, int argc, char **argv, int positionals, const char *what)
{
    return cli_parse(c, argc, argv, NULL, 0, positionals, what);
}

int
cli_extra_argument(const struct cli *c)
{
    return cli_usage(c, "unexpected extra argument (not repeated here)");
}

int
cli_fail(const struct cli *c, err_code rc, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cdht %s: ", c->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return cli_exit_for(rc);
}

int
cli_open(const struct cli *c, unsigned flags, struct replica **out)
{
    if (c->home == NULL || *c->home == '\0') {
        return cli_usage(c, "no replica given: use --home DIR or set CDHT_HOME");
    }
    char pass[PASSPHRASE_SIZE_MAX];
    size_t pass_len = 0;
    const char *p = NULL;
    if ((flags & REPLICA_WRITE) && c->pass_file != NULL) {
        err_code rc = keys_read_passphrase(c->pass_file, pass, &pass_len);
        if (rc != ERR_OK) {
            return cli_fail(c, rc, "cannot use the passphrase file: %s",
                            rc == ERR_MSGSIZE ? "it is too long"
                            : rc == ERR_INVAL ? "it is empty"
                                              : err_str(rc));
        }
        p = pass;
    }
    const char *why = NULL;
    err_code rc = replica_open(out, c->home, flags, p, pass_len, &why);
    sodium_memzero(pass, sizeof pass);
    if (rc == ERR_OK) {
        return 0;
    }
    return cli_fail(c, rc, "cannot open the replica in %s: %s", c->home,
                    why != NULL ? why : err_str(rc));
}

int
cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    /* Digits only (an optional leading '-'): strtoll would also take " 1985" and "+1985". */
    if (s == NULL || *s == '\0') {
        return -1;
    }
    for (const char *p = s + (*s == '-');; p++) {
        if (*p == '\0') {
            break;
        }
        if (*p < '0' || *p > '9') {
            return -1;
        }
    }
    if (s[0] == '-' && s[1] == '\0') {
        return -1;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int
cli_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

/* One spelling per key: libsodium 1.0.18 decodes bytes 0x80-0xff as if they were '/', so the
 * alphabet is checked here (as proto/heads.c and proto/note.c do). */
int
cli_parse_key(const char *s, uint8_t key[KEY_PUBLIC_SIZE])
{
    return keys_from_b64(s, key);
}

void
cli_key_b64(const uint8_t key[KEY_PUBLIC_SIZE], char out[48])
{
    keys_b64(key, out);
}

void
cli_hash_b64(const uint8_t h[HASH_SIZE], char out[48])
{
    sodium_bin2base64(out, 48, h, HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
}

void
cli_json_str(FILE *f, const char *s)
{
    textfmt_json_str(f, s);
}

void
cli_csv_str(FILE *f, const char *s)
{
    textfmt_csv_str(f, s);
}

int
cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, err_code *rc)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *rc = err_from_errno(errno);
        return -1;
    }
    uint8_t *b = malloc(max + 1);
    if (b == NULL) {
        fclose(f);
        *rc = ERR_NOMEM;
        return -1;
    }
    size_t n = fread(b, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        *rc = ERR_IO;
        return -1;
    }
    if (n > max) {
        free(b);
        *rc = ERR_MSGSIZE;
        return -1;
    }
    *buf = b;
    *len = n;
    *rc = ERR_OK;
    return 0;
}

int
cli_write_failed(const struct cli *c, const struct replica *r, int rc)
{
    if (rc == ERR_DENIED) {
        return cli_fail(c, (err_code)rc,
                        "refusing to write: this device is not entitled (%s); nothing was written",
                        r != NULL && r->denied[0] ? r->denied : "no certificate covers it");
    }
    if (rc == ERR_CLOCK) {
        return cli_fail(c, (err_code)rc,
                        "refusing to write: this computer's clock is more than %lld minutes "
                        "behind the replica's clock; set the date and time, then retry",
                        HLC_BEHIND_REFUSE_MS / 60000);
    }
    return cli_fail(c, (err_code)rc, "cannot write: %s (nothing was written)",
                    err_str((err_code)rc));
}
