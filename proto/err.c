/*
 * err_code names, the errno conversion, the corruption breakpoint, assert_fail, and the
 * diagnostics sink. Everything here is dependency-free so every module can use it.
 */
#include "err.h"
#include "diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

enum diag_level diag_level = DIAG_WARN;

const char *
err_str(err_code e)
{
    switch (e) {
    case ERR_OK: return "ok";
    case ERR_NOMEM: return "out of memory";
    case ERR_INVAL: return "invalid argument";
    case ERR_AGAIN: return "try again";
    case ERR_CLOSED: return "closed";
    case ERR_IO: return "input/output error";
    case ERR_MSGSIZE: return "input exceeds a limit";
    case ERR_PROTO: return "protocol violation";
    case ERR_CORRUPT: return "corrupt data";
    case ERR_AUTH: return "authentication failed";
    case ERR_DB: return "database error";
    case ERR_NOTFOUND: return "not found";
    case ERR_FORK: return "forked log";
    case ERR_CLOCK: return "clock unusable";
    case ERR_DENIED: return "not entitled";
    }
    return "unknown error";
}

err_code
err_from_errno(int e)
{
    switch (e) {
    case 0: return ERR_OK;
    case ENOMEM: return ERR_NOMEM;
    case EINVAL: return ERR_INVAL;
    case EAGAIN: return ERR_AGAIN;
    case ENOENT: return ERR_NOTFOUND;
    case EMSGSIZE: return ERR_MSGSIZE;
    case EPIPE:
    case ECONNRESET: return ERR_CLOSED;
    default: return ERR_IO;
    }
}

err_code
err_corrupt(const char *file, int line)
{
    diag_debug("CORRUPT", "corruption detected at %s:%d", file, line);
    return ERR_CORRUPT;
}

noreturn void
assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "<2>ASSERT %s:%d: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}

void
diag_emit(enum diag_level level, const char *msgid, const char *fmt, ...)
{
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "<%d>%s %s\n", (int)level, msgid, line);
}
