/*
 * The device key file: one Ed25519 key per device, stored as its 32-byte seed, either plain or
 * sealed under a passphrase with Argon2id and XSalsa20-Poly1305. Every log entry a device
 * writes is signed with this key, so the file is created once with O_EXCL (never overwritten),
 * kept at mode 0600, and decoded strictly: exact sizes, bounded Argon2id limits, and the public
 * key recomputed from the seed rather than trusted from the file.
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Byte layout of the key file (keys.h and docs/PROTOCOL.md, "Key file"). */
#define KEYS_MAGIC_SIZE 8u
#define KEYS_KDF_PLAIN 0u
#define KEYS_KDF_ARGON2ID 1u
#define KEYS_OFF_KDF KEYS_MAGIC_SIZE
#define KEYS_OFF_SEED (KEYS_OFF_KDF + 1u)     /* kdf 0 */
#define KEYS_OFF_OPSLIMIT (KEYS_OFF_KDF + 1u) /* kdf 1, from here to the end */
#define KEYS_OFF_MEMLIMIT (KEYS_OFF_OPSLIMIT + 8u)
#define KEYS_OFF_SALT (KEYS_OFF_MEMLIMIT + 8u)
#define KEYS_OFF_NONCE (KEYS_OFF_SALT + crypto_pwhash_SALTBYTES)
#define KEYS_OFF_BOX (KEYS_OFF_NONCE + crypto_secretbox_NONCEBYTES)
#define KEYS_BOX_SIZE (KEY_SEED_SIZE + crypto_secretbox_MACBYTES)

static_assert(sizeof KEYS_MAGIC - 1 == KEYS_MAGIC_SIZE, "the magic is 8 bytes");
static_assert(KEYS_OFF_SEED + KEY_SEED_SIZE == KEYS_FILE_PLAIN_SIZE, "plain layout");
static_assert(KEYS_OFF_BOX + KEYS_BOX_SIZE == KEYS_FILE_SEALED_SIZE, "sealed layout");
static_assert(KEYS_FILE_PLAIN_SIZE <= KEYS_FILE_SIZE_MAX, "a plain file fits the buffer");
static_assert(crypto_sign_SEEDBYTES == KEY_SEED_SIZE, "Ed25519 seed size");
static_assert(crypto_sign_PUBLICKEYBYTES == KEY_PUBLIC_SIZE, "Ed25519 public key size");
static_assert(crypto_sign_SECRETKEYBYTES == KEY_SECRET_SIZE, "libsodium seed || pk form");
static_assert(crypto_secretbox_KEYBYTES == 32u, "the derived key is 32 bytes");
static_assert(crypto_pwhash_SALTBYTES == 16u, "the file stores a 16-byte salt");
static_assert(crypto_secretbox_NONCEBYTES == 24u, "the file stores a 24-byte nonce");

/* The file names Argon2id explicitly (kdf 1) and stores its limits, so the generic
 * crypto_pwhash_* limits we write must be Argon2id's; a libsodium whose default algorithm
 * changed would otherwise write limits sized for another function. */
static_assert(crypto_pwhash_OPSLIMIT_INTERACTIVE == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
              "interactive opslimit is Argon2id's");
static_assert(crypto_pwhash_MEMLIMIT_INTERACTIVE == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
              "interactive memlimit is Argon2id's");

/* Stored limits accepted on load. The file is input: a hostile one could name a memlimit of
 * gigabytes and an opslimit of billions. MODERATE (256 MiB, 3 passes) is the most a key file
 * may make us spend; keys_encode writes INTERACTIVE (64 MiB, 2 passes). Below libsodium's
 * minimums crypto_pwhash would refuse anyway, and no file we wrote has them. */
#define KEYS_OPSLIMIT_MIN ((uint64_t)crypto_pwhash_argon2id_OPSLIMIT_MIN)
#define KEYS_OPSLIMIT_MAX ((uint64_t)crypto_pwhash_argon2id_OPSLIMIT_MODERATE)
#define KEYS_MEMLIMIT_MIN ((uint64_t)crypto_pwhash_argon2id_MEMLIMIT_MIN)
#define KEYS_MEMLIMIT_MAX ((uint64_t)crypto_pwhash_argon2id_MEMLIMIT_MODERATE)
static_assert(KEYS_MEMLIMIT_MAX <= SIZE_MAX, "an accepted memlimit fits size_t");

/* A read or write interrupted by a signal is retried at most this many times in one call: the
 * loops stay bounded even under a signal storm. */
#define KEYS_EINTR_RETRIES_MAX 64u

/* sodium_init() is idempotent and cheap after the first call, so each entry point that needs
 * libsodium's randomness or dispatch calls it. It fails only when the operating system cannot
 * provide randomness, which is an I/O failure from our side. */
static err_code
keys_sodium_ready(void)
{
    if (sodium_init() < 0) {
        return ERR_IO;
    }
    return ERR_OK;
}

static void
keys_put_u64_be(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8u; i++) {
        p[i] = (uint8_t)(v >> (56u - 8u * i));
    }
}

static uint64_t
keys_get_u64_be(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8u; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Derives the secretbox key from the passphrase. crypto_pwhash fails only on out-of-range
 * arguments, which the callers have checked, or when it cannot allocate memlimit bytes. */
static err_code
keys_derive(uint8_t key[crypto_secretbox_KEYBYTES], const char *pass, size_t pass_len,
            const uint8_t salt[crypto_pwhash_SALTBYTES], uint64_t opslimit, uint64_t memlimit)
{
    ASSERT(opslimit >= KEYS_OPSLIMIT_MIN && opslimit <= KEYS_OPSLIMIT_MAX);
    ASSERT(memlimit >= KEYS_MEMLIMIT_MIN && memlimit <= KEYS_MEMLIMIT_MAX);
    if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, pass_len, salt,
                      (unsigned long long)opslimit, (size_t)memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        sodium_memzero(key, crypto_secretbox_KEYBYTES);
        return ERR_NOMEM;
    }
    return ERR_OK;
}

/* Checks the parts every key file shares (magic, kdf byte, exact size for that kdf) and gives
 * the kdf. Both keys_decode and keys_is_sealed go through here, so they agree on what a key
 * file is. */
static err_code
keys_header_check(const uint8_t *buf, size_t len, unsigned *kdf)
{
    ASSERT(buf != NULL || len == 0);
    ASSERT(kdf != NULL);
    if (len < KEYS_OFF_KDF + 1u) {
        return ERR_CORRUPT_HERE;
    }
    if (memcmp(buf, KEYS_MAGIC, KEYS_MAGIC_SIZE) != 0) {
        return ERR_CORRUPT_HERE;
    }
    *kdf = buf[KEYS_OFF_KDF];
    if (*kdf == KEYS_KDF_PLAIN && len == KEYS_FILE_PLAIN_SIZE) {
        return ERR_OK;
    }
    if (*kdf == KEYS_KDF_ARGON2ID && len == KEYS_FILE_SEALED_SIZE) {
        return ERR_OK;
    }
    return ERR_CORRUPT_HERE; /* an unknown kdf, or a known one at the wrong size */
}

err_code
keys_decode(const uint8_t *buf, size_t len, const char *pass, size_t pass_len, struct keys *out)
{
    err_code rc = ERR_OK;
    uint8_t seed[KEY_SEED_SIZE];
    uint8_t key[crypto_secretbox_KEYBYTES];
    unsigned kdf = 0;
    ASSERT(out != NULL);
    ASSERT(pass != NULL || pass_len == 0);
    sodium_memzero(out, sizeof *out);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(key, sizeof key);

    if ((rc = keys_sodium_ready()) != ERR_OK) {
        goto out;
    }
    if ((rc = keys_header_check(buf, len, &kdf)) != ERR_OK) {
        goto out;
    }
    if (kdf == KEYS_KDF_PLAIN) {
        /* A passphrase given for a plain key is ignored: a passphrase file configured for a key
         * that was never sealed protects nothing, and refusing would only stop the node. */
        memcpy(seed, buf + KEYS_OFF_SEED, KEY_SEED_SIZE);
    } else {
        ASSERT(kdf == KEYS_KDF_ARGON2ID);
        uint64_t opslimit = keys_get_u64_be(buf + KEYS_OFF_OPSLIMIT);
        uint64_t memlimit = keys_get_u64_be(buf + KEYS_OFF_MEMLIMIT);
        /* Limits are checked before the passphrase so that a hostile file is reported as
         * corrupt whether or not a passphrase was given, and before any allocation. */
        if (opslimit < KEYS_OPSLIMIT_MIN || opslimit > KEYS_OPSLIMIT_MAX ||
            memlimit < KEYS_MEMLIMIT_MIN || memlimit > KEYS_MEMLIMIT_MAX) {
            rc = ERR_CORRUPT_HERE;
            goto out;
        }
        if (pass == NULL || pass_len == 0) {
            rc = ERR_AUTH; /* sealed, and no passphrase to open it with */
            goto out;
        }
        if (pass_len > PASSPHRASE_SIZE_MAX) {
            rc = ERR_MSGSIZE;
            goto out;
        }
        rc = keys_derive(key, pass, pass_len, buf + KEYS_OFF_SALT, opslimit, memlimit);
        if (rc != ERR_OK) {
            goto out;
        }
        /* A wrong passphrase and a damaged box are indistinguishable by design: both fail the
         * Poly1305 tag. Either way the key cannot be used, and ERR_AUTH says "check the
         * passphrase" first, which is the likelier cause. */
        if (crypto_secretbox_open_easy(seed, buf + KEYS_OFF_BOX, KEYS_BOX_SIZE,
                                       buf + KEYS_OFF_NONCE, key) != 0) {
            rc = ERR_AUTH;
            goto out;
        }
    }
    /* The public key is recomputed, never read: there is no stored copy to disagree with. */
    if (NEVER(crypto_sign_seed_keypair(out->pk, out->sk, seed) != 0)) {
        rc = ERR_CORRUPT_HERE; /* libsodium documents no failure for any 32-byte seed */
        goto out;
    }
    ASSERT(memcmp(out->sk + KEY_SEED_SIZE, out->pk, KEY_PUBLIC_SIZE) == 0);
out:
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(key, sizeof key);
    if (rc != ERR_OK) {
        keys_wipe(out);
    }
    return rc;
}

err_code
keys_encode(const struct keys *k, const char *pass, size_t pass_len,
            uint8_t buf[KEYS_FILE_SIZE_MAX], size_t *len)
{
    err_code rc = ERR_OK;
    uint8_t key[crypto_secretbox_KEYBYTES];
    ASSERT(k != NULL);
    ASSERT(buf != NULL);
    ASSERT(len != NULL);
    ASSERT(pass != NULL || pass_len == 0);
    /* The pair comes from crypto_sign_seed_keypair, whose secret key ends with the public key;
     * a mismatch means the struct was built or overwritten by our own code. */
    ASSERT(memcmp(k->sk + KEY_SEED_SIZE, k->pk, KEY_PUBLIC_SIZE) == 0);
    sodium_memzero(key, sizeof key);
    sodium_memzero(buf, KEYS_FILE_SIZE_MAX);
    *len = 0;

    memcpy(buf, KEYS_MAGIC, KEYS_MAGIC_SIZE);
    if (pass == NULL) {
        buf[KEYS_OFF_KDF] = KEYS_KDF_PLAIN;
        memcpy(buf + KEYS_OFF_SEED, k->sk, KEY_SEED_SIZE);
        *len = KEYS_FILE_PLAIN_SIZE;
        goto out;
    }
    /* An empty passphrase would seal the key with a secret everybody knows while the file
     * says it is protected: refuse it, like keys_read_passphrase does. */
    if (pass_len == 0) {
        rc = ERR_INVAL;
        goto out;
    }
    if (pass_len > PASSPHRASE_SIZE_MAX) {
        rc = ERR_MSGSIZE;
        goto out;
    }
    if ((rc = keys_sodium_ready()) != ERR_OK) {
        goto out;
    }
    buf[KEYS_OFF_KDF] = KEYS_KDF_ARGON2ID;
    keys_put_u64_be(buf + KEYS_OFF_OPSLIMIT, crypto_pwhash_OPSLIMIT_INTERACTIVE);
    keys_put_u64_be(buf + KEYS_OFF_MEMLIMIT, crypto_pwhash_MEMLIMIT_INTERACTIVE);
    randombytes_buf(buf + KEYS_OFF_SALT, crypto_pwhash_SALTBYTES);
    randombytes_buf(buf + KEYS_OFF_NONCE, crypto_secretbox_NONCEBYTES);
    rc = keys_derive(key, pass, pass_len, buf + KEYS_OFF_SALT, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                     crypto_pwhash_MEMLIMIT_INTERACTIVE);
    if (rc != ERR_OK) {
        goto out;
    }
    if (NEVER(crypto_secretbox_easy(buf + KEYS_OFF_BOX, k->sk, KEY_SEED_SIZE, buf + KEYS_OFF_NONCE,
                                    key) != 0)) {
        rc = ERR_INVAL; /* fails only for a message too long, which 32 bytes is not */
        goto out;
    }
    *len = KEYS_FILE_SEALED_SIZE;
out:
    sodium_memzero(key, sizeof key);
    if (rc != ERR_OK) {
        sodium_memzero(buf, KEYS_FILE_SIZE_MAX);
        *len = 0;
    }
    return rc;
}

/* Writes all of buf, retrying short writes and interrupted calls a bounded number of times. */
static err_code
keys_write_all(int fd, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    unsigned interrupts = 0;
    /* Each pass writes at least one byte or counts one interruption, so the loop ends after at
     * most len + KEYS_EINTR_RETRIES_MAX passes. */
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0) {
            if (errno == EINTR && interrupts++ < KEYS_EINTR_RETRIES_MAX) {
                continue;
            }
            return err_from_errno(errno);
        }
        if (n == 0) {
            return ERR_IO; /* a regular file that accepts nothing: treat as a full disk */
        }
        done += (size_t)n;
    }
    return ERR_OK;
}

/* Reads until end of file or until cap bytes, whichever comes first. Reading cap bytes when
 * the limit is cap - 1 is how callers tell "at the limit" from "over it". */
static err_code
keys_read_bounded(int fd, uint8_t *buf, size_t cap, size_t *len)
{
    size_t done = 0;
    unsigned interrupts = 0;
    *len = 0;
    /* Bounded like keys_write_all: one byte or one counted interruption per pass. */
    while (done < cap) {
        ssize_t n = read(fd, buf + done, cap - done);
        if (n < 0) {
            if (errno == EINTR && interrupts++ < KEYS_EINTR_RETRIES_MAX) {
                continue;
            }
            return err_from_errno(errno);
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    *len = done;
    return ERR_OK;
}

/* Makes the new directory entry durable: fsync on the file alone does not persist its name,
 * and a device that lost its key file after a crash would start a new log under a new key. */
static err_code
keys_fsync_dir(const char *path)
{
    err_code rc = ERR_OK;
    char *dir = NULL;
    int fd = -1;
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        dir = strdup(".");
    } else if (slash == path) {
        dir = strdup("/");
    } else {
        dir = strndup(path, (size_t)(slash - path));
    }
    if (dir == NULL) {
        return ERR_NOMEM;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = err_from_errno(errno);
        goto out;
    }
    /* Some file systems cannot sync a directory and say EINVAL; there is nothing more to do on
     * those, and the file itself is already synced. */
    if (fsync(fd) != 0 && errno != EINVAL) {
        rc = err_from_errno(errno);
        goto out;
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    free(dir);
    return rc;
}

err_code
keys_generate(const char *path, const char *pass, size_t pass_len, struct keys *out)
{
    err_code rc = ERR_OK;
    uint8_t seed[KEY_SEED_SIZE];
    uint8_t file[KEYS_FILE_SIZE_MAX];
    size_t file_len = 0;
    int fd = -1;
    bool created = false;
    ASSERT(path != NULL);
    ASSERT(out != NULL);
    ASSERT(pass != NULL || pass_len == 0);
    sodium_memzero(out, sizeof *out);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(file, sizeof file);

    if ((rc = keys_sodium_ready()) != ERR_OK) {
        goto out;
    }
    randombytes_buf(seed, sizeof seed);
    if (NEVER(crypto_sign_seed_keypair(out->pk, out->sk, seed) != 0)) {
        rc = ERR_IO;
        goto out;
    }
    /* Encode before creating the file: Argon2id takes a while, and the file should exist
     * half-written for as short a time as possible. */
    if ((rc = keys_encode(out, pass, pass_len, file, &file_len)) != ERR_OK) {
        goto out;
    }
    /* O_EXCL: an existing key is never overwritten, because that would orphan every entry
     * it signed. O_CREAT|O_EXCL also refuses to follow a symlink planted at the path. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = err_from_errno(errno);
        goto out;
    }
    created = true;
    /* The umask can only remove bits from 0600, but one that removed the owner's read bit
     * would leave a key nobody can load: set the mode explicitly. */
    if (fchmod(fd, 0600) != 0) {
        rc = err_from_errno(errno);
        goto out;
    }
    if ((rc = keys_write_all(fd, file, file_len)) != ERR_OK) {
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = err_from_errno(errno);
        goto out;
    }
    int closed = close(fd);
    fd = -1;
    if (closed != 0) {
        rc = ERR_IO; /* close may report a deferred write error (NFS) */
        goto out;
    }
    rc = keys_fsync_dir(path);
out:
    if (fd >= 0) {
        close(fd);
    }
    if (rc != ERR_OK && created) {
        unlink(path); /* no half-written key file is left behind */
    }
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(file, sizeof file);
    if (rc != ERR_OK) {
        keys_wipe(out);
    }
    return rc;
}

/* Opens and reads a key file: refuses a file that is not a regular file or that group or
 * others may read, before reading a byte of it, and reads at most one byte past the largest
 * key file. The mode is checked with fstat on the open descriptor rather than stat on the
 * path, so the file checked is the file read. */
static err_code
keys_file_read(const char *path, uint8_t buf[KEYS_FILE_SIZE_MAX + 1], size_t *len)
{
    err_code rc = ERR_OK;
    struct stat st;
    /* O_NONBLOCK so that a FIFO planted at the path cannot block the open; it has no effect
     * on the regular file we then insist on. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    *len = 0;
    if (fd < 0) {
        return err_from_errno(errno);
    }
    if (fstat(fd, &st) != 0) {
        rc = err_from_errno(errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ERR_INVAL;
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        rc = ERR_INVAL; /* like ssh: a key others can read is refused, not silently used */
        goto out;
    }
    if ((rc = keys_read_bounded(fd, buf, KEYS_FILE_SIZE_MAX + 1, len)) != ERR_OK) {
        goto out;
    }
    if (*len > KEYS_FILE_SIZE_MAX) {
        rc = ERR_CORRUPT_HERE;
        goto out;
    }
out:
    close(fd);
    if (rc != ERR_OK) {
        sodium_memzero(buf, KEYS_FILE_SIZE_MAX + 1);
        *len = 0;
    }
    return rc;
}

err_code
keys_load(const char *path, const char *pass, size_t pass_len, struct keys *out)
{
    err_code rc = ERR_OK;
    uint8_t buf[KEYS_FILE_SIZE_MAX + 1];
    size_t len = 0;
    ASSERT(path != NULL);
    ASSERT(out != NULL);
    sodium_memzero(out, sizeof *out);
    if ((rc = keys_file_read(path, buf, &len)) != ERR_OK) {
        goto out;
    }
    rc = keys_decode(buf, len, pass, pass_len, out);
out:
    sodium_memzero(buf, sizeof buf); /* a plain file holds the seed itself */
    return rc;
}

err_code
keys_is_sealed(const char *path, int *sealed)
{
    err_code rc = ERR_OK;
    uint8_t buf[KEYS_FILE_SIZE_MAX + 1];
    size_t len = 0;
    unsigned kdf = 0;
    ASSERT(path != NULL);
    ASSERT(sealed != NULL);
    *sealed = 0;
    if ((rc = keys_file_read(path, buf, &len)) != ERR_OK) {
        goto out;
    }
    if ((rc = keys_header_check(buf, len, &kdf)) != ERR_OK) {
        goto out;
    }
    *sealed = kdf == KEYS_KDF_ARGON2ID;
out:
    sodium_memzero(buf, sizeof buf);
    return rc;
}

err_code
keys_read_passphrase(const char *path, char buf[PASSPHRASE_SIZE_MAX], size_t *len)
{
    err_code rc = ERR_OK;
    /* Room for a passphrase at the limit, its CRLF, and one byte to tell "over the limit". */
    uint8_t tmp[PASSPHRASE_SIZE_MAX + 3];
    size_t n = 0;
    int fd = -1;
    ASSERT(path != NULL);
    ASSERT(buf != NULL);
    ASSERT(len != NULL);
    *len = 0;
    sodium_memzero(tmp, sizeof tmp);
    /* No regular-file test here, unlike key files: a passphrase often arrives through a pipe
     * (a shell's <(pass show ...), or systemd credentials), and blocking until the writer has
     * written is what the operator wants. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = err_from_errno(errno);
        goto out;
    }
    if ((rc = keys_read_bounded(fd, tmp, sizeof tmp, &n)) != ERR_OK) {
        goto out;
    }
    /* One trailing newline is what an editor or `echo` adds; only that one is removed, so a
     * passphrase that really ends in white space keeps the rest. */
    if (n > 0 && tmp[n - 1] == '\n') {
        n--;
        if (n > 0 && tmp[n - 1] == '\r') {
            n--;
        }
    }
    if (n == 0) {
        rc = ERR_INVAL;
        goto out;
    }
    if (n > PASSPHRASE_SIZE_MAX) {
        rc = ERR_MSGSIZE;
        goto out;
    }
    memcpy(buf, tmp, n);
    *len = n;
out:
    if (fd >= 0) {
        close(fd);
    }
    sodium_memzero(tmp, sizeof tmp);
    if (rc != ERR_OK) {
        sodium_memzero(buf, PASSPHRASE_SIZE_MAX);
        *len = 0;
    }
    return rc;
}

void
keys_wipe(struct keys *k)
{
    if (k == NULL) {
        return;
    }
    sodium_memzero(k, sizeof *k);
}

void
keys_b64(const uint8_t pk[KEY_PUBLIC_SIZE], char out[KEYS_B64_SIZE])
{
    sodium_bin2base64(out, KEYS_B64_SIZE, pk, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
}

int
keys_from_b64(const char *s, uint8_t pk[KEY_PUBLIC_SIZE])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789+/=";
    size_t n = 0;
    const char *end = NULL;
    if (s == NULL || strlen(s) != KEYS_B64_SIZE - 1u || strspn(s, alphabet) != KEYS_B64_SIZE - 1u ||
        sodium_base642bin(pk, KEY_PUBLIC_SIZE, s, KEYS_B64_SIZE - 1u, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != KEY_PUBLIC_SIZE || *end != '\0') {
        return -1;
    }
    return 0;
}
