/*
 * Diagnostics: one line per event on stderr, with a stable message ID (listed in
 * docs/OPERATING.md) and a syslog-style "<N>" priority prefix that journald understands.
 * Records hold personal data: log record IDs, sizes and hashes, never payloads, names,
 * citizen ids or keys, not even at debug level.
 */
#ifndef CDHT_DIAG_H
#define CDHT_DIAG_H

enum diag_level { DIAG_ERROR = 3, DIAG_WARN = 4, DIAG_INFO = 6, DIAG_DEBUG = 7 };

extern enum diag_level diag_level; /* default DIAG_WARN; CDHT_DEBUG=1 raises it to DIAG_DEBUG */

void diag_emit(enum diag_level level, const char *msgid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define diag_error(msgid, ...)                                                                     \
    do {                                                                                           \
        if (diag_level >= DIAG_ERROR)                                                              \
            diag_emit(DIAG_ERROR, (msgid), __VA_ARGS__);                                           \
    } while (0)
#define diag_warn(msgid, ...)                                                                      \
    do {                                                                                           \
        if (diag_level >= DIAG_WARN)                                                               \
            diag_emit(DIAG_WARN, (msgid), __VA_ARGS__);                                            \
    } while (0)
#define diag_info(msgid, ...)                                                                      \
    do {                                                                                           \
        if (diag_level >= DIAG_INFO)                                                               \
            diag_emit(DIAG_INFO, (msgid), __VA_ARGS__);                                            \
    } while (0)
#define diag_debug(msgid, ...)                                                                     \
    do {                                                                                           \
        if (diag_level >= DIAG_DEBUG)                                                              \
            diag_emit(DIAG_DEBUG, (msgid), __VA_ARGS__);                                           \
    } while (0)

#endif
