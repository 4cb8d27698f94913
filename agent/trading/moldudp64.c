/* moldudp64.c - MoldUDP64 packets and ITCH 5.0 messages (see moldudp64.h). */
#include "moldudp64.h"

#include <string.h>

#include "../decode/cursor.h"

int mold_parse(const uint8_t *payload, size_t len, struct mold_packet *p)
{
    if (!mold_well_formed(payload, len)) return -1;
    struct cursor c = cur_make(payload, len);
    const uint8_t *h = cur_take(&c, MOLD_HEADER_LEN); /* there: the packet is well formed */
    memcpy(p->session, h, sizeof(p->session));
    p->seq = (uint64_t)ld_be32(h + 10) << 32 | ld_be32(h + 14);
    p->count = ld_be16(h + 18);
    p->msgs = c.p;
    p->msgs_len = cur_left(&c);
    return 0;
}

int mold_next_message(const struct mold_packet *p, size_t *off, const uint8_t **msg, size_t *mlen)
{
    if (*off >= p->msgs_len) return 0;
    struct cursor c = cur_make(p->msgs + *off, p->msgs_len - *off);
    uint16_t l = cur_be16(&c);
    const uint8_t *m = cur_take(&c, l);
    if (cur_failed(&c) || !l) return -1;
    *msg = m;
    *mlen = l;
    *off += 2u + l;
    return 1;
}

size_t itch_message_length(uint8_t type)
{
    switch (type) {
    case 'S':
        return 12;
    case 'R':
        return 39;
    case 'H':
        return 25;
    case 'Y':
        return 20;
    case 'L':
        return 26;
    case 'V':
        return 35;
    case 'W':
        return 12;
    case 'K':
        return 28;
    case 'J':
        return 35;
    case 'h':
        return 21;
    case 'A':
        return 36;
    case 'F':
        return 40;
    case 'E':
        return 31;
    case 'C':
        return 36;
    case 'X':
        return 23;
    case 'D':
        return 19;
    case 'U':
        return 35;
    case 'P':
        return 44;
    case 'Q':
        return 40;
    case 'B':
        return 19;
    case 'I':
        return 50;
    case 'N':
        return 20;
    case 'O':
        return 48;
    default:
        return 0;
    }
}

int64_t itch_timestamp(const uint8_t *msg, size_t len)
{
    struct cursor c = cur_make(msg, len);
    cur_skip(&c, 5); /* type, stock locate, tracking number */
    uint64_t ts = (uint64_t)cur_be16(&c) << 32;
    ts |= cur_be32(&c);
    return cur_failed(&c) ? -1 : (int64_t)ts;
}

int itch_plausible(const struct mold_packet *p)
{
    if (p->count == 0 || p->count == MOLD_END_OF_SESSION) return 1;
    size_t off = 0;
    const uint8_t *m;
    size_t ml;
    while (mold_next_message(p, &off, &m, &ml) == 1)
        if (itch_message_length(m[0]) != ml) return 0;
    return 1;
}
