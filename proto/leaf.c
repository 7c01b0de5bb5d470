/*
 * Leaf codec and validation. protobuf-c allocates while it decodes, so the input size is
 * bounded before it is called; the structural limits (changes, cells, name and value sizes)
 * are checked after, before anything else looks at the commit.
 */
#include "leaf.h"

#include <stdlib.h>
#include <string.h>

static int
leaf_ident_ok(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    size_t n = strnlen(s, NAME_IDENT_SIZE_MAX + 1);
    if (n == 0 || n > NAME_IDENT_SIZE_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return 0;
        }
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
            const Cdht__Value *v = cell->value;
            if (v == NULL) {
                continue;
            }
            if (v->v_case == CDHT__VALUE__V_S &&
                (v->s == NULL || strnlen(v->s, VALUE_TEXT_SIZE_MAX + 1) > VALUE_TEXT_SIZE_MAX)) {
                return ERR_CORRUPT_HERE;
            }
            if (v->v_case == CDHT__VALUE__V_B && v->b.len > VALUE_TEXT_SIZE_MAX) {
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
