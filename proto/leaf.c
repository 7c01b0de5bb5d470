/*
 * Leaf codec and validation. protobuf-c allocates while it decodes, so the input size is
 * bounded before it is called; the structural limits (changes, cells, name and value sizes)
 * are checked after, before anything else looks at the commit.
 */
#include "leaf.h"

#include <stdlib.h>
#include <string.h>

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

err_code
leaf_validate(const Cdht__Commit *c)
{
    if (c->hlc == 0 || c->n_changes == 0 || c->n_changes > COMMIT_CHANGES_MAX) {
        return ERR_CORRUPT_HERE;
    }
    for (size_t i = 0; i < c->n_changes; i++) {
        const Cdht__Change *ch = c->changes[i];
        if (!leaf_ident_ok(ch->table) || ch->pk == NULL) {
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
            if (!leaf_ident_ok(cell->col)) {
                return ERR_CORRUPT_HERE;
            }
            if (cell->value_case == CDHT__CELL__VALUE_S &&
                (cell->s == NULL ||
                 strnlen(cell->s, VALUE_TEXT_SIZE_MAX + 1) > VALUE_TEXT_SIZE_MAX)) {
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
