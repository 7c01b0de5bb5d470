/*
 * C2SP signed notes (c2sp.org/signed-note) carrying tlog-checkpoint bodies, signed with Ed25519:
 * the form in which every device publishes the head of its log (DESIGN.md section 3), so that
 * any C2SP or golang.org/x/mod/sumdb/note verifier accepts our checkpoints and we accept theirs.
 * The parser is strict and bounded: it reads at most NOTE_SIZE_MAX bytes in one forward pass,
 * allocates nothing, and refuses anything the specifications do not allow. libsodium must have
 * been initialised (sodium_init) by the program before any call.
 */
#include "note.h"

#include <sodium.h>
#include <string.h>

/* A signature line opens with U+2014 EM DASH, encoded E2 80 94 in UTF-8, and one space. */
static const uint8_t note_sig_prefix[] = {0xe2, 0x80, 0x94, ' '};
#define NOTE_SIG_PREFIX_SIZE sizeof note_sig_prefix

#define NOTE_SIG_TYPE_ED25519 0x01u /* signed-note signature type byte for Ed25519 */

/* tlog-checkpoint allows opaque extension lines after the root; we accept and ignore them.
 * C2SP sets no bound, so we set one: cdht writes none, and a peer that sends more than this is
 * not speaking to us. It belongs in limits.h beside NOTE_SIGNATURES_MAX. */
#define NOTE_EXTENSION_LINES_MAX 16u

/* Decimal digits of UINT64_MAX (18446744073709551615). */
#define NOTE_SIZE_DIGITS_MAX 20u
/* Unpadded lengths of the standard base64 of 32, 33 and 4 + 64 bytes. */
#define NOTE_ROOT_B64_LEN 44u
#define NOTE_KEY_B64_LEN 44u
#define NOTE_SIG_B64_LEN 92u
#define NOTE_KEY_ID_HEX_LEN (2u * NOTE_KEY_ID_SIZE)

static_assert(NOTE_ROOT_B64_LEN + 1 ==
                  sodium_base64_ENCODED_LEN(HASH_SIZE, sodium_base64_VARIANT_ORIGINAL),
              "root line length");
static_assert(NOTE_KEY_B64_LEN + 1 ==
                  sodium_base64_ENCODED_LEN(1 + KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL),
              "verifier key length");
static_assert(NOTE_SIG_B64_LEN + 1 == sodium_base64_ENCODED_LEN(NOTE_KEY_ID_SIZE + SIG_SIZE,
                                                                sodium_base64_VARIANT_ORIGINAL),
              "signature length");
static_assert(NOTE_VERIFIER_KEY_SIZE_MAX >=
                  NOTE_ORIGIN_SIZE_MAX + 1 + NOTE_KEY_ID_HEX_LEN + 1 + NOTE_KEY_B64_LEN + 1,
              "the longest verifier key and its NUL fit");
/* The longest note we sign: origin, size, root, blank line, one signature line with a name as
 * long as an origin. It must fit the limit our own parser enforces. */
static_assert(NOTE_ORIGIN_SIZE_MAX + 1 + NOTE_SIZE_DIGITS_MAX + 1 + NOTE_ROOT_B64_LEN + 1 + 1 +
                      NOTE_SIG_PREFIX_SIZE + NOTE_ORIGIN_SIZE_MAX + 1 + NOTE_SIG_B64_LEN + 1 <=
                  NOTE_SIZE_MAX,
              "a note we sign is one we accept");

/* One signature line as the parser found it: offsets into the caller's note. */
struct note_sigline {
    size_t name_off;
    size_t name_len;
    uint8_t key_id[NOTE_KEY_ID_SIZE];
    size_t sig_len;        /* bytes after the key id; an Ed25519 signature has SIG_SIZE */
    uint8_t sig[SIG_SIZE]; /* valid only when sig_len == SIG_SIZE */
};

struct note_parsed {
    struct checkpoint cp;
    size_t text_len;  /* the signed text is note[0, text_len), final newline included */
    size_t sig_count; /* <= NOTE_SIGNATURES_MAX */
    struct note_sigline sig[NOTE_SIGNATURES_MAX];
};

/*
 * Decodes one UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), the same set Go's utf8.DecodeRune accepts. Returns its length, or 0 when invalid.
 */
static size_t
note_utf8_rune(const uint8_t *p, size_t avail, uint32_t *rune)
{
    ASSERT(avail > 0);
    uint8_t b0 = p[0];
    size_t n;
    uint8_t lo = 0x80;
    uint8_t hi = 0xbf;
    if (b0 < 0x80) {
        *rune = b0;
        return 1;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
        *rune = b0 & 0x1fu;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        *rune = b0 & 0x0fu;
        lo = b0 == 0xe0 ? 0xa0 : 0x80; /* overlong */
        hi = b0 == 0xed ? 0x9f : 0xbf; /* UTF-16 surrogates */
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        *rune = b0 & 0x07u;
        lo = b0 == 0xf0 ? 0x90 : 0x80; /* overlong */
        hi = b0 == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (i > 1 && (p[i] < 0x80 || p[i] > 0xbf)) {
            return 0;
        }
        *rune = (*rune << 6) | (p[i] & 0x3fu);
    }
    return n;
}

/* Go's unicode.IsSpace, which golang.org/x/mod/sumdb/note applies to key names. */
static int
note_is_space(uint32_t r)
{
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000: return 1;
    default: return r >= 0x2000 && r <= 0x200a;
    }
}

/* signed-note: valid UTF-8 and no ASCII control character other than newline (when allowed).
 * Each iteration consumes at least one byte, so the loop is bounded by len. */
static int
note_text_ok(const uint8_t *p, size_t len, int newline_ok)
{
    size_t i = 0;
    while (i < len) {
        uint32_t r;
        size_t n = note_utf8_rune(p + i, len - i, &r);
        if (n == 0 || (r < 0x20 && !(newline_ok && r == '\n'))) {
            return 0;
        }
        i += n;
    }
    return 1;
}

/* signed-note key names: non-empty, no Unicode space, no '+'; and, as all of a note, UTF-8
 * without control characters. Length limits are the caller's, where the name is stored. */
static int
note_name_ok(const uint8_t *p, size_t len)
{
    size_t i = 0;
    if (len == 0 || !note_text_ok(p, len, 0)) {
        return 0;
    }
    while (i < len) { /* bounded by len, as in note_text_ok */
        uint32_t r;
        size_t n = note_utf8_rune(p + i, len - i, &r);
        ASSERT(n > 0); /* note_text_ok accepted it */
        if (r == '+' || note_is_space(r)) {
            return 0;
        }
        i += n;
    }
    return 1;
}

/* tlog-checkpoint origin: non-empty, one line; we also bound it to fit struct checkpoint. */
static err_code
note_origin_check(const uint8_t *p, size_t len)
{
    if (len > NOTE_ORIGIN_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    if (len == 0 || !note_text_ok(p, len, 0)) {
        return ERR_CORRUPT;
    }
    return ERR_OK;
}

/* Finds the next line in p[*pos, end): sets *line_off and *line_len (newline excluded) and
 * moves *pos past the newline. Returns 0 when no newline is left. */
static int
note_next_line(const uint8_t *p, size_t end, size_t *pos, size_t *line_off, size_t *line_len)
{
    ASSERT(*pos <= end);
    const uint8_t *nl = memchr(p + *pos, '\n', end - *pos);
    if (nl == NULL) {
        return 0;
    }
    *line_off = *pos;
    *line_len = (size_t)(nl - (p + *pos));
    *pos += *line_len + 1;
    ASSERT(*pos <= end);
    return 1;
}

/* tlog-checkpoint tree size: ASCII decimal, no leading zero unless it is "0", fits 64 bits. */
static int
note_parse_size(const uint8_t *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > NOTE_SIZE_DIGITS_MAX || (len > 1 && p[0] == '0')) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return 0;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* Strict standard base64 (RFC 4648 section 4, padded, canonical trailing bits, nothing
 * ignored, all of p consumed) into at most out_cap bytes. libsodium's -1 becomes 0 here.
 * The alphabet is checked first because libsodium 1.0.18 decodes every byte from 0x80 to 0xff
 * as '/': a note may hold them (as valid UTF-8), and "\xc3\xbf" would then be a second
 * spelling of "//" in a root or, worse, in a signature line no signature covers. */
static int
note_b64_decode(const uint8_t *p, size_t len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    *out_len = 0;
    if (len == 0) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=')) {
            return 0;
        }
    }
    return sodium_base642bin(out, out_cap, (const char *)p, len, NULL, out_len, NULL,
                             sodium_base64_VARIANT_ORIGINAL) == 0;
}

/* Parses one signature line (prefix, name, space, base64 of key id and signature). */
static err_code
note_parse_sigline(const uint8_t *note, size_t off, size_t len, struct note_sigline *out)
{
    /* Foreign signatures may be longer than Ed25519's; the note limit bounds them all. */
    uint8_t raw[NOTE_SIZE_MAX];
    size_t raw_len;
    const uint8_t *line = note + off;
    if (len < NOTE_SIG_PREFIX_SIZE || memcmp(line, note_sig_prefix, NOTE_SIG_PREFIX_SIZE) != 0) {
        return ERR_CORRUPT_HERE;
    }
    const uint8_t *name = line + NOTE_SIG_PREFIX_SIZE;
    size_t rest = len - NOTE_SIG_PREFIX_SIZE;
    const uint8_t *space = memchr(name, ' ', rest);
    if (space == NULL) {
        return ERR_CORRUPT_HERE;
    }
    size_t name_len = (size_t)(space - name);
    const uint8_t *b64 = space + 1;
    size_t b64_len = rest - name_len - 1;
    if (!note_name_ok(name, name_len)) {
        return ERR_CORRUPT_HERE;
    }
    /* signed-note: 4 bytes of key id and at least one byte of signature (Go requires 5). */
    if (!note_b64_decode(b64, b64_len, raw, sizeof raw, &raw_len) ||
        raw_len < NOTE_KEY_ID_SIZE + 1) {
        return ERR_CORRUPT_HERE;
    }
    out->name_off = off + NOTE_SIG_PREFIX_SIZE;
    out->name_len = name_len;
    memcpy(out->key_id, raw, NOTE_KEY_ID_SIZE);
    out->sig_len = raw_len - NOTE_KEY_ID_SIZE;
    if (out->sig_len == SIG_SIZE) {
        memcpy(out->sig, raw + NOTE_KEY_ID_SIZE, SIG_SIZE);
    }
    return ERR_OK;
}

/* Parses the checkpoint text note[0, text_len): origin, size, root, extension lines. */
static err_code
note_parse_text(const uint8_t *note, size_t text_len, struct checkpoint *cp)
{
    err_code rc;
    size_t pos = 0;
    size_t off;
    size_t n;
    size_t root_len;
    if (!note_next_line(note, text_len, &pos, &off, &n)) {
        return ERR_CORRUPT_HERE;
    }
    if ((rc = note_origin_check(note + off, n)) != ERR_OK) {
        return rc == ERR_CORRUPT ? ERR_CORRUPT_HERE : rc;
    }
    memcpy(cp->origin, note + off, n);
    cp->origin[n] = '\0';
    if (!note_next_line(note, text_len, &pos, &off, &n) ||
        !note_parse_size(note + off, n, &cp->size)) {
        return ERR_CORRUPT_HERE;
    }
    if (!note_next_line(note, text_len, &pos, &off, &n) || n != NOTE_ROOT_B64_LEN ||
        !note_b64_decode(note + off, n, cp->root, sizeof cp->root, &root_len) ||
        root_len != HASH_SIZE) {
        return ERR_CORRUPT_HERE;
    }
    /* Extension lines: opaque, but each MUST be non-empty (tlog-checkpoint). */
    for (unsigned i = 0; pos < text_len; i++) {
        if (i == NOTE_EXTENSION_LINES_MAX) {
            return ERR_MSGSIZE;
        }
        if (!note_next_line(note, text_len, &pos, &off, &n) || n == 0) {
            return ERR_CORRUPT_HERE;
        }
    }
    ASSERT(pos == text_len);
    return ERR_OK;
}

/*
 * The whole grammar of a checkpoint note, checking no signature. ERR_MSGSIZE when a limit is
 * exceeded (NOTE_SIZE_MAX, NOTE_ORIGIN_SIZE_MAX, NOTE_SIGNATURES_MAX, NOTE_EXTENSION_LINES_MAX),
 * ERR_CORRUPT for anything else that is not a well-formed note.
 */
static err_code
note_parse(const uint8_t *note, size_t len, struct note_parsed *out)
{
    err_code rc;
    size_t split = 0;
    int found = 0;
    memset(out, 0, sizeof *out);
    if (len > NOTE_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    if (note == NULL || len < 2 || !note_text_ok(note, len, 1)) {
        return ERR_CORRUPT_HERE;
    }
    /* signed-note: the text ends at the last blank line; signature lines are never empty, so
     * no later "\n\n" can exist in a well-formed note. */
    for (size_t i = len - 1; i > 0; i--) {
        if (note[i] == '\n' && note[i - 1] == '\n') {
            split = i - 1;
            found = 1;
            break;
        }
    }
    if (!found || split + 2 >= len || note[len - 1] != '\n') {
        return ERR_CORRUPT_HERE; /* no blank line, no signature, or no final newline */
    }
    out->text_len = split + 1;
    if ((rc = note_parse_text(note, out->text_len, &out->cp)) != ERR_OK) {
        return rc;
    }
    size_t pos = split + 2;
    size_t off;
    size_t n;
    /* Each line consumes at least one byte, so this loop is bounded by len. */
    while (pos < len) {
        if (out->sig_count == NOTE_SIGNATURES_MAX) {
            return ERR_MSGSIZE;
        }
        if (!note_next_line(note, len, &pos, &off, &n)) {
            return ERR_CORRUPT_HERE;
        }
        if ((rc = note_parse_sigline(note, off, n, &out->sig[out->sig_count])) != ERR_OK) {
            return rc;
        }
        out->sig_count++;
    }
    ASSERT(out->sig_count >= 1);
    ASSERT(out->sig_count <= NOTE_SIGNATURES_MAX);
    return ERR_OK;
}

void
note_log_name(const uint8_t pk[KEY_PUBLIC_SIZE], char out[NOTE_LOG_NAME_SIZE + 1])
{
    const size_t prefix_len = sizeof NOTE_LOG_NAME_PREFIX - 1;
    ASSERT(pk != NULL);
    memcpy(out, NOTE_LOG_NAME_PREFIX, prefix_len);
    sodium_bin2hex(out + prefix_len, 2 * KEY_PUBLIC_SIZE + 1, pk, KEY_PUBLIC_SIZE);
    ASSERT(strlen(out) == NOTE_LOG_NAME_SIZE);
}

void
note_key_id(const char *name, const uint8_t pk[KEY_PUBLIC_SIZE], uint8_t out[NOTE_KEY_ID_SIZE])
{
    static const uint8_t sep[2] = {'\n', NOTE_SIG_TYPE_ED25519};
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    ASSERT(name != NULL);
    ASSERT(pk != NULL);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
    crypto_hash_sha256_update(&st, sep, sizeof sep);
    crypto_hash_sha256_update(&st, pk, KEY_PUBLIC_SIZE);
    crypto_hash_sha256_final(&st, h);
    memcpy(out, h, NOTE_KEY_ID_SIZE);
}

/* Checks a caller's key name; *len receives its length. The bound is the one struct
 * checkpoint and note_verifier_key_parse() give a name. */
static int
note_name_arg_ok(const char *name, size_t *len)
{
    if (name == NULL) {
        return 0;
    }
    *len = strnlen(name, NOTE_ORIGIN_SIZE_MAX + 1);
    return *len <= NOTE_ORIGIN_SIZE_MAX && note_name_ok((const uint8_t *)name, *len);
}

err_code
note_verifier_key(const char *name, const uint8_t pk[KEY_PUBLIC_SIZE], char *out, size_t out_cap)
{
    uint8_t id[NOTE_KEY_ID_SIZE];
    uint8_t typed[1 + KEY_PUBLIC_SIZE];
    size_t name_len;
    ASSERT(pk != NULL);
    ASSERT(out != NULL || out_cap == 0);
    if (!note_name_arg_ok(name, &name_len)) {
        return ERR_INVAL;
    }
    size_t need = name_len + 1 + NOTE_KEY_ID_HEX_LEN + 1 + NOTE_KEY_B64_LEN + 1;
    ASSERT(need <= NOTE_VERIFIER_KEY_SIZE_MAX);
    if (out_cap < need) {
        return ERR_MSGSIZE;
    }
    note_key_id(name, pk, id);
    typed[0] = NOTE_SIG_TYPE_ED25519;
    memcpy(typed + 1, pk, KEY_PUBLIC_SIZE);
    char *w = out;
    memcpy(w, name, name_len);
    w += name_len;
    *w++ = '+';
    sodium_bin2hex(w, NOTE_KEY_ID_HEX_LEN + 1, id, sizeof id);
    w += NOTE_KEY_ID_HEX_LEN;
    *w++ = '+';
    sodium_bin2base64(w, NOTE_KEY_B64_LEN + 1, typed, sizeof typed, sodium_base64_VARIANT_ORIGINAL);
    ASSERT(strlen(out) + 1 == need);
    return ERR_OK;
}

/* Lowercase hex only: we write "%08x" as Go does, and one spelling per key keeps it strict. */
static int
note_parse_hex_id(const char *p, uint8_t out[NOTE_KEY_ID_SIZE])
{
    for (size_t i = 0; i < NOTE_KEY_ID_HEX_LEN; i++) {
        char c = p[i];
        unsigned v;
        if (c >= '0' && c <= '9') {
            v = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v = (unsigned)(c - 'a' + 10);
        } else {
            return 0;
        }
        if (i % 2 == 0) {
            out[i / 2] = (uint8_t)(v << 4);
        } else {
            out[i / 2] |= (uint8_t)v;
        }
    }
    return 1;
}

err_code
note_verifier_key_parse(const char *vkey, char *name, uint8_t pk[KEY_PUBLIC_SIZE])
{
    uint8_t want_id[NOTE_KEY_ID_SIZE];
    uint8_t got_id[NOTE_KEY_ID_SIZE];
    uint8_t typed[1 + KEY_PUBLIC_SIZE];
    char name_buf[NOTE_ORIGIN_SIZE_MAX + 1];
    size_t typed_len;
    ASSERT(name != NULL);
    ASSERT(pk != NULL);
    if (vkey == NULL) {
        return ERR_INVAL;
    }
    size_t len = strnlen(vkey, NOTE_VERIFIER_KEY_SIZE_MAX);
    if (len == NOTE_VERIFIER_KEY_SIZE_MAX) {
        return ERR_INVAL; /* longer than any key we could have written */
    }
    const char *plus = memchr(vkey, '+', len);
    if (plus == NULL) {
        return ERR_INVAL;
    }
    size_t name_len = (size_t)(plus - vkey);
    if (name_len > NOTE_ORIGIN_SIZE_MAX || !note_name_ok((const uint8_t *)vkey, name_len)) {
        return ERR_INVAL;
    }
    const char *hex = plus + 1;
    size_t after = len - name_len - 1;
    if (after < NOTE_KEY_ID_HEX_LEN + 1 || hex[NOTE_KEY_ID_HEX_LEN] != '+' ||
        !note_parse_hex_id(hex, got_id)) {
        return ERR_INVAL;
    }
    const char *b64 = hex + NOTE_KEY_ID_HEX_LEN + 1;
    size_t b64_len = after - NOTE_KEY_ID_HEX_LEN - 1;
    if (!note_b64_decode((const uint8_t *)b64, b64_len, typed, sizeof typed, &typed_len) ||
        typed_len != sizeof typed || typed[0] != NOTE_SIG_TYPE_ED25519) {
        return ERR_INVAL;
    }
    memcpy(name_buf, vkey, name_len);
    name_buf[name_len] = '\0';
    note_key_id(name_buf, typed + 1, want_id);
    if (memcmp(want_id, got_id, NOTE_KEY_ID_SIZE) != 0) {
        return ERR_INVAL;
    }
    memcpy(name, name_buf, name_len + 1);
    memcpy(pk, typed + 1, KEY_PUBLIC_SIZE);
    return ERR_OK;
}

/* Writes the decimal form of v at out; returns its length (at most NOTE_SIZE_DIGITS_MAX). */
static size_t
note_format_u64(uint64_t v, uint8_t out[NOTE_SIZE_DIGITS_MAX])
{
    uint8_t rev[NOTE_SIZE_DIGITS_MAX];
    size_t n = 0;
    do {
        ASSERT(n < NOTE_SIZE_DIGITS_MAX);
        rev[n++] = (uint8_t)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = rev[n - 1 - i];
    }
    return n;
}

err_code
note_sign_checkpoint(const struct checkpoint *cp, const char *name,
                     const uint8_t sk[KEY_SECRET_SIZE], uint8_t *out, size_t out_cap,
                     size_t *out_len)
{
    uint8_t text[NOTE_SIZE_MAX];
    uint8_t raw[NOTE_KEY_ID_SIZE + SIG_SIZE];
    char sig_b64[NOTE_SIG_B64_LEN + 1];
    size_t name_len;
    size_t t = 0;
    ASSERT(cp != NULL);
    ASSERT(sk != NULL);
    ASSERT(out_len != NULL);
    ASSERT(out != NULL || out_cap == 0);
    *out_len = 0;
    size_t origin_len = strnlen(cp->origin, sizeof cp->origin);
    if (origin_len == sizeof cp->origin ||
        note_origin_check((const uint8_t *)cp->origin, origin_len) != ERR_OK) {
        return ERR_INVAL;
    }
    if (!note_name_arg_ok(name, &name_len)) {
        return ERR_INVAL;
    }
    /* The text: origin, size, root, each ending in a newline. The static_assert at the top
     * shows it and the signature line fit NOTE_SIZE_MAX. */
    memcpy(text, cp->origin, origin_len);
    t = origin_len;
    text[t++] = '\n';
    t += note_format_u64(cp->size, text + t);
    text[t++] = '\n';
    sodium_bin2base64((char *)text + t, NOTE_ROOT_B64_LEN + 1, cp->root, HASH_SIZE,
                      sodium_base64_VARIANT_ORIGINAL);
    t += NOTE_ROOT_B64_LEN;
    text[t++] = '\n';
    ASSERT(t <= sizeof text);

    /* libsodium's secret key is seed || public key; the key id names the public half. */
    note_key_id(name, sk + KEY_SEED_SIZE, raw);
    if (NEVER(crypto_sign_detached(raw + NOTE_KEY_ID_SIZE, NULL, text, t, sk) != 0)) {
        return ERR_INVAL; /* libsodium's Ed25519 signing has no failure path */
    }
    sodium_bin2base64(sig_b64, sizeof sig_b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);

    size_t total = t + 1 + NOTE_SIG_PREFIX_SIZE + name_len + 1 + NOTE_SIG_B64_LEN + 1;
    ASSERT(total <= NOTE_SIZE_MAX);
    if (total > out_cap) {
        return ERR_MSGSIZE;
    }
    uint8_t *w = out;
    memcpy(w, text, t);
    w += t;
    *w++ = '\n';
    memcpy(w, note_sig_prefix, NOTE_SIG_PREFIX_SIZE);
    w += NOTE_SIG_PREFIX_SIZE;
    memcpy(w, name, name_len);
    w += name_len;
    *w++ = ' ';
    memcpy(w, sig_b64, NOTE_SIG_B64_LEN);
    w += NOTE_SIG_B64_LEN;
    *w++ = '\n';
    ASSERT((size_t)(w - out) == total);
    *out_len = total;
    /* Pair the assertion across the boundary: we never emit a note our own parser refuses. */
    struct checkpoint again;
    ASSERT(note_parse_checkpoint(out, total, &again) == ERR_OK);
    ASSERT(again.size == cp->size);
    return ERR_OK;
}

err_code
note_parse_checkpoint(const uint8_t *note, size_t len, struct checkpoint *out)
{
    struct note_parsed p;
    ASSERT(out != NULL);
    err_code rc = note_parse(note, len, &p);
    if (rc != ERR_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    *out = p.cp;
    return ERR_OK;
}

/*
 * C2SP signed-note: lines whose (name, key id) is not our key are ignored; a line that is our
 * key must verify, or the whole note is refused (the spec's SHOULD, which we take; Go's
 * sumdb/note checks only the first such line, we check every one). At least one must verify.
 */
err_code
note_verify_checkpoint(const uint8_t *note, size_t len, const char *name,
                       const uint8_t pk[KEY_PUBLIC_SIZE], struct checkpoint *out)
{
    struct note_parsed p;
    uint8_t id[NOTE_KEY_ID_SIZE];
    size_t name_len;
    unsigned verified = 0;
    ASSERT(pk != NULL);
    ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    if (!note_name_arg_ok(name, &name_len)) {
        return ERR_INVAL;
    }
    err_code rc = note_parse(note, len, &p);
    if (rc != ERR_OK) {
        return rc;
    }
    note_key_id(name, pk, id);
    for (size_t i = 0; i < p.sig_count; i++) {
        const struct note_sigline *s = &p.sig[i];
        if (s->name_len != name_len || memcmp(note + s->name_off, name, name_len) != 0 ||
            memcmp(s->key_id, id, NOTE_KEY_ID_SIZE) != 0) {
            continue; /* another key's signature: a witness, or a key we do not hold */
        }
        if (s->sig_len != SIG_SIZE ||
            crypto_sign_verify_detached(s->sig, note, p.text_len, pk) != 0) {
            return ERR_AUTH;
        }
        verified++;
    }
    if (verified == 0) {
        return ERR_AUTH;
    }
    *out = p.cp;
    return ERR_OK;
}
