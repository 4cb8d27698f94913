/* decode_ipv6.c - IPv6 (RFC 8200) with extension headers; fragments go to the reassembler.
 *
 *   | ver(4) | traffic class(8) | flow label(20) |
 *   | payload length(16) | next header(8) | hop limit(8) |
 *   | source address (16 bytes) | destination address (16 bytes) |
 *   extension headers: next(8) len(8) ..., fragment: next(8) res(8) off|M(16) id(32)
 */
#include "decode_internal.h"

#include <string.h>

enum {
    IP6_HOPOPTS = 0,
    IP6_ROUTING = 43,
    IP6_FRAGMENT = 44,
    IP6_AH = 51,
    IP6_NONE = 59,
    IP6_DSTOPTS = 60,
    IP6_MOBILITY = 135,
};

/* Walks the extension-header chain starting with next at c; leaves c at the upper layer.
 * Returns the upper-layer protocol, or -1 (error set) on a fault. *frag_hdr_at is set to the
 * fragment header's position when one is met (the walk stops there). */
static int walk_ext(struct cursor *c, uint8_t next, uint32_t *consumed, struct packet *pkt,
                    const uint8_t **frag_hdr_at)
{
    *frag_hdr_at = NULL;
    for (int n = 0;; n++) {
        if (n > 8) {
            pkt_set_error(pkt, TT_C_IPV6_TOO_MANY_EXT);
            return -1;
        }
        uint32_t len;
        switch (next) {
        case IP6_HOPOPTS:
        case IP6_ROUTING:
        case IP6_DSTOPTS:
        case IP6_MOBILITY:
            if (!cur_has(c, 2)) goto truncated;
            len = (c->p[1] + 1u) * 8u;
            break;
        case IP6_AH:
            if (!cur_has(c, 2)) goto truncated;
            len = (c->p[1] + 2u) * 4u;
            break;
        case IP6_FRAGMENT:
            if (!cur_has(c, 8)) goto truncated;
            *frag_hdr_at = c->p;
            return next;
        default:
            return next;
        }
        if (!cur_has(c, len)) goto truncated;
        next = c->p[0];
        cur_skip(c, len);
        *consumed += len;
    }
truncated:
    pkt_set_error(pkt, TT_C_IPV6_TRUNCATED);
    return -1;
}

void decode_ipv6(struct decoder *d, struct cursor c, struct packet *pkt)
{
    pkt_proto(pkt, TT_P_IPV6);
    size_t avail = cur_left(&c);
    uint32_t vtf = cur_be32(&c);
    uint32_t plen = cur_be16(&c);
    uint8_t next = cur_u8(&c);
    uint8_t hop = cur_u8(&c);
    uint8_t src[16], dst[16];
    cur_copy(&c, src, 16);
    cur_copy(&c, dst, 16);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_IPV6_TRUNCATED);
        return;
    }
    if ((vtf >> 28) != 6) {
        pkt_set_error(pkt, TT_C_IPV6_BAD_VERSION);
        return;
    }
    if (plen == 0) /* jumbogram or TSO: take what was captured */
        plen = (uint32_t)(avail - 40);
    memset(&pkt->key, 0, offsetof(struct flow_key, vlan));
    memcpy(pkt->key.src, src, 16);
    memcpy(pkt->key.dst, dst, 16);
    pkt->key.family = 6;
    pkt->has_l3 = 1;
    pkt->ttl = hop;
    pkt->ip_len = 40 + plen;
    if (!pkt->l3_end && !pkt->tunnel_depth && c.p >= pkt->frame_data + 40 &&
        c.p <= pkt->frame_data + pkt->caplen) /* where a trailer would start */
        pkt->l3_end = (uint32_t)(c.p - pkt->frame_data) + plen;

    uint32_t wire = pkt_wire_left(pkt, c.p);
    if (wire != UINT32_MAX && wire < plen) plen = wire;
    struct cursor body = cur_make(c.p, avail - 40 < plen ? avail - 40 : plen);
    uint32_t consumed = 0;
    const uint8_t *frag;
    int proto = walk_ext(&body, next, &consumed, pkt, &frag);
    if (proto < 0) return;
    if (!frag) {
        pkt->key.proto = (uint8_t)proto;
        decode_l4(d, (uint8_t)proto, body, plen > consumed ? plen - consumed : 0, pkt);
        return;
    }
    /* Fragment header: next(8) reserved(8) offset(13)|res(2)|M(1) identification(32). */
    struct cursor fh = cur_make(frag, 8);
    uint8_t fnext = cur_u8(&fh);
    cur_skip(&fh, 1);
    uint16_t offm = cur_be16(&fh);
    uint32_t id = cur_be32(&fh);
    cur_skip(&body, 8);
    consumed += 8;
    uint32_t off = offm & 0xfff8u;
    int more = offm & 1;
    uint32_t flen = plen > consumed ? plen - consumed : 0;
    if (off == 0 && (!more || d->first_fragment_whole)) { /* atomic fragment (RFC 6946) */
        if (more) { /* steering: a first fragment, decoded as far as it goes */
            pkt->frag = FRAG_FIRST;
            pkt->frag_id = id;
        }
        pkt->key.proto = fnext;
        decode_l4(d, fnext, body, flen, pkt);
        return;
    }
    pkt_proto(pkt, TT_P_FRAGMENT);
    pkt->key.proto = fnext;
    pkt->frag = off ? FRAG_LATER : FRAG_FIRST;
    pkt->frag_id = id;
    if (cur_left(&body) < flen) {
        pkt_set_error(pkt, TT_C_IPV6_TRUNCATED);
        return;
    }
    const uint8_t *whole;
    uint32_t whole_len;
    int err;
    enum reasm_result r = ip_reasm_add(&d->reasm, 6, src, dst, fnext, id, off, more, body.p, flen,
                                       pkt->ts_ns, &whole, &whole_len, &err);
    if (err != TT_C_MAX) pkt_set_error(pkt, (enum tt_counter)err);
    if (r != REASM_COMPLETE) {
        pkt->fragment_held = 1;
        return;
    }
    pkt->reassembled = 1;
    pkt->ip_len = 40 + consumed + whole_len;
    struct cursor rc = cur_make(whole, whole_len);
    uint32_t rconsumed = 0;
    proto = walk_ext(&rc, fnext, &rconsumed, pkt, &frag);
    if (proto < 0 || frag) return;
    pkt->key.proto = (uint8_t)proto;
    decode_l4(d, (uint8_t)proto, rc, whole_len - rconsumed, pkt);
}
