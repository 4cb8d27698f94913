/* soupbintcp.c - SoupBinTCP framing and OUCH message fields (see soupbintcp.h). */
#include "soupbintcp.h"

#include <string.h>

#include "../decode/cursor.h"

enum soup_frame_result soup_frame(const uint8_t *data, size_t len, size_t *total, uint8_t *type,
                                  const uint8_t **payload, size_t *plen)
{
    struct cursor c = cur_make(data, len);
    uint16_t l = cur_be16(&c);
    if (cur_failed(&c)) return SOUP_NEED_MORE;
    if (l == 0) return SOUP_BAD;
    const uint8_t *body = cur_take(&c, l);
    if (!body) return SOUP_NEED_MORE;
    *type = body[0];
    *payload = body + 1;
    *plen = (size_t)l - 1;
    *total = 2u + l;
    return SOUP_OK;
}

int soup_server_type(uint8_t type)
{
    return type == 'A' || type == 'J' || type == 'S' || type == 'H' || type == 'Z' || type == '+';
}

int soup_client_type(uint8_t type)
{
    return type == 'L' || type == 'U' || type == 'R' || type == 'O' || type == '+';
}

/* Payload lengths fixed by the SoupBinTCP 4.0 spec; -1: variable. */
static int soup_fixed_len(uint8_t type)
{
    switch (type) {
    case 'L':
        return 46; /* username 6, password 10, session 10, sequence 20 */
    case 'A':
        return 30; /* session 10, sequence 20 */
    case 'J':
        return 1;
    case 'H':
    case 'R':
    case 'Z':
    case 'O':
        return 0;
    default:
        return -1;
    }
}

int soup_plausible(const uint8_t *data, size_t len)
{
    size_t off = 0;
    int n = 0;
    while (off < len) {
        size_t total, plen;
        uint8_t type;
        const uint8_t *p;
        if (soup_frame(data + off, len - off, &total, &type, &p, &plen) != SOUP_OK) return 0;
        if (!soup_server_type(type) && !soup_client_type(type)) return 0;
        int fixed = soup_fixed_len(type);
        if (fixed >= 0 && (size_t)fixed != plen) return 0;
        if ((type == 'S' || type == 'U') && (!plen || p[0] < 'A' || p[0] > 'Z')) return 0;
        off += total;
        n++;
    }
    return n > 0;
}

/* 5.0 messages end in a 2-byte appendage length at fixed offset `at`: the total says so. */
static int v50(const uint8_t *p, size_t n, size_t at)
{
    return n >= at + 2 && n == at + 2 + ld_be16(p + at);
}

static void key_at(struct ouch_msg *m, const uint8_t *p, size_t off, size_t len)
{
    memcpy(m->key, p + off, len);
    m->key_len = (uint8_t)len;
}

int ouch_parse_client(const uint8_t *p, size_t n, struct ouch_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->reason = -1;
    if (!n) return -1;
    m->type = p[0];
    switch (p[0]) {
    case 'O':
        if (v50(p, n, 45)) { /* UserRefNum 1, side 5, qty 6, symbol 10, price 18, ..., ClOrdID 31 */
            m->version = 50;
            key_at(m, p, 1, 4);
            memcpy(m->symbol, p + 10, 8);
            memcpy(m->clordid, p + 31, 14);
            m->has_symbol = m->has_clordid = 1;
        } else if (n >= 49) { /* 4.2: token 1, side 15, shares 16, stock 20 */
            m->version = 42;
            key_at(m, p, 1, 14);
            memcpy(m->symbol, p + 20, 8);
            m->has_symbol = 1;
        } else {
            return -1;
        }
        return 0;
    case 'U':
        if (v50(p, n, 38)) { /* OrigUserRefNum 1, UserRefNum 5 */
            m->version = 50;
            key_at(m, p, 5, 4);
        } else if (n >= 29) { /* 4.2: existing token 1, replacement token 15 */
            m->version = 42;
            key_at(m, p, 15, 14);
        } else {
            return -1;
        }
        return 0;
    case 'X':
        if (n == 9) { /* 5.0: UserRefNum 1, quantity 5 */
            m->version = 50;
            key_at(m, p, 1, 4);
        } else if (n >= 19) { /* 4.2: token 1, shares 15 */
            m->version = 42;
            key_at(m, p, 1, 14);
        } else {
            return -1;
        }
        return 0;
    default:
        return 0; /* counted by type only */
    }
}

int ouch_parse_server(const uint8_t *p, size_t n, struct ouch_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->reason = -1;
    if (!n) return -1;
    m->type = p[0];
    /* Every order response starts with a timestamp (8 bytes) after the type. */
    switch (p[0]) {
    case 'A':
    case 'C':
    case 'E':
    case 'J': {
        int five = p[0] == 'A'   ? v50(p, n, 62)
                   : p[0] == 'E' ? v50(p, n, 34)
                   : p[0] == 'C' ? n == 18
                                 : n == 29;
        if (five) {
            m->version = 50;
            key_at(m, p, 9, 4);
            if (p[0] == 'J') {
                m->reason = (int32_t)ld_be16(p + 13);
                memcpy(m->clordid, p + 15, 14);
                m->has_clordid = 1;
            }
        } else if (n >= 24) {
            m->version = 42;
            key_at(m, p, 9, 14);
            if (p[0] == 'J') m->reason = p[23];
        } else {
            return -1;
        }
        return 0;
    }
    case 'U': /* Replaced: 5.0 OrigUserRefNum 9, UserRefNum 13; 4.2 replacement token 9 */
        if (v50(p, n, 66)) {
            m->version = 50;
            key_at(m, p, 13, 4);
        } else if (n >= 80) {
            m->version = 42;
            key_at(m, p, 9, 14);
        } else {
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}
