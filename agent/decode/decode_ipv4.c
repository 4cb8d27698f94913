/* decode_ipv4.c - IPv4 (RFC 791), fragments handed to the reassembler.
 *
 *   0      4      8              16     19              31
 *   | ver  | ihl  |     tos      |        total length   |
 *   |      identification        |flags|  fragment off   |
 *   |    ttl      |   protocol   |     header checksum   |
 *   |                  source address                    |
 *   |               destination address                  |
 *   |            options (ihl*4 - 20 bytes)              |
 */
#include "decode_internal.h"

#include <string.h>

void decode_ipv4(struct decoder *d, struct cursor c, struct packet *pkt)
{
    const uint8_t *start = c.p;
    size_t avail = cur_left(&c);
    pkt_proto(pkt, TT_P_IPV4);
    const uint8_t *h = cur_take(&c, 20);
    if (!h) {
        pkt_set_error(pkt, TT_C_IPV4_TRUNCATED);
        return;
    }
    uint8_t ver_ihl = h[0];
    uint32_t total = ld_be16(h + 2);
    uint16_t id = ld_be16(h + 4);
    uint16_t frag = ld_be16(h + 6);
    uint8_t ttl = h[8];
    uint8_t proto = h[9];
    const uint8_t *src = h + 12, *dst = h + 16;
    if ((ver_ihl >> 4) != 4) {
        pkt_set_error(pkt, TT_C_IPV4_BAD_VERSION);
        return;
    }
    uint32_t hlen = (ver_ihl & 0x0f) * 4u;
    if (hlen < 20) {
        pkt_set_error(pkt, TT_C_IPV4_BAD_IHL);
        return;
    }
    if (avail < hlen) {
        pkt_set_error(pkt, TT_C_IPV4_TRUNCATED);
        return;
    }
    if (total == 0) /* TSO capture: the NIC fills the length in later */
        total = (uint32_t)avail;
    if (total < hlen) {
        pkt_set_error(pkt, TT_C_IPV4_BAD_TOTAL_LENGTH);
        return;
    }
    memset(&pkt->key, 0, offsetof(struct flow_key, vlan));
    v4_mapped(pkt->key.src, src);
    v4_mapped(pkt->key.dst, dst);
    pkt->key.family = 4;
    pkt->key.proto = proto;
    pkt->has_l3 = 1;
    pkt->ttl = ttl;
    pkt->ip_len = total;
    if (!pkt->l3_end && !pkt->tunnel_depth && start >= pkt->frame_data &&
        start < pkt->frame_data + pkt->caplen) /* where a trailer would start */
        pkt->l3_end = (uint32_t)(start - pkt->frame_data) + total;

    /* Payload: what the header announces, clamped to what was captured (the rest of the
     * frame beyond total is Ethernet padding or a timestamp trailer, never payload). */
    uint32_t l4_len = total - hlen;
    uint32_t wire = pkt_wire_left(pkt, start);
    if (wire != UINT32_MAX && wire >= hlen && wire - hlen < l4_len) l4_len = wire - hlen;
    struct cursor body = cur_make(start + hlen, avail - hlen < l4_len ? avail - hlen : l4_len);

    uint32_t off = (frag & 0x1fffu) * 8u;
    int more = (frag & 0x2000) != 0;
    if (off == 0 && (!more || d->first_fragment_whole)) {
        if (more) { /* steering: a first fragment, decoded as far as it goes */
            pkt->frag = FRAG_FIRST;
            pkt->frag_id = id;
        }
        decode_l4(d, proto, body, l4_len, pkt);
        return;
    }
    pkt_proto(pkt, TT_P_FRAGMENT);
    pkt->frag = off ? FRAG_LATER : FRAG_FIRST;
    pkt->frag_id = id;
    if (cur_left(&body) < l4_len) {
        pkt_set_error(pkt, TT_C_IPV4_TRUNCATED);
        return;
    }
    const uint8_t *whole;
    uint32_t whole_len;
    int err;
    enum reasm_result r = ip_reasm_add(&d->reasm, 4, pkt->key.src, pkt->key.dst, proto, id, off,
                                       more, body.p, l4_len, pkt->ts_ns, &whole, &whole_len, &err);
    if (err != TT_C_MAX) pkt_set_error(pkt, (enum tt_counter)err);
    if (r == REASM_COMPLETE) {
        pkt->reassembled = 1;
        pkt->ip_len = hlen + whole_len;
        decode_l4(d, proto, cur_make(whole, whole_len), whole_len, pkt);
    } else {
        pkt->fragment_held = 1;
    }
}
