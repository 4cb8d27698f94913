/* decode_tcp.c - TCP header and options (RFC 9293, 7323 window scale/timestamps, 2018 SACK).
 *
 *   | source port(16) | destination port(16) |
 *   | sequence number(32) |  acknowledgment number(32) |
 *   | offset(4) res(3) flags(9) | window(16) | checksum(16) | urgent(16) | options |
 *
 * The segment length comes from the IP length (what was sent), not from what was captured,
 * which is what TCP analysis needs (and what Wireshark uses).
 */
#include "decode_internal.h"

enum { OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WS = 3, OPT_SACKOK = 4, OPT_SACK = 5, OPT_TS = 8 };

static void decode_tcp_options(struct cursor o, struct packet *pkt)
{
    struct tcp_info *t = &pkt->tcp;
    while (cur_left(&o) > 0) {
        uint8_t kind = cur_u8(&o);
        if (kind == OPT_EOL)
            return;
        if (kind == OPT_NOP)
            continue;
        uint8_t len = cur_u8(&o);
        if (cur_failed(&o) || len < 2 || len - 2u > cur_left(&o)) {
            pkt_set_error(pkt, TT_C_TCP_BAD_OPTION);
            return;
        }
        struct cursor v = cur_sub(&o, len - 2u);
        switch (kind) {
        case OPT_MSS:
            if (len == 4)
                t->mss = cur_be16(&v);
            break;
        case OPT_WS:
            if (len == 3) {
                uint8_t s = cur_u8(&v);
                t->wscale = s > 14 ? 14 : s; /* RFC 7323: larger shifts mean 14 */
            }
            break;
        case OPT_SACKOK: t->sack_permitted = 1; break;
        case OPT_SACK: t->sack_blocks = (uint8_t)((len - 2u) / 8u); break;
        case OPT_TS:
            if (len == 10) {
                t->has_ts = 1;
                t->ts_val = cur_be32(&v);
                t->ts_ecr = cur_be32(&v);
            }
            break;
        default: break;
        }
    }
}

void decode_tcp(struct cursor c, uint32_t l4_len, struct packet *pkt)
{
    struct tcp_info *t = &pkt->tcp;
    const uint8_t *start = c.p;
    size_t avail = cur_left(&c);
    pkt_proto(pkt, TT_P_TCP);
    const uint8_t *h = cur_take(&c, 20);
    if (!h) {
        pkt_set_error(pkt, TT_C_TCP_TRUNCATED);
        return;
    }
    pkt->key.sport = ld_be16(h);
    pkt->key.dport = ld_be16(h + 2);
    t->seq = ld_be32(h + 4);
    t->ack = ld_be32(h + 8);
    uint16_t off_flags = ld_be16(h + 12);
    t->window = ld_be16(h + 14);
    t->flags = off_flags & 0x01ff;
    t->hlen = (uint16_t)((off_flags >> 12) * 4u);
    if (t->hlen < 20 || t->hlen > l4_len) {
        pkt_set_error(pkt, TT_C_TCP_BAD_OFFSET);
        return;
    }
    t->seglen = l4_len - t->hlen;
    pkt->has_l4 = 1;
    if (avail < t->hlen) {
        pkt_set_error(pkt, TT_C_TCP_TRUNCATED);
        decode_tcp_options(cur_make(start + 20, avail - 20), pkt);
        return;
    }
    decode_tcp_options(cur_make(start + 20, t->hlen - 20u), pkt);
    pkt->payload = start + t->hlen;
    pkt->payload_len = (uint32_t)(avail - t->hlen);
}
