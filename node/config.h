/*
 * The configuration of `cdht serve` (issue 4): an INI file read with Debian's inih (libinih-dev,
 * pkg-config inih), never a parser of our own, in three sections: [node] (where it listens,
 * its control socket, how much it logs), [sync] (whom it dials and how often) and [limits] (how
 * much it accepts). deploy/cdht.conf.example documents every key and is loaded by a unit test,
 * so it cannot drift from the defaults here. Every value goes through config_set(), which the
 * file and the command-line flags share, so a value is validated in one place.
 *
 * The file holds no secret by design: the device key and the passphrase stay in the replica
 * home and in the passphrase file, so a refusal may quote the value it refuses.
 */
#ifndef CDHT_CONFIG_H
#define CDHT_CONFIG_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "err.h"
#include "replica.h"

/* Upstreams one node dials. A branch dials its commune hub, a commune hub its district or
 * province: one, or two while a hub is being replaced. Eight leaves room for that and bounds
 * the dial state serve keeps (a timer and a session each). More: ERR_MSGSIZE. */
#define CONFIG_UPSTREAMS_MAX 8u
/* A nanomsg TCP URL, "tcp://" HOST ":" PORT: a DNS name is at most 253 bytes (RFC 1035), a
 * bracketed IPv6 literal far less, a port 5 digits, so 6 + 253 + 1 + 5 = 265 fit in 272.
 * Longer: ERR_MSGSIZE. */
#define CONFIG_URL_SIZE_MAX 272u
#define CONFIG_HOST_SIZE_MAX 253u
/* The control socket is a Unix socket: bind() takes its path in sockaddr_un.sun_path, 108 bytes
 * on Linux with the NUL, so 107 is the longest path that can work (REPLICA_PATH_MAX, 4096,
 * would be accepted here and refused later by bind). Longer: ERR_MSGSIZE, at load time. */
#define CONFIG_CONTROL_PATH_SIZE_MAX 107u
/* The control socket's name inside the home when control_socket is not set. */
#define CONFIG_CONTROL_SOCKET_NAME "control.sock"
/* One line of the file, without its line end. The longest sensible line is a key and a URL
 * (about 290 bytes); 1,024 leaves room for comments. The line buffer is on the stack (inih's
 * ini_max_line); a longer line is refused (ERR_MSGSIZE), never split into two lines. */
#define CONFIG_LINE_SIZE_MAX 1024u
/* Lines in one file. The example, the longest file anyone should write, is about 150 lines;
 * the bound stops `--config /dev/zero`-like mistakes from reading forever. More: ERR_MSGSIZE. */
#define CONFIG_LINES_MAX 10000u
/* A refusal as one sentence: the key, a quoted value of at most CONFIG_WHY_VALUE_MAX bytes
 * (cut with "..."), and the bound it broke. */
#define CONFIG_WHY_SIZE 256u
#define CONFIG_WHY_VALUE_MAX 64u

/* Defaults, each with its reason (deploy/cdht.conf.example says the same to the operator). */
/* 7411 is not in /etc/services or IANA's registry. Loopback, so that a node started without a
 * configuration exposes nothing: a hub sets listen = tcp://0.0.0.0:7411 on purpose (as redis'
 * "bind 127.0.0.1"). */
#define CONFIG_LISTEN_DEFAULT "tcp://127.0.0.1:7411"
/* A branch syncs every five minutes when nothing happens (local commits trigger a sync sooner):
 * fresh enough for a commune office, 288 sessions a day per branch for a hub. */
#define CONFIG_INTERVAL_S_DEFAULT 300u
#define CONFIG_INTERVAL_S_MIN 1u
#define CONFIG_INTERVAL_S_MAX 86400u /* once a day: a longer wait is a node switched off */
/* Each wait is drawn from interval_s * (1 +- jitter_percent / 100), so 200 branches restarted
 * together after a power cut do not dial their hub in the same second. Above 50 the interval
 * stops meaning anything. */
#define CONFIG_JITTER_PERCENT_DEFAULT 20u
#define CONFIG_JITTER_PERCENT_MAX 50u
/* After a failed attempt the wait is backoff_initial_s, doubled after each further failure up
 * to backoff_max_s; a success returns to interval_s. 5 s rides out a hub restart; 15 minutes
 * keeps a branch on a dead link from dialling it 17,000 times a day. */
#define CONFIG_BACKOFF_INITIAL_S_DEFAULT 5u
#define CONFIG_BACKOFF_INITIAL_S_MAX 3600u
#define CONFIG_BACKOFF_MAX_S_DEFAULT 900u
#define CONFIG_BACKOFF_MAX_S_MAX 86400u
/* A sync session not done after this long is abandoned and counted as a failure (never as
 * "done"); the next attempt resumes from the cursors. Two minutes moves tens of MB on a 3G
 * link; the minimum of 5 s leaves a handshake's round trips time on a slow one. */
#define CONFIG_SESSION_TIMEOUT_S_DEFAULT 120u
#define CONFIG_SESSION_TIMEOUT_S_MIN 5u
#define CONFIG_SESSION_TIMEOUT_S_MAX 3600u
/* Sessions a node serves at once; more wait to be accepted. A province hub has about a hundred
 * communes and the fan-in test 50 branches, so 128. The bound of 1,000 keeps one socket per
 * peer, the database and the loop's own descriptors under the default soft RLIMIT_NOFILE
 * (1024). Cost: one session (buffers of a frame) per peer. */
#define CONFIG_PEERS_MAX_DEFAULT 128u
#define CONFIG_PEERS_MAX_LIMIT 1000u
/* A daemon says what it did (one line per session) at info; warn hides that. */
#define CONFIG_LOG_LEVEL_DEFAULT DIAG_INFO

struct config {
    /* [node] */
    char listen[CONFIG_URL_SIZE_MAX + 1]; /* tcp://HOST:PORT, validated */
    /* An absolute path, or "" for HOME/CONFIG_CONTROL_SOCKET_NAME (config_control_socket). */
    char control_socket[CONFIG_CONTROL_PATH_SIZE_MAX + 1];
    enum diag_level log_level;
    /* [sync] */
    /* "upstream = URL KEY": the URL (distinct, validated) and the upstream's device key (its
     * `cdht whoami`, first line), which the secure channel needs before the first message. */
    char upstream[CONFIG_UPSTREAMS_MAX][CONFIG_URL_SIZE_MAX + 1];
    uint8_t upstream_key[CONFIG_UPSTREAMS_MAX][KEY_PUBLIC_SIZE];
    unsigned upstream_count; /* <= CONFIG_UPSTREAMS_MAX */
    unsigned interval_s;
    unsigned jitter_percent;
    unsigned backoff_initial_s;
    unsigned backoff_max_s; /* >= backoff_initial_s (config_check) */
    /* [limits] */
    unsigned session_timeout_s;
    unsigned peers_max;
};

/* Every field at its default: no upstream, the control socket in the home. */
void config_defaults(struct config *c);

/*
 * Sets one key (its name without the section: "listen", "upstream", ...) from its text, after
 * validating it. "upstream" adds one more upstream (ERR_INVAL when it is already listed,
 * ERR_MSGSIZE beyond CONFIG_UPSTREAMS_MAX); every other key replaces its value, which is how a
 * flag overrides the file. On failure c is unchanged and why holds one sentence naming the key
 * (ERR_NOTFOUND: no such key; ERR_INVAL: a bad value; ERR_MSGSIZE: over a limit).
 * Relations between keys are config_check's.
 */
err_code config_set(struct config *c, const char *key, const char *value,
                    char why[CONFIG_WHY_SIZE]) WARN_UNUSED;
/* Forgets the upstreams, so that `--upstream` flags replace the file's list instead of adding. */
void config_upstream_clear(struct config *c);
/* Checks the relations between keys (backoff_max_s >= backoff_initial_s). config_load calls it;
 * call it again after applying flags. ERR_INVAL with why on failure. */
err_code config_check(const struct config *c, char why[CONFIG_WHY_SIZE]) WARN_UNUSED;

/*
 * Reads the INI file at path on top of c (usually fresh from config_defaults), strictly:
 * an unknown section or key, a key outside its section, a bad value, a key given twice
 * (except upstream, which may repeat with distinct URLs), a line that is not a section, a
 * "key = value" or a whole-line comment ("#" or ";"; there are no comments after a value) are
 * all refused. On failure c is unchanged, so a reload (SIGHUP) that fails keeps the running
 * configuration; why says what was wrong and *line is its line (1-based; 0 when the file as a
 * whole is at fault, such as a missing file or backoff_max_s < backoff_initial_s).
 * ERR_NOTFOUND: no such file; ERR_IO: unreadable; ERR_INVAL / ERR_MSGSIZE: as config_set, and
 * ERR_MSGSIZE for a line over CONFIG_LINE_SIZE_MAX or a file over CONFIG_LINES_MAX lines.
 * It sets inih's process-wide options, so call it from one thread (the loop's) at a time.
 */
err_code config_load(struct config *c, const char *path, char why[CONFIG_WHY_SIZE],
                     unsigned *line) WARN_UNUSED;

/* The control socket's path for a node whose home is home: c->control_socket, or
 * HOME/control.sock. ERR_MSGSIZE (with nothing written to out) when it would not fit a Unix
 * socket address. */
err_code config_control_socket(const struct config *c, const char *home,
                               char out[CONFIG_CONTROL_PATH_SIZE_MAX + 1]) WARN_UNUSED;

/* The keys, in the order deploy/cdht.conf.example documents them: the i-th key's name and
 * section ("node", "sync", "limits"), or NULL past the last. For tests and `--help`. */
const char *config_key_name(size_t i, const char **section);

static_assert(CONFIG_CONTROL_PATH_SIZE_MAX < REPLICA_PATH_MAX, "a socket path fits a path");
static_assert(CONFIG_BACKOFF_INITIAL_S_DEFAULT <= CONFIG_BACKOFF_MAX_S_DEFAULT,
              "the default backoff passes config_check");
static_assert(CONFIG_URL_SIZE_MAX >= 6u + CONFIG_HOST_SIZE_MAX + 2u + 1u + 5u,
              "tcp://[HOST]:PORT fits");

#endif
