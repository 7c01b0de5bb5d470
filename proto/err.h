/*
 * The one error enum cdht speaks. Each dependency's dialect (sqlite rc, errno, zstd size_t,
 * libsodium -1, libuv -errno) is converted once, where it is called. err_str() gives the
 * short meaning; docs/ERRORS.md explains each value and what to do about it.
 */
#ifndef CDHT_ERR_H
#define CDHT_ERR_H

#include <stdnoreturn.h>

typedef enum err_code {
    ERR_OK = 0,   /* not an error */
    ERR_NOMEM,    /* allocation failed */
    ERR_INVAL,    /* a caller's argument or a user's input is wrong */
    ERR_AGAIN,    /* try again later */
    ERR_CLOSED,   /* the other end is gone */
    ERR_IO,       /* the operating system refused a read or write */
    ERR_MSGSIZE,  /* input exceeds a limit in proto/limits.h */
    ERR_PROTO,    /* a peer broke the wire protocol: drop the peer */
    ERR_CORRUPT,  /* stored or bundled bytes failed a check */
    ERR_AUTH,     /* a signature or MAC did not verify, or a passphrase is wrong */
    ERR_DB,       /* SQLite refused; details were logged where it happened */
    ERR_NOTFOUND, /* the thing named does not exist */
    ERR_FORK,     /* two histories of one log disagree */
    ERR_CLOCK,    /* the wall clock is unusable for a local write */
    ERR_DENIED,   /* this device is not entitled to make the change (node/trust.h) */
} err_code;

const char *err_str(err_code e);
err_code err_from_errno(int e);

/* Reports corruption where it is first seen (SQLite's SQLITE_CORRUPT_BKPT): logs file and line
 * at debug level and returns ERR_CORRUPT. One place to put a breakpoint. */
err_code err_corrupt(const char *file, int line);
#define ERR_CORRUPT_HERE err_corrupt(__FILE__, __LINE__)

/* Programmer errors crash, in release builds too (redis serverAssert): a replica that carries
 * on in a wrong state is worse than one that stops. */
noreturn void assert_fail(const char *expr, const char *file, int line);
#define ASSERT(x) ((x) ? (void)0 : assert_fail(#x, __FILE__, __LINE__))
/* A "can't happen" defensive check that still returns an error in production (SQLite NEVER). */
#define NEVER(x) (x)

#define WARN_UNUSED __attribute__((warn_unused_result))

#endif
