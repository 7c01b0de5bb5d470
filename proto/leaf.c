/*
 * Leaf codec and validation. protobuf-c allocates while it decodes, so the input size is
 * bounded before it is called; the structural limits (changes, cells, name and value sizes)
 * are checked after, before anything else looks at the commit.
 */
#include "leaf.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Identifier characters: [a-z0-9_]. A table because this runs for every cell of every leaf. */
static const uint8_t leaf_ident_char[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['_'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static int
leaf_ident_ok(const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return 0;
    }
    size_t i = 0;
    while (s[i] != '\0') {
        if (i == NAME_IDENT_SIZE_MAX || !leaf_ident_char[(uint8_t)s[i]]) {
            return 0;
        }
        i++;
    }
    return 1;
}

/* Field number 0 does not exist in protobuf, but protobuf-c keeps it as an unknown field, and
 * would then write it back in a form it refuses to read (found by fuzzing). Other unknown
 * fields are kept: a newer writer's fields travel verbatim. */
static int
leaf_unknown_ok(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        if (m->unknown_fields[i].tag == 0) {
            return 0;
        }
    }
    return 1;
}

/* Text must be UTF-8 without C0 control characters: every replica, report and terminal reads
 * it, and a control character in a name is an escape sequence or a broken CSV line there. */
static int
leaf_utf8_ok(const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t left = strlen(s);
    for (size_t i = 0; i < left; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return 0;
        }
    }
    while (left > 0 && *p < 0x80) { /* ASCII needs no decoding */
        p++;
        left--;
    }
    while (left > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, (utf8proc_ssize_t)left, &cp);
        if (n <= 0) {
            return 0;
        }
        p += n;
        left -= (size_t)n;
    }
    return 1;
}

/* Bounded UTF-8 text (leaf_utf8_ok) of at most max bytes. */
static int
leaf_text_ok(const char *s, size_t max)
{
    return s != NULL && strnlen(s, max + 1) <= max && leaf_utf8_ok(s);
}

/* YYYY-MM-DD in shape (the calendar is checked where a date is used: domain.c). */
static int
leaf_date_ok(const char *s)
{
    static const char shape[] = "dddd-dd-dd";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != '-') {
            return 0;
        }
    }
    return s[sizeof shape - 1] == '\0';
}

err_code
leaf_validate(const Cdht__Commit *c)
{
    if (c->hlc == 0 || (c->hlc >> 16) > (uint64_t)HLC_MS_MAX ||
        c->n_changes + c->n_certs + c->n_revocations == 0 || c->n_changes > COMMIT_CHANGES_MAX ||
        c->n_certs > COMMIT_CERTS_MAX || c->n_revocations > COMMIT_CERTS_MAX ||
        !leaf_unknown_ok(&c->base)) {
        return ERR_CORRUPT_HERE;
    }
    for (size_t i = 0; i < c->n_certs; i++) {
        const Cdht__Cert *ce = c->certs[i];
        if (!leaf_unknown_ok(&ce->base) || ce->subject.len != KEY_PUBLIC_SIZE ||
            !leaf_ident_ok(ce->role) || !leaf_text_ok(ce->unit, UNIT_CODE_SIZE_MAX) ||
            ce->unit[0] == '\0' || (ce->expires != NULL && !leaf_date_ok(ce->expires)) ||
            (ce->name != NULL && !leaf_text_ok(ce->name, DEVICE_NAME_SIZE_MAX))) {
            return ERR_CORRUPT_HERE;
        }
    }
    for (size_t i = 0; i < c->n_revocations; i++) {
        const Cdht__Revocation *rv = c->revocations[i];
        if (!leaf_unknown_ok(&rv->base) || rv->subject.len != KEY_PUBLIC_SIZE ||
            (rv->reason != NULL && !leaf_text_ok(rv->reason, REVOKE_REASON_SIZE_MAX))) {
            return ERR_CORRUPT_HERE;
        }
    }
    for (size_t i = 0; i < c->n_changes; i++) {
        const Cdht__Change *ch = c->changes[i];
        if (!leaf_ident_ok(ch->table) || ch->pk == NULL || !leaf_unknown_ok(&ch->base) ||
            !leaf_utf8_ok(ch->pk)) {
            return ERR_CORRUPT_HERE;
        }
        size_t pk_len = strnlen(ch->pk, PK_SIZE_MAX + 1);
        if (pk_len == 0 || pk_len > PK_SIZE_MAX) {
            return ERR_CORRUPT_HERE;
        }
        if (ch->n_cells > CHANGE_CELLS_MAX || (ch->n_cells == 0 && !ch->has_exists)) {
            return ERR_CORRUPT_HERE;
        }
        for (size_t j = 0; j < ch->n_cells; j++) {
            const Cdht__Cell *cell = ch->cells[j];
            if (!leaf_ident_ok(cell->col) || !leaf_unknown_ok(&cell->base)) {
                return ERR_CORRUPT_HERE;
            }
            if (cell->value_case == CDHT__CELL__VALUE_S &&
                (cell->s == NULL ||
                 strnlen(cell->s, VALUE_TEXT_SIZE_MAX + 1) > VALUE_TEXT_SIZE_MAX ||
                 !leaf_utf8_ok(cell->s))) {
                return ERR_CORRUPT_HERE;
            }
            if (cell->value_case == CDHT__CELL__VALUE_B && cell->b.len > VALUE_TEXT_SIZE_MAX) {
                return ERR_CORRUPT_HERE;
            }
        }
    }
    return ERR_OK;
}

err_code
leaf_decode(const uint8_t *buf, size_t len, Cdht__Commit **out)
{
    *out = NULL;
    if (len == 0 || len > LEAF_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    Cdht__Commit *c = cdht__commit__unpack(NULL, len, buf);
    if (c == NULL) {
        return ERR_CORRUPT_HERE;
    }
    err_code rc = leaf_validate(c);
    if (rc != ERR_OK) {
        cdht__commit__free_unpacked(c, NULL);
        return rc;
    }
    *out = c;
    return ERR_OK;
}

void
leaf_free(Cdht__Commit *c)
{
    if (c != NULL) {
        cdht__commit__free_unpacked(c, NULL);
    }
}

/* Arena chunks start at LEAF_ARENA_CHUNK_MIN and double. The bound is on the bytes handed
 * out (LEAF_DECODED_SIZE_MAX), not on chunk capacity: a large request that does not fit the
 * rest of a chunk opens a new one and leaves that rest unused, so capacity may reach twice the
 * bound, and a leaf is refused only when what it really needs exceeds it. */
#define LEAF_ARENA_CHUNK_MIN (256u * 1024u)
#define LEAF_ARENA_CHUNKS_MAX 24u /* doubling from 256 KiB passes 2x the bound well before */

struct leaf_decoder {
    struct {
        uint8_t *mem; /* owned */
        size_t cap, used;
    } chunk[LEAF_ARENA_CHUNKS_MAX];
    unsigned n;    /* chunks allocated */
    unsigned cur;  /* chunk being filled */
    size_t handed; /* bytes handed out for the current leaf */
    ProtobufCAllocator alloc;
};

static void *
leaf_arena_alloc(void *data, size_t size)
{
    struct leaf_decoder *d = data;
    size = (size + 15u) & ~(size_t)15u;
    if (size > LEAF_DECODED_SIZE_MAX - d->handed) {
        return NULL; /* the leaf is refused: protobuf-c returns NULL */
    }
    for (;;) {
        if (d->cur < d->n && d->chunk[d->cur].cap - d->chunk[d->cur].used >= size) {
            void *p = d->chunk[d->cur].mem + d->chunk[d->cur].used;
            d->chunk[d->cur].used += size;
            d->handed += size;
            return p;
        }
        if (d->cur + 1 < d->n) {
            d->cur++; /* a later chunk kept from an earlier, larger leaf */
            continue;
        }
        size_t cap = d->n == 0 ? LEAF_ARENA_CHUNK_MIN : d->chunk[d->n - 1].cap * 2;
        if (cap > LEAF_DECODED_SIZE_MAX) {
            cap = LEAF_DECODED_SIZE_MAX;
        }
        if (cap < size) {
            cap = size;
        }
        if (d->n == LEAF_ARENA_CHUNKS_MAX) {
            return NULL;
        }
        uint8_t *mem = malloc(cap);
        if (mem == NULL) {
            return NULL;
        }
        d->chunk[d->n].mem = mem;
        d->chunk[d->n].cap = cap;
        d->chunk[d->n].used = 0;
        d->cur = d->n++;
    }
}

static void
leaf_arena_free(void *data, void *p)
{
    (void)data;
    (void)p; /* everything goes at the next reset */
}

err_code
leaf_decoder_new(struct leaf_decoder **out)
{
    struct leaf_decoder *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return ERR_NOMEM;
    }
    d->alloc.alloc = leaf_arena_alloc;
    d->alloc.free = leaf_arena_free;
    d->alloc.allocator_data = d;
    *out = d;
    return ERR_OK;
}

void
leaf_decoder_free(struct leaf_decoder *d)
{
    if (d == NULL) {
        return;
    }
    for (unsigned i = 0; i < d->n; i++) {
        free(d->chunk[i].mem);
    }
    free(d);
}

err_code
leaf_decoder_decode(struct leaf_decoder *d, const uint8_t *buf, size_t len, Cdht__Commit **out)
{
    *out = NULL;
    if (len == 0 || len > LEAF_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    for (unsigned i = 0; i < d->n; i++) {
        d->chunk[i].used = 0;
    }
    d->cur = 0;
    d->handed = 0;
    Cdht__Commit *c = cdht__commit__unpack(&d->alloc, len, buf);
    if (c == NULL) {
        /* Undecodable, or it needed more than LEAF_DECODED_SIZE_MAX: either way refused. */
        return ERR_CORRUPT_HERE;
    }
    err_code rc = leaf_validate(c);
    if (rc != ERR_OK) {
        return rc;
    }
    *out = c;
    return ERR_OK;
}

err_code
leaf_encode(const Cdht__Commit *c, uint8_t **out, size_t *len)
{
    *out = NULL;
    size_t n = cdht__commit__get_packed_size(c);
    if (n == 0 || n > LEAF_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    uint8_t *buf = malloc(n);
    if (buf == NULL) {
        return ERR_NOMEM;
    }
    size_t m = cdht__commit__pack(c, buf);
    ASSERT(m == n);
    *out = buf;
    *len = n;
    return ERR_OK;
}

int
leaf_table_is_trust(const char *table)
{
    return strcmp(table, "unit") == 0 || strcmp(table, "unit_succession") == 0;
}

int
leaf_kind(const Cdht__Commit *c)
{
    int trust = c->n_certs > 0 || c->n_revocations > 0, data = 0;
    for (size_t i = 0; i < c->n_changes; i++) {
        if (leaf_table_is_trust(c->changes[i]->table)) {
            trust = 1;
        } else {
            data = 1;
        }
    }
    return trust && data ? LEAF_KIND_MIXED : trust ? LEAF_KIND_TRUST : LEAF_KIND_DATA;
}

unsigned
leaf_role_parse(const char *s)
{
    /* An explicit bit per name, not the position: bit 4 is the pinned root's (node/trust.h),
     * which no certificate may grant, so reporter (schema 5) takes bit 5. */
    static const struct {
        const char *name;
        unsigned bit;
    } roles[] = {
        {"writer", 1u << 0}, {"approver", 1u << 1}, {"hub", 1u << 2},
        {"auditor", 1u << 3}, {"reporter", 1u << 5},
    };
    for (unsigned i = 0; s != NULL && i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(s, roles[i].name) == 0) {
            return roles[i].bit;
        }
    }
    return 0;
}

enum leaf_text
leaf_text_check(const char *s, size_t max)
{
    if (s == NULL || s[0] == '\0') {
        return LEAF_TEXT_BAD;
    }
    if (strnlen(s, max + 1) > max) {
        return LEAF_TEXT_LONG;
    }
    return leaf_utf8_ok(s) ? LEAF_TEXT_OK : LEAF_TEXT_BAD;
}
