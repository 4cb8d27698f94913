/* ouch_session.c - SoupBinTCP sessions (logins, sequenced data, heartbeats) and OUCH 4.2/5.0
 * orders (Enter, Cancel, Replace to their first answer, rejects) over reassembled TCP. */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "../decode/cursor.h"
#include "../decode/decode.h"
#include "../flow/flow_table.h"
#include "soupbintcp.h"
#include "trading_internal.h"

static void soup_name_session(struct trading *t, struct tcp_app *a, const struct flow *f,
                              uint8_t type, const uint8_t *p, size_t n)
{
    if (a->named) return;
    a->named = 1;
    if (type == 'L' && n >= 6) { /* the login's username (the password next to it is never read) */
        trading_copy_field(t, a->comp[0], sizeof(a->comp[0]), 0, p, 6);
        for (size_t i = strlen(a->comp[0]); i > 0 && a->comp[0][i - 1] == ' '; i--)
            a->comp[0][i - 1] = 0;
    }
    if (!a->comp[0][0]) {
        const struct flow_key *k = &f->key;
        const uint8_t *cli = a->server_dir == 0 ? k->dst : k->src;
        uint16_t port = a->server_dir == 0 ? k->dport : k->sport;
        if (k->family == 4)
            snprintf(a->comp[0], sizeof(a->comp[0]), "%u.%u.%u.%u:%u", cli[12], cli[13], cli[14],
                     cli[15], port);
        else
            snprintf(a->comp[0], sizeof(a->comp[0]), "[..%02x%02x]:%u", cli[14], cli[15], port);
    }
    char name[64];
    snprintf(name, sizeof(name), "%s", a->comp[0]);
    a->stats = trading_session_get(t->st, XXH3_64bits(name, strlen(name)) ^ TK_SOUP, TK_SOUP, name);
}

static void ouch_reject_event(struct tcp_ctx *c, int kind, const struct ouch_msg *m, int32_t reason,
                              uint64_t ts_ns)
{
    struct event *e = trading_event_new(c->t, EV_OUCH_REJECT, &c->f->key, c->f->id, c->dir, ts_ns);
    if (!e) return;
    memset(&e->u.ouch, 0, sizeof(e->u.ouch));
    snprintf(e->u.ouch.session, sizeof(e->u.ouch.session), "%s", c->a->comp[0]);
    e->u.ouch.kind = (uint8_t)kind;
    e->u.ouch.reason = reason;
    if (m) {
        e->u.ouch.version = m->version;
        if (m->key_len == 4)
            snprintf(e->u.ouch.order, sizeof(e->u.ouch.order), "%u", ld_be32(m->key));
        else
            trading_copy_field(c->t, e->u.ouch.order, sizeof(e->u.ouch.order), 0, m->key,
                               m->key_len);
        if (m->has_clordid)
            trading_copy_field(c->t, e->u.ouch.clordid, sizeof(e->u.ouch.clordid), 0, m->clordid,
                               14);
    }
    c->t->emit.commit(c->t->emit.ctx);
}

static uint64_t ouch_key(uint64_t flow_id, const struct ouch_msg *m)
{
    uint64_t k = XXH3_64bits_withSeed(m->key, m->key_len, flow_id ^ 0x0c0c);
    return k ? k : 1;
}

static void soup_packet(struct tcp_ctx *c, uint8_t type, const uint8_t *p, size_t n, uint64_t ts_ns)
{
    struct trading *t = c->t;
    struct tcp_app *a = c->a;
    if (a->server_dir < 0) {
        if (soup_server_type(type) && type != '+')
            a->server_dir = (int8_t)c->dir;
        else if (soup_client_type(type) && type != '+')
            a->server_dir = (int8_t)!c->dir;
    }
    int from_server = c->dir == a->server_dir;
    soup_name_session(t, a, c->f, type, p, n);
    struct trading_session_stats *ss = trading_app_stats(t, a);
    t->st->soup_packets++;
    ss->messages[from_server]++;
    struct ouch_msg m;
    if (!from_server) {
        switch (type) {
        case 'U':
            ss->unsequenced++;
            if (ouch_parse_client(p, n, &m) || !n) break;
            t->st->ouch_client_types[m.type]++;
            if (!m.version) break;
            unsigned pair = m.type == 'O' ? OP_NEW : m.type == 'X' ? OP_CANCEL : OP_REPLACE;
            ss->orders[pair]++;
            trading_order_add(t, ouch_key(c->f->id, &m), ts_ns, a->stats, OP_MAX + pair);
            break;
        case 'R':
            ss->soup_heartbeats++;
            break;
        default:
            break;
        }
        return;
    }
    switch (type) {
    case 'A':
        ss->logins_accepted++;
        break;
    case 'J':
        ss->logins_rejected++;
        ouch_reject_event(c, 1, NULL, n ? p[0] : -1, ts_ns);
        break;
    case 'H':
        ss->soup_heartbeats++;
        break;
    case 'Z':
        ss->end_of_session++;
        break;
    case 'S':
        ss->sequenced++;
        if (ouch_parse_server(p, n, &m) || !n) break;
        t->st->ouch_server_types[m.type]++;
        if (!m.version) break;
        switch (m.type) {
        case 'A':
            ss->accepted++;
            break;
        case 'C':
            ss->canceled++;
            break;
        case 'E':
            ss->executions++;
            return; /* not an answer to a request */
        case 'J':
            ss->order_rejects++;
            ouch_reject_event(c, 0, &m, m.reason, ts_ns);
            break;
        default:
            break;
        }
        trading_order_answered(t, ouch_key(c->f->id, &m), ts_ns);
        break;
    default:
        break;
    }
}

size_t soup_deliver(void *ctx, const uint8_t *data, size_t len, int after_hole, uint64_t ts_ns)
{
    struct tcp_ctx *c = ctx;
    (void)after_hole; /* held data starts where a segment started: on a packet boundary */
    size_t off = 0;
    while (off < len) {
        size_t total, plen;
        uint8_t type;
        const uint8_t *p;
        enum soup_frame_result r = soup_frame(data + off, len - off, &total, &type, &p, &plen);
        if (r == SOUP_NEED_MORE) break;
        if (r ==
            SOUP_BAD) { /* lost the framing: drop what is here, start again with the next segment */
            c->t->st->soup_garbage_bytes += len - off;
            return len;
        }
        soup_packet(c, type, p, plen, ts_ns);
        off += total;
    }
    return off;
}
