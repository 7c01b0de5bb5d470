/*
 * The content-addressed evidence store (evidence.h). A file is written the way a replica's own
 * files are: to a temporary name in its final directory, fsynced, renamed over, and the
 * directory fsynced, so that a crash leaves either no file or the whole file under its hash,
 * never a torn one under a name that claims to be its hash. The files hold personal data
 * (photos of people, certificates): directories are 0700 and files 0600.
 */
#include "evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

void
evidence_hex(const uint8_t hash[HASH_SIZE], char out[EVIDENCE_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < HASH_SIZE; i++) {
        out[2 * i] = digits[hash[i] >> 4];
        out[2 * i + 1] = digits[hash[i] & 15];
    }
    out[2 * HASH_SIZE] = '\0';
}

err_code
evidence_path(const char *home, const uint8_t hash[HASH_SIZE], char out[EVIDENCE_PATH_SIZE])
{
    char hex[EVIDENCE_HEX_SIZE];
    evidence_hex(hash, hex);
    int n = snprintf(out, EVIDENCE_PATH_SIZE, "%s/%s/%.2s/%s", home, EVIDENCE_DIR, hex, hex);
    return n < 0 || (size_t)n >= EVIDENCE_PATH_SIZE ? ERR_MSGSIZE : ERR_OK;
}

err_code
evidence_read(const char *path, uint8_t **buf, size_t *len)
{
    err_code rc = ERR_OK;
    uint8_t *b = NULL;
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? ERR_NOTFOUND : err_from_errno(errno);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        rc = err_from_errno(errno);
        goto out;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size == 0) {
        rc = ERR_INVAL;
        goto out;
    }
    if ((uint64_t)sb.st_size > EVIDENCE_FILE_SIZE_MAX) {
        rc = ERR_MSGSIZE;
        goto out;
    }
    /* One byte more than the size seen, so a file that grows while we read is noticed. */
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    if ((b = malloc(cap)) == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (;;) { /* bounded: each pass adds at least one byte, at most cap in all */
        ssize_t k = read(fd, b + n, cap - n);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            rc = err_from_errno(errno);
            goto out;
        }
        if (k == 0) {
            break;
        }
        n += (size_t)k;
        if (n == cap) {
            rc = ERR_MSGSIZE; /* it grew: refuse rather than hash a moving target */
            goto out;
        }
    }
    if (n == 0) {
        rc = ERR_INVAL;
        goto out;
    }
    *buf = b;
    *len = n;
    b = NULL; /* ownership moved to *buf */
out:
    free(b);
    close(fd);
    return rc;
}

/* mkdir that accepts an existing directory. */
static err_code
evidence_mkdir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST) {
        return ERR_OK;
    }
    return err_from_errno(errno);
}

static err_code
evidence_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return err_from_errno(errno);
    }
    err_code rc = fsync(fd) == 0 ? ERR_OK : err_from_errno(errno);
    close(fd);
    return rc;
}

err_code
evidence_write_file(const char *dir, const char *path, const uint8_t *buf, size_t len)
{
    char tmp[EVIDENCE_PATH_SIZE + 16];
    err_code rc = ERR_OK;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp) {
        return ERR_MSGSIZE;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return err_from_errno(errno);
    }
    for (size_t off = 0; off < len;) { /* bounded: each pass writes at least one byte */
        ssize_t k = write(fd, buf + off, len - off);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            rc = k < 0 ? err_from_errno(errno) : ERR_IO;
            goto out;
        }
        off += (size_t)k;
    }
    if (fsync(fd) != 0) {
        rc = err_from_errno(errno);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = err_from_errno(errno);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = err_from_errno(errno);
        goto out;
    }
    return evidence_fsync_dir(dir); /* on failure the file is in place; its durability is not */
out:
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    return rc;
}

err_code
evidence_has(const char *home, const uint8_t hash[HASH_SIZE], int *yes)
{
    char path[EVIDENCE_PATH_SIZE];
    struct stat sb;
    *yes = 0;
    err_code rc = evidence_path(home, hash, path);
    if (rc != ERR_OK) {
        return rc;
    }
    if (stat(path, &sb) != 0) {
        return errno == ENOENT ? ERR_OK : err_from_errno(errno);
    }
    *yes = S_ISREG(sb.st_mode);
    return ERR_OK;
}

err_code
evidence_put(const char *home, const uint8_t *buf, size_t len, uint8_t hash[HASH_SIZE], int *stored)
{
    err_code rc = ERR_OK;
    char dir[EVIDENCE_PATH_SIZE], path[EVIDENCE_PATH_SIZE];
    char hex[EVIDENCE_HEX_SIZE];
    int have = 0;
    ASSERT(len > 0);
    ASSERT(len <= EVIDENCE_FILE_SIZE_MAX);
    if (stored != NULL) {
        *stored = 0;
    }
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, buf, len);
    sha256_final(&h, hash);
    evidence_hex(hash, hex);
    if ((rc = evidence_has(home, hash, &have)) != ERR_OK || have) {
        return rc; /* the same content is already there under its name */
    }
    if ((rc = evidence_path(home, hash, path)) != ERR_OK) {
        return rc;
    }
    snprintf(dir, sizeof dir, "%s/%s", home, EVIDENCE_DIR);
    if ((rc = evidence_mkdir(dir)) != ERR_OK) {
        return rc;
    }
    snprintf(dir, sizeof dir, "%s/%s/%.2s", home, EVIDENCE_DIR, hex);
    if ((rc = evidence_mkdir(dir)) != ERR_OK) {
        return rc;
    }
    if ((rc = evidence_write_file(dir, path, buf, len)) != ERR_OK) {
        return rc;
    }
    if (stored != NULL) {
        *stored = 1;
    }
    return ERR_OK;
}
