/*
 * Tests for node/keys.c: device key files written by keys_generate and read by keys_load, plain
 * and sealed, in a fresh mkdtemp directory per test. Besides round trips, every refusal is
 * checked for its exact code: loose modes, every truncation, damaged boxes, hostile Argon2id
 * limits, existing files, and the passphrase file limits.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"

/* Offsets of the sealed layout in keys.h, restated here so the tests check the format itself
 * rather than whatever keys.c happens to use. */
#define T_OFF_KDF 8u
#define T_OFF_OPSLIMIT 9u
#define T_OFF_MEMLIMIT 17u
#define T_OFF_SALT 25u
#define T_OFF_NONCE 41u
#define T_OFF_BOX 65u

static char tmpdir[64];
static char pathbuf[256];

static void
setup(void)
{
    strcpy(tmpdir, "/tmp/cdht-keys-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    cr_assert_eq(sodium_init() >= 0, 1);
}

/* Removes what a test left in its directory; the directory holds only files and FIFOs, plus
 * at most one subdirectory level made by the non-regular-file test. */
static void
teardown(void)
{
    DIR *d = opendir(tmpdir);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        if (unlink(p) != 0) {
            rmdir(p);
        }
    }
    closedir(d);
    rmdir(tmpdir);
}

TestSuite(keys, .init = setup, .fini = teardown);

static const char *
path_in(const char *name)
{
    snprintf(pathbuf, sizeof pathbuf, "%s/%s", tmpdir, name);
    return pathbuf;
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    cr_assert_eq(fchmod(fd, mode), 0);
    cr_assert_eq(close(fd), 0);
}

static size_t
read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static uint64_t
get_u64_be(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8u; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void
put_u64_be(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8u; i++) {
        p[i] = (uint8_t)(v >> (56u - 8u * i));
    }
}

/* Builds a sealed key file with chosen Argon2id limits straight from libsodium, independently
 * of keys_encode (which always writes INTERACTIVE). */
static void
seal_with_limits(const uint8_t seed[KEY_SEED_SIZE], const char *pass, uint64_t ops, uint64_t mem,
                 uint8_t out[KEYS_FILE_SEALED_SIZE])
{
    uint8_t key[crypto_secretbox_KEYBYTES];
    memcpy(out, KEYS_MAGIC, 8);
    out[T_OFF_KDF] = 1;
    put_u64_be(out + T_OFF_OPSLIMIT, ops);
    put_u64_be(out + T_OFF_MEMLIMIT, mem);
    randombytes_buf(out + T_OFF_SALT, 16);
    randombytes_buf(out + T_OFF_NONCE, 24);
    cr_assert_eq(crypto_pwhash(key, sizeof key, pass, strlen(pass), out + T_OFF_SALT, ops,
                               (size_t)mem, crypto_pwhash_ALG_ARGON2ID13),
                 0);
    cr_assert_eq(
        crypto_secretbox_easy(out + T_OFF_BOX, seed, KEY_SEED_SIZE, out + T_OFF_NONCE, key), 0);
}

static void
assert_wiped(const struct keys *k)
{
    static const struct keys zero;
    cr_assert_arr_eq(k, &zero, sizeof zero, "a failed call leaves no key material behind");
}

/* A plain key round-trips through its file, which is exactly 41 bytes at mode 0600. */
Test(keys, plain_round_trip)
{
    struct keys gen, got;
    const char *p = path_in("key");
    struct stat st;
    int sealed = -1;
    cr_assert_eq(keys_generate(p, NULL, 0, &gen), ERR_OK);
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_size, (off_t)KEYS_FILE_PLAIN_SIZE);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(keys_is_sealed(p, &sealed), ERR_OK);
    cr_assert_eq(sealed, 0);
    cr_assert_eq(keys_load(p, NULL, 0, &got), ERR_OK);
    cr_assert_arr_eq(got.pk, gen.pk, KEY_PUBLIC_SIZE);
    cr_assert_arr_eq(got.sk, gen.sk, KEY_SECRET_SIZE);
}

/* A sealed key round-trips, and its file records libsodium's INTERACTIVE Argon2id limits. */
Test(keys, sealed_round_trip)
{
    static const char pass[] = "correct horse battery staple";
    struct keys gen, got;
    const char *p = path_in("key");
    uint8_t file[KEYS_FILE_SIZE_MAX + 1];
    int sealed = -1;
    cr_assert_eq(keys_generate(p, pass, strlen(pass), &gen), ERR_OK);
    cr_assert_eq(read_file(p, file, sizeof file), KEYS_FILE_SEALED_SIZE);
    cr_assert_eq(file[T_OFF_KDF], 1);
    cr_assert_eq(get_u64_be(file + T_OFF_OPSLIMIT), crypto_pwhash_OPSLIMIT_INTERACTIVE);
    cr_assert_eq(get_u64_be(file + T_OFF_MEMLIMIT), crypto_pwhash_MEMLIMIT_INTERACTIVE);
    cr_assert_eq(keys_is_sealed(p, &sealed), ERR_OK);
    cr_assert_eq(sealed, 1);
    cr_assert_eq(keys_load(p, pass, strlen(pass), &got), ERR_OK);
    cr_assert_arr_eq(got.pk, gen.pk, KEY_PUBLIC_SIZE);
    cr_assert_arr_eq(got.sk, gen.sk, KEY_SECRET_SIZE);
}

/* The loaded secret key signs, and the public key from generation verifies the signature. */
Test(keys, loaded_key_signs_and_pk_verifies)
{
    static const uint8_t msg[] = "checkpoint 42";
    struct keys gen, got;
    uint8_t sig[SIG_SIZE];
    const char *p = path_in("key");
    cr_assert_eq(keys_generate(p, NULL, 0, &gen), ERR_OK);
    cr_assert_eq(keys_load(p, NULL, 0, &got), ERR_OK);
    cr_assert_eq(crypto_sign_detached(sig, NULL, msg, sizeof msg, got.sk), 0);
    cr_assert_eq(crypto_sign_verify_detached(sig, msg, sizeof msg, gen.pk), 0);
    sig[0] ^= 1;
    cr_assert_eq(crypto_sign_verify_detached(sig, msg, sizeof msg, gen.pk), -1);
}

/* A wrong passphrase is ERR_AUTH, and nothing of the key is left in the output. */
Test(keys, wrong_passphrase_is_auth)
{
    struct keys gen, got;
    const char *p = path_in("key");
    cr_assert_eq(keys_generate(p, "right", 5, &gen), ERR_OK);
    memset(&got, 0xa5, sizeof got);
    cr_assert_eq(keys_load(p, "wrong", 5, &got), ERR_AUTH);
    assert_wiped(&got);
}

/* A sealed key without a passphrase (NULL, or empty) is ERR_AUTH. */
Test(keys, missing_passphrase_on_sealed_is_auth)
{
    struct keys gen, got;
    const char *p = path_in("key");
    cr_assert_eq(keys_generate(p, "secret", 6, &gen), ERR_OK);
    cr_assert_eq(keys_load(p, NULL, 0, &got), ERR_AUTH);
    assert_wiped(&got);
    cr_assert_eq(keys_load(p, "", 0, &got), ERR_AUTH);
    assert_wiped(&got);
}

/* A plain key given a passphrase loads anyway: the passphrase is ignored. */
Test(keys, plain_key_ignores_passphrase)
{
    struct keys gen, got;
    const char *p = path_in("key");
    cr_assert_eq(keys_generate(p, NULL, 0, &gen), ERR_OK);
    cr_assert_eq(keys_load(p, "unused", 6, &got), ERR_OK);
    cr_assert_arr_eq(got.sk, gen.sk, KEY_SECRET_SIZE);
}

/* Any group or other permission bit refuses the file with ERR_INVAL; owner-only modes load. */
Test(keys, loose_modes_are_refused)
{
    static const mode_t refused[] = {0644, 0640, 0604, 0610, 0601, 0660, 0666};
    static const mode_t accepted[] = {0600, 0400, 0700};
    struct keys gen, got;
    const char *p = path_in("key");
    int sealed = -1;
    cr_assert_eq(keys_generate(p, NULL, 0, &gen), ERR_OK);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        cr_assert_eq(chmod(p, refused[i]), 0);
        cr_assert_eq(keys_load(p, NULL, 0, &got), ERR_INVAL, "mode %o", (unsigned)refused[i]);
        assert_wiped(&got);
        cr_assert_eq(keys_is_sealed(p, &sealed), ERR_INVAL);
    }
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        cr_assert_eq(chmod(p, accepted[i]), 0);
        cr_assert_eq(keys_load(p, NULL, 0, &got), ERR_OK, "mode %o", (unsigned)accepted[i]);
    }
}

/* Every truncation of a plain and of a sealed file, and any extra byte, is ERR_CORRUPT. The
 * sealed ones fail on size, before Argon2id runs, so a passphrase does not change the code. */
Test(keys, truncated_and_extended_files_are_corrupt)
{
    struct keys gen, got;
    uint8_t plain[KEYS_FILE_SIZE_MAX + 1], sealed[KEYS_FILE_SIZE_MAX + 1];
    uint8_t big[4096];
    const char *p = path_in("key");
    cr_assert_eq(keys_generate(p, NULL, 0, &gen), ERR_OK);
    cr_assert_eq(read_file(p, plain, sizeof plain), KEYS_FILE_PLAIN_SIZE);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(keys_generate(p, "pw", 2, &gen), ERR_OK);
    cr_assert_eq(read_file(p, sealed, sizeof sealed), KEYS_FILE_SEALED_SIZE);

    const char *t = path_in("truncated");
    for (size_t len = 0; len < KEYS_FILE_PLAIN_SIZE; len++) {
        write_file(t, plain, len, 0600);
        cr_assert_eq(keys_load(t, NULL, 0, &got), ERR_CORRUPT, "plain length %zu", len);
    }
    for (size_t len = 0; len < KEYS_FILE_SEALED_SIZE; len++) {
        write_file(t, sealed, len, 0600);
        cr_assert_eq(keys_load(t, "pw", 2, &got), ERR_CORRUPT, "sealed length %zu", len);
        cr_assert_eq(keys_load(t, NULL, 0, &got), ERR_CORRUPT, "sealed length %zu", len);
    }
    plain[KEYS_FILE_PLAIN_SIZE] = 0;
    write_file(t, plain, KEYS_FILE_PLAIN_SIZE + 1, 0600);
    cr_assert_eq(keys_load(t, NULL, 0, &got), ERR_CORRUPT);
    sealed[KEYS_FILE_SEALED_SIZE] = 0;
    write_file(t, sealed, KEYS_FILE_SEALED_SIZE + 1, 0600);
    cr_assert_eq(keys_load(t, "pw", 2, &got), ERR_CORRUPT);
    memset(big, 0, sizeof big);
    memcpy(big, sealed, KEYS_FILE_SEALED_SIZE);
    write_file(t, big, sizeof big, 0600);
    cr_assert_eq(keys_load(t, "pw", 2, &got), ERR_CORRUPT);
    assert_wiped(&got);
}

/* One flipped bit in the salt, the nonce, the tag or the ciphertext is ERR_AUTH. */
Test(keys, flipped_sealed_byte_is_auth)
{
    static const size_t offsets[] = {T_OFF_SALT, T_OFF_NONCE + 23u, T_OFF_BOX,
                                     KEYS_FILE_SEALED_SIZE - 1u};
    struct keys gen, got;
    uint8_t file[KEYS_FILE_SEALED_SIZE];
    const char *p = path_in("key");
    cr_assert_eq(keys_generate(p, "pw", 2, &gen), ERR_OK);
    cr_assert_eq(read_file(p, file, sizeof file), KEYS_FILE_SEALED_SIZE);
    const char *t = path_in("flipped");
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        file[offsets[i]] ^= 0x01;
        write_file(t, file, sizeof file, 0600);
        cr_assert_eq(keys_load(t, "pw", 2, &got), ERR_AUTH, "offset %zu", offsets[i]);
        assert_wiped(&got);
        file[offsets[i]] ^= 0x01;
    }
    write_file(t, file, sizeof file, 0600);
    cr_assert_eq(keys_load(t, "pw", 2, &got), ERR_OK);
}

/* A wrong magic, an unknown kdf, or a known kdf at the other kdf's size is ERR_CORRUPT. */
Test(keys, bad_header_is_corrupt)
{
    struct keys gen, got;
    uint8_t plain[KEYS_FILE_PLAIN_SIZE], sealed[KEYS_FILE_SEALED_SIZE];
    const char *p = path_in("key");
    cr_assert_eq(keys_generate(p, NULL, 0, &gen), ERR_OK);
    cr_assert_eq(read_file(p, plain, sizeof plain), KEYS_FILE_PLAIN_SIZE);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(keys_generate(p, "pw", 2, &gen), ERR_OK);
    cr_assert_eq(read_file(p, sealed, sizeof sealed), KEYS_FILE_SEALED_SIZE);

    plain[0] = 'X';
    cr_assert_eq(keys_decode(plain, sizeof plain, NULL, 0, &got), ERR_CORRUPT);
    plain[0] = 'C';
    plain[7] = '2';
    cr_assert_eq(keys_decode(plain, sizeof plain, NULL, 0, &got), ERR_CORRUPT);
    plain[7] = '1';
    cr_assert_eq(keys_decode(plain, sizeof plain, NULL, 0, &got), ERR_OK);
    plain[T_OFF_KDF] = 2;
    cr_assert_eq(keys_decode(plain, sizeof plain, NULL, 0, &got), ERR_CORRUPT);
    plain[T_OFF_KDF] = 1; /* sealed kdf at the plain size */
    cr_assert_eq(keys_decode(plain, sizeof plain, "pw", 2, &got), ERR_CORRUPT);

    sealed[3] ^= 0x20;
    cr_assert_eq(keys_decode(sealed, sizeof sealed, "pw", 2, &got), ERR_CORRUPT);
    sealed[3] ^= 0x20;
    sealed[T_OFF_KDF] = 0; /* plain kdf at the sealed size */
    cr_assert_eq(keys_decode(sealed, sizeof sealed, "pw", 2, &got), ERR_CORRUPT);
    sealed[T_OFF_KDF] = 0xff;
    cr_assert_eq(keys_decode(sealed, sizeof sealed, "pw", 2, &got), ERR_CORRUPT);
    assert_wiped(&got);

    /* The same through keys_load and keys_is_sealed, from a file. */
    int is_sealed = -1;
    write_file(path_in("bad"), sealed, sizeof sealed, 0600);
    cr_assert_eq(keys_load(path_in("bad"), "pw", 2, &got), ERR_CORRUPT);
    cr_assert_eq(keys_is_sealed(path_in("bad"), &is_sealed), ERR_CORRUPT);
}

/* Stored Argon2id limits below libsodium's minimums or above MODERATE are ERR_CORRUPT before any
 * memory is allocated, with or without a passphrase. */
Test(keys, hostile_limits_are_corrupt)
{
    struct keys gen, got;
    uint8_t file[KEYS_FILE_SEALED_SIZE], bad[KEYS_FILE_SEALED_SIZE];
    const uint64_t ops_ok = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    const uint64_t mem_ok = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    const struct {
        uint64_t ops, mem;
    } cases[] = {
        {0, mem_ok},
        {crypto_pwhash_argon2id_OPSLIMIT_MODERATE + 1u, mem_ok},
        {UINT32_MAX, mem_ok},
        {UINT64_MAX, mem_ok},
        {ops_ok, 0},
        {ops_ok, crypto_pwhash_argon2id_MEMLIMIT_MIN - 1u},
        {ops_ok, (uint64_t)crypto_pwhash_argon2id_MEMLIMIT_MODERATE + 1u},
        {ops_ok, 1ull << 40},
        {ops_ok, UINT64_MAX},
    };
    cr_assert_eq(keys_generate(path_in("key"), "pw", 2, &gen), ERR_OK);
    cr_assert_eq(read_file(path_in("key"), file, sizeof file), KEYS_FILE_SEALED_SIZE);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, file, sizeof bad);
        put_u64_be(bad + T_OFF_OPSLIMIT, cases[i].ops);
        put_u64_be(bad + T_OFF_MEMLIMIT, cases[i].mem);
        cr_assert_eq(keys_decode(bad, sizeof bad, "pw", 2, &got), ERR_CORRUPT, "case %zu", i);
        cr_assert_eq(keys_decode(bad, sizeof bad, NULL, 0, &got), ERR_CORRUPT, "case %zu", i);
        assert_wiped(&got);
    }
}

/* The accepted range is inclusive at both ends: a file sealed at libsodium's minimum limits and
 * one at MODERATE load, as written by an independent encoder. */
Test(keys, limits_at_bounds_are_accepted)
{
    uint8_t seed[KEY_SEED_SIZE], pk[KEY_PUBLIC_SIZE], sk[KEY_SECRET_SIZE];
    uint8_t file[KEYS_FILE_SEALED_SIZE];
    struct keys got;
    randombytes_buf(seed, sizeof seed);
    cr_assert_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);

    seal_with_limits(seed, "pw", crypto_pwhash_argon2id_OPSLIMIT_MIN,
                     crypto_pwhash_argon2id_MEMLIMIT_MIN, file);
    cr_assert_eq(keys_decode(file, sizeof file, "pw", 2, &got), ERR_OK);
    cr_assert_arr_eq(got.pk, pk, KEY_PUBLIC_SIZE);
    cr_assert_arr_eq(got.sk, sk, KEY_SECRET_SIZE);

    seal_with_limits(seed, "pw", crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
                     crypto_pwhash_argon2id_MEMLIMIT_MODERATE, file);
    cr_assert_eq(keys_decode(file, sizeof file, "pw", 2, &got), ERR_OK);
    cr_assert_arr_eq(got.sk, sk, KEY_SECRET_SIZE);
}

/* Generating over an existing file fails with ERR_IO and leaves that file as it was. */
Test(keys, generate_never_overwrites)
{
    static const char sentinel[] = "not a key, but somebody's file";
    uint8_t after[64];
    struct keys got;
    struct stat st;
    const char *p = path_in("key");
    write_file(p, sentinel, sizeof sentinel, 0640);
    memset(&got, 0xa5, sizeof got);
    cr_assert_eq(keys_generate(p, NULL, 0, &got), ERR_IO);
    assert_wiped(&got);
    cr_assert_eq(keys_generate(p, "pw", 2, &got), ERR_IO);
    cr_assert_eq(read_file(p, after, sizeof after), sizeof sentinel);
    cr_assert_arr_eq(after, sentinel, sizeof sentinel);
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0640);

    /* A dangling symlink counts as existing: O_EXCL does not follow it. */
    const char *l = path_in("link");
    cr_assert_eq(symlink(path_in("target"), l), 0);
    cr_assert_eq(keys_generate(l, NULL, 0, &got), ERR_IO);
    cr_assert_eq(access(path_in("target"), F_OK), -1);
}

/* The file is 0600 whatever the umask, including one that would strip the owner's bits. */
Test(keys, mode_is_0600_under_any_umask)
{
    static const mode_t masks[] = {0, 022, 077, 0377};
    struct keys got;
    struct stat st;
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "key%zu", i);
        umask(masks[i]);
        cr_assert_eq(keys_generate(path_in(name), NULL, 0, &got), ERR_OK);
        cr_assert_eq(stat(path_in(name), &st), 0);
        cr_assert_eq(st.st_mode & 0777, 0600, "umask %o", (unsigned)masks[i]);
    }
}

/* A write that fails half-way leaves no file behind (RLIMIT_FSIZE cuts the write short). */
Test(keys, failed_write_removes_partial_file)
{
    struct keys got;
    struct rlimit rl;
    signal(SIGXFSZ, SIG_IGN); /* so the cut-short write fails with EFBIG instead of a signal */
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = 20;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    const char *p = path_in("key");
    memset(&got, 0xa5, sizeof got);
    cr_assert_eq(keys_generate(p, NULL, 0, &got), ERR_IO);
    assert_wiped(&got);
    int r = access(p, F_OK);
    int e = errno;
    cr_assert_eq(r, -1);
    cr_assert_eq(e, ENOENT);
}

/* Refused arguments and missing paths: an empty passphrase seals nothing and is ERR_INVAL; a
 * missing directory or file is ERR_NOTFOUND; a directory or FIFO is not a key file. */
Test(keys, refused_arguments_and_paths)
{
    struct keys got;
    int sealed = -1;
    cr_assert_eq(keys_generate(path_in("key"), "", 0, &got), ERR_INVAL);
    cr_assert_eq(access(path_in("key"), F_OK), -1);
    cr_assert_eq(keys_generate(path_in("no/such/dir/key"), NULL, 0, &got), ERR_NOTFOUND);
    assert_wiped(&got);
    cr_assert_eq(keys_load(path_in("absent"), NULL, 0, &got), ERR_NOTFOUND);
    cr_assert_eq(keys_is_sealed(path_in("absent"), &sealed), ERR_NOTFOUND);

    cr_assert_eq(mkdir(path_in("dir"), 0700), 0);
    cr_assert_eq(keys_load(path_in("dir"), NULL, 0, &got), ERR_INVAL);
    cr_assert_eq(mkfifo(path_in("fifo"), 0600), 0);
    cr_assert_eq(keys_load(path_in("fifo"), NULL, 0, &got), ERR_INVAL); /* and did not block */
    assert_wiped(&got);

    char long_pass[PASSPHRASE_SIZE_MAX + 1];
    memset(long_pass, 'p', sizeof long_pass);
    cr_assert_eq(keys_generate(path_in("key"), long_pass, sizeof long_pass, &got), ERR_MSGSIZE);
    cr_assert_eq(access(path_in("key"), F_OK), -1);
}

/* keys_encode of a plain key is deterministic and matches the file keys_generate wrote. */
Test(keys, encode_matches_file)
{
    struct keys gen;
    uint8_t file[KEYS_FILE_SIZE_MAX + 1], buf[KEYS_FILE_SIZE_MAX];
    size_t len = 0;
    cr_assert_eq(keys_generate(path_in("key"), NULL, 0, &gen), ERR_OK);
    cr_assert_eq(read_file(path_in("key"), file, sizeof file), KEYS_FILE_PLAIN_SIZE);
    cr_assert_eq(keys_encode(&gen, NULL, 0, buf, &len), ERR_OK);
    cr_assert_eq(len, KEYS_FILE_PLAIN_SIZE);
    cr_assert_arr_eq(buf, file, len);
    cr_assert_arr_eq(buf, KEYS_MAGIC, 8);
    cr_assert_eq(buf[T_OFF_KDF], 0);
    cr_assert_arr_eq(buf + 9, gen.sk, KEY_SEED_SIZE);
    keys_wipe(&gen);
    assert_wiped(&gen);
    keys_wipe(NULL);
}

/* Passphrase files: empty is ERR_INVAL, PASSPHRASE_SIZE_MAX bytes load, one more is
 * ERR_MSGSIZE, and exactly one trailing LF or CRLF is stripped (not counted in the limit). */
Test(keys, passphrase_file_limits)
{
    char pass[PASSPHRASE_SIZE_MAX];
    char raw[PASSPHRASE_SIZE_MAX + 8];
    size_t len = 99;
    const char *p = path_in("pass");

    write_file(p, "", 0, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_INVAL);
    cr_assert_eq(len, 0);
    write_file(p, "\n", 1, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_INVAL);
    write_file(p, "\r\n", 2, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_INVAL);

    memset(raw, 'x', sizeof raw);
    write_file(p, raw, PASSPHRASE_SIZE_MAX, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_OK);
    cr_assert_eq(len, PASSPHRASE_SIZE_MAX);
    cr_assert_arr_eq(pass, raw, PASSPHRASE_SIZE_MAX);
    write_file(p, raw, PASSPHRASE_SIZE_MAX + 1, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_MSGSIZE);
    cr_assert_eq(len, 0);
    write_file(p, raw, sizeof raw, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_MSGSIZE);

    raw[PASSPHRASE_SIZE_MAX] = '\n';
    write_file(p, raw, PASSPHRASE_SIZE_MAX + 1, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_OK);
    cr_assert_eq(len, PASSPHRASE_SIZE_MAX);
    raw[PASSPHRASE_SIZE_MAX] = '\r';
    raw[PASSPHRASE_SIZE_MAX + 1] = '\n';
    write_file(p, raw, PASSPHRASE_SIZE_MAX + 2, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_OK);
    cr_assert_eq(len, PASSPHRASE_SIZE_MAX);
    raw[PASSPHRASE_SIZE_MAX] = 'x';
    write_file(p, raw, PASSPHRASE_SIZE_MAX + 2, 0600); /* limit + 1, then LF */
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_MSGSIZE);

    write_file(p, "abc\n", 4, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_OK);
    cr_assert_eq(len, 3);
    cr_assert_arr_eq(pass, "abc", 3);
    write_file(p, "abc\r\n", 5, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_OK);
    cr_assert_eq(len, 3);
    write_file(p, "abc\n\n", 5, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_OK);
    cr_assert_eq(len, 4);
    cr_assert_arr_eq(pass, "abc\n", 4);
    write_file(p, "abc\r", 4, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_OK);
    cr_assert_eq(len, 4);
    write_file(p, " a b ", 5, 0600);
    cr_assert_eq(keys_read_passphrase(p, pass, &len), ERR_OK);
    cr_assert_eq(len, 5);

    cr_assert_eq(keys_read_passphrase(path_in("absent"), pass, &len), ERR_NOTFOUND);
}

/* A passphrase read from a file opens the key sealed with the same bytes. */
Test(keys, passphrase_file_opens_sealed_key)
{
    char pass[PASSPHRASE_SIZE_MAX];
    size_t len = 0;
    struct keys gen, got;
    write_file(path_in("pass"), "hunter2\n", 8, 0600);
    cr_assert_eq(keys_read_passphrase(path_in("pass"), pass, &len), ERR_OK);
    cr_assert_eq(keys_generate(path_in("key"), "hunter2", 7, &gen), ERR_OK);
    cr_assert_eq(keys_load(path_in("key"), pass, len, &got), ERR_OK);
    cr_assert_arr_eq(got.sk, gen.sk, KEY_SECRET_SIZE);
}
