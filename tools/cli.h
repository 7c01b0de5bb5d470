/*
 * What every cdht command shares: the exit codes, the error line format ("cdht CMD: what was
 * wrong"), --home / CDHT_HOME and --passphrase-file / CDHT_PASSPHRASE_FILE, opening the replica,
 * and the text encoders (base64 keys, CSV and JSON strings) for stdout.
 */
#ifndef CDHT_CLI_H
#define CDHT_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "limits.h"

struct replica;

enum cli_exit {
    CLI_OK = 0,
    CLI_FINDINGS = 1, /* the command ran and found problems (audit) */
    CLI_USAGE = 2,    /* bad arguments or bad input: nothing was written */
    CLI_ERROR = 3,    /* the system failed (I/O, database): nothing was written */
};

/* Options every command takes; used in each command's getopt_long table. */
#define CLI_OPT_HOME 1000
#define CLI_OPT_PASSFILE 1001
#define CLI_COMMON_OPTIONS                                                                         \
    {"home", required_argument, NULL, CLI_OPT_HOME},                                               \
        {"passphrase-file", required_argument, NULL, CLI_OPT_PASSFILE},                            \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

struct cli {
    const char *cmd;       /* "person add": for messages */
    const char *home;      /* --home or CDHT_HOME */
    const char *pass_file; /* --passphrase-file or CDHT_PASSPHRASE_FILE */
    const char *usage;
};

void cli_init(struct cli *c, const char *cmd, const char *usage);
/* Handles the common options; returns 1 when opt was one of them. */
int cli_common(struct cli *c, int opt, const char *arg);
int cli_usage(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "cdht CMD: message" and returns the exit code that rc deserves. */
int cli_fail(const struct cli *c, err_code rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_exit_for(err_code rc);
/* After getopt_long returned '?' (unknown option) or ':' (missing value; optstrings start with
 * ':'): prints the option's name, never a value (values may be personal data). */
int cli_bad_option(const struct cli *c, int opt, char **argv);
/* An argument nobody asked for: says so without repeating it. */
int cli_extra_argument(const struct cli *c);

/* Opens the replica at c->home (REPLICA_WRITE loads the key, with the passphrase file when
 * given). On failure prints why and returns the exit code; 0 on success. */
int cli_open(const struct cli *c, unsigned flags, struct replica **out);

/* True for "--help", "-h" and "help": a command group asked for its usage (exit 0). */
int cli_is_help(const char *arg);

/* One option of a command: its long name (and optional one-letter name), and where its value
 * goes (value), or, for an option without a value, the int set to 1 (flag). */
struct cli_opt {
    const char *name;
    char short_name; /* 0: none */
    const char **value;
    int *flag;
};
/* Options one command takes besides the common ones. */
#define CLI_OPTS_MAX 16u

/* Parses argv: the common options, then opts (n of them), then exactly `positionals`
 * arguments (which stay at argv[optind..]; -1: any number); `what` (or NULL) is the message
 * when their count is wrong. Returns 0 to go on, CLI_HELP_SHOWN after --help (exit 0), or a
 * usage error's exit code, after printing why. */
#define CLI_HELP_SHOWN (-1)
int cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts, size_t n,
              int positionals, const char *what);
/* cli_parse for a command that takes only the common options. */
int cli_parse_common(struct cli *c, int argc, char **argv, int positionals, const char *what);

/* Resets getopt so that each subcommand parses its own argv. */
void cli_getopt_reset(void);

/* Parses a decimal integer within [min, max]; 0 on success. */
int cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int cli_parse_u64(const char *s, uint64_t *out);
/* Parses a base64 public key; 0 on success. */
int cli_parse_key(const char *s, uint8_t key[KEY_PUBLIC_SIZE]);
void cli_key_b64(const uint8_t key[KEY_PUBLIC_SIZE], char out[48]);
void cli_hash_b64(const uint8_t h[HASH_SIZE], char out[48]);

void cli_json_str(FILE *f, const char *s);
void cli_csv_str(FILE *f, const char *s);

/* Reads a whole small file (at most max bytes). On 0, *buf is malloc'd. */
int cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, err_code *rc);

#endif
