/* trading.c - FIX sessions and orders over reassembled TCP, market-data sequencing with A/B
 * arbitration (see trading.h). */
#include "trading.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "../decode/cursor.h"
#include "../decode/decode.h"
#include "../flow/flow_table.h"
#include "fix.h"
#include "md.h"
#include "soup.h"

#define PENDING_PROBE 8

/* ---------------------------------------------------------------------------------------- */
/* events */

static struct event *ev_new(struct trading *t, enum event_type type, const struct flow_key *key,
                            uint64_t flow_id, int dir, uint64_t ts_ns)
{
    struct event *e = t->emit.reserve(t->emit.ctx, type);
    if (!e) return NULL;
    e->ts_ns = ts_ns;
    e->dir = (uint8_t)dir;
    e->flow_id = flow_id;
    e->key = *key;
    return e;
}

/* Copies a field for an event: printable ASCII only (JSON-safe), cut to fit, or a marker
 * when the tag is one that must never leave the agent. */
static void copy_field(const struct trading *t, char *dst, size_t cap, uint32_t tag,
                       const uint8_t *p, size_t len)
{
    if (len && trading_tag_redacted(t->cfg, tag)) {
        snprintf(dst, cap, "[redacted]");
        return;
    }
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    dst[n] = 0;
}

static void copy_str(const struct trading *t, char *dst, size_t cap, uint32_t tag, struct fix_str s)
{
    copy_field(t, dst, cap, tag, s.p, s.len);
}

/* ---------------------------------------------------------------------------------------- */
/* pending orders: ClOrdID -> time sent, until the first response */

static uint64_t order_key(uint64_t flow_id, struct fix_str clordid)
{
    uint64_t k = XXH3_64bits_withSeed(clordid.p, clordid.len, flow_id);
    return k ? k : 1;
}

static void order_add(struct trading *t, uint64_t key, uint64_t ts_ns, uint32_t stats,
                      unsigned pair)
{
    struct pending_order *victim = NULL;
    for (uint32_t i = 0; i < PENDING_PROBE; i++) {
        struct pending_order *o = &t->orders[(key + i) & t->orders_mask];
        if (!o->key || o->key == key) {
            victim = o;
            break;
        }
        if (!victim || o->ts_ns < victim->ts_ns) victim = o;
    }
    if (victim->key && victim->key != key) {
        t->counters[TT_C_TRADING_ORDERS_EVICTED]++;
        struct trading_session_stats *ss =
            victim->stats == TRADING_NONE ? t->scratch : &t->st->sessions[victim->stats];
        ss->unanswered++;
    }
    victim->key = key;
    victim->ts_ns = ts_ns;
    victim->stats = stats;
    victim->pair = (uint8_t)pair;
}

static void order_answered(struct trading *t, uint64_t key, uint64_t ts_ns)
{
    for (uint32_t i = 0; i < PENDING_PROBE; i++) {
        struct pending_order *o = &t->orders[(key + i) & t->orders_mask];
        if (o->key != key) continue;
        uint64_t lat = ts_ns >= o->ts_ns ? ts_ns - o->ts_ns : 0;
        /* pairs past OP_MAX are OUCH's */
        hist_add(o->pair < OP_MAX ? &t->st->order_latency[o->pair]
                                  : &t->st->ouch_latency[o->pair - OP_MAX],
                 lat);
        if (o->stats != TRADING_NONE) hist_add(&t->st->sessions[o->stats].latency, lat);
        o->key = 0;
        return;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* FIX */

struct fix_ctx {
    struct trading *t;
    struct flow *f;
    struct tcp_app *a;
    int dir;
};

static struct trading_session_stats *app_stats(struct trading *t, const struct tcp_app *a)
{
    return a->stats == TRADING_NONE ? t->scratch : &t->st->sessions[a->stats];
}

/* The session is named after its CompIDs once a message carries them: initiator first. */
static void fix_name_session(struct trading *t, struct tcp_app *a, int dir, const struct fix_msg *m)
{
    if (a->named || !m->sender.len || !m->target.len) return;
    a->named = 1;
    /* The flow's first packet came from the initiator (it sent the SYN, or spoke first). */
    a->initiator_dir = 0;
    const struct fix_str *ini = dir == 0 ? &m->sender : &m->target;
    const struct fix_str *acc = dir == 0 ? &m->target : &m->sender;
    copy_str(t, a->comp[0], sizeof(a->comp[0]), 49, *ini);
    copy_str(t, a->comp[1], sizeof(a->comp[1]), 56, *acc);
    char name[80];
    snprintf(name, sizeof(name), "%s-%s", a->comp[0], a->comp[1]);
    a->stats = trading_session_get(t->st, XXH3_64bits(name, strlen(name)) ^ TK_FIX, TK_FIX, name);
}

static struct event *fix_event(struct fix_ctx *c, enum event_type type, const struct fix_msg *m,
                               uint64_t ts_ns)
{
    struct event *e = ev_new(c->t, type, &c->f->key, c->f->id, c->dir, ts_ns);
    if (!e) return NULL;
    memset(&e->u.fix, 0, sizeof(e->u.fix));
    memcpy(e->u.fix.sender, c->a->comp[0], sizeof(e->u.fix.sender));
    memcpy(e->u.fix.target, c->a->comp[1], sizeof(e->u.fix.target));
    e->u.fix.seq = m->seq;
    e->u.fix.from_initiator = c->dir == c->a->initiator_dir;
    e->u.fix.reason = -1;
    copy_str(c->t, e->u.fix.msg_type, sizeof(e->u.fix.msg_type), 35, m->msg_type);
    copy_str(c->t, e->u.fix.ref_msg_type, sizeof(e->u.fix.ref_msg_type), 372, m->ref_msg_type);
    copy_str(c->t, e->u.fix.clordid, sizeof(e->u.fix.clordid), 11, m->clordid);
    copy_str(c->t, e->u.fix.orig_clordid, sizeof(e->u.fix.orig_clordid), 41, m->orig_clordid);
    copy_str(c->t, e->u.fix.order_id, sizeof(e->u.fix.order_id), 37, m->order_id);
    copy_str(c->t, e->u.fix.symbol, sizeof(e->u.fix.symbol), 55, m->symbol);
    copy_str(c->t, e->u.fix.text, sizeof(e->u.fix.text), 58, m->text);
    e->u.fix.text_redacted = m->text.len && trading_tag_redacted(c->t->cfg, 58);
    return e;
}

/* Emits a FIX event with its type's numbers (unused ones 0, reason -1 when none). */
static void fix_emit(struct fix_ctx *c, enum event_type type, const struct fix_msg *m,
                     uint64_t ts_ns, uint32_t expected, uint32_t count, uint32_t ref_seq,
                     int32_t reason, uint8_t kind)
{
    struct event *e = fix_event(c, type, m, ts_ns);
    if (!e) return;
    e->u.fix.expected = expected;
    e->u.fix.count = count;
    e->u.fix.ref_seq = ref_seq;
    e->u.fix.reason = reason;
    e->u.fix.kind = kind;
    c->t->emit.commit(c->t->emit.ctx);
}

static void fix_heartbeat_missed(struct fix_ctx *c, const struct fix_msg *m, int silent_dir,
                                 uint64_t silence_ns, int kind, uint64_t ts_ns)
{
    app_stats(c->t, c->a)->heartbeats_missed++;
    struct event *e = fix_event(c, EV_FIX_HEARTBEAT_MISSED, m, ts_ns);
    if (!e) return;
    e->u.fix.silence_ns = silence_ns;
    e->u.fix.heartbt_int = c->a->side[silent_dir].heartbt_int;
    e->u.fix.kind = (uint8_t)kind;
    /* the event is about the silent side */
    e->u.fix.from_initiator = silent_dir == c->a->initiator_dir;
    c->t->emit.commit(c->t->emit.ctx);
}

static void fix_check_seq(struct fix_ctx *c, struct fix_side *sd, const struct fix_msg *m,
                          uint64_t ts_ns)
{
    struct trading_session_stats *ss = app_stats(c->t, c->a);
    if (!sd->next_seq || m->seq == sd->next_seq) {
        sd->next_seq = m->seq + 1;
        return;
    }
    if (m->seq < sd->next_seq) {
        ss->seq_too_low++;
        return;
    }
    uint32_t missing = m->seq - sd->next_seq;
    ss->seq_gaps++;
    ss->seq_missing += missing;
    fix_emit(c, EV_FIX_SEQ_GAP, m, ts_ns, sd->next_seq, missing, 0, -1, 0);
    sd->next_seq = m->seq + 1;
}

static void fix_sequence(struct fix_ctx *c, struct fix_side *sd, const struct fix_msg *m,
                         uint64_t ts_ns)
{
    struct trading_session_stats *ss = app_stats(c->t, c->a);
    if (!m->has_seq) return;
    if (fix_type_is(m, "A") && m->reset_seq)
        sd->next_seq = 0; /* ResetSeqNumFlag: numbering starts again here */
    if (fix_type_is(m, "4")) {
        if (m->gap_fill) {
            ss->gap_fills++;
            if (!m->poss_dup) fix_check_seq(c, sd, m, ts_ns);
            if (m->new_seq > sd->next_seq) sd->next_seq = m->new_seq;
        } else {
            ss->seq_resets++;
            if (m->new_seq) sd->next_seq = m->new_seq;
        }
        return;
    }
    if (m->poss_dup) {
        ss->poss_dup++;
        if (sd->next_seq && m->seq >= sd->next_seq) sd->next_seq = m->seq + 1;
        return;
    }
    fix_check_seq(c, sd, m, ts_ns);
}

static void fix_application(struct fix_ctx *c, const struct fix_msg *m, uint64_t ts_ns)
{
    struct trading *t = c->t;
    struct trading_session_stats *ss = app_stats(t, c->a);
    char type = m->msg_type.len == 1 ? (char)m->msg_type.p[0] : 0;
    enum order_pair pair = OP_MAX;
    switch (type) {
    case 'D':
        pair = OP_NEW;
        break;
    case 'F':
        pair = OP_CANCEL;
        break;
    case 'G':
        pair = OP_REPLACE;
        break;
    case '8':
    case '9':
        if (type == '9' || m->ord_status == '8' || m->exec_type == '8') {
            ss->order_rejects++;
            fix_emit(c, EV_FIX_ORDER_REJECT, m, ts_ns, 0, 0, 0,
                     type == '9' ? m->cxl_rej_reason : m->ord_rej_reason, type == '9');
        }
        if (m->clordid.len) order_answered(t, order_key(c->f->id, m->clordid), ts_ns);
        return;
    case 'j':
        ss->business_rejects++;
        fix_emit(c, EV_FIX_BUSINESS_REJECT, m, ts_ns, 0, 0, m->ref_seq, m->biz_rej_reason, 0);
        return;
    default:
        return;
    }
    ss->orders[pair]++;
    if (m->clordid.len) order_add(t, order_key(c->f->id, m->clordid), ts_ns, c->a->stats, pair);
}

static void fix_session_message(struct fix_ctx *c, const struct fix_msg *m, uint64_t ts_ns)
{
    struct trading *t = c->t;
    struct trading_session_stats *ss = app_stats(t, c->a);
    struct fix_side *sd = &c->a->side[c->dir];
    struct fix_side *other = &c->a->side[!c->dir];
    char type = m->msg_type.len == 1 ? (char)m->msg_type.p[0] : 0;
    switch (type) {
    case 'A':
        ss->logons++;
        if (m->heartbt_int) {
            sd->heartbt_int = m->heartbt_int;
            if (!other->heartbt_int) other->heartbt_int = m->heartbt_int;
        }
        break;
    case '5':
        ss->logouts++;
        fix_emit(c, EV_FIX_LOGOUT, m, ts_ns, 0, 0, 0, -1, 0);
        break;
    case '2':
        ss->resend_requests++;
        fix_emit(c, EV_FIX_RESEND_REQUEST, m, ts_ns, m->begin_seq, m->end_seq, 0, -1, 0);
        break;
    case '3':
        ss->rejects++;
        fix_emit(c, EV_FIX_REJECT, m, ts_ns, 0, 0, m->ref_seq, m->sess_rej_reason, 0);
        break;
    case '1': /* TestRequest: this side has not heard from the other for too long */
        ss->test_requests++;
        fix_heartbeat_missed(c, m, !c->dir, other->last_ns ? ts_ns - other->last_ns : 0, 1, ts_ns);
        break;
    default:
        break;
    }
}

static void fix_message(struct fix_ctx *c, const uint8_t *msg, size_t len, uint64_t ts_ns)
{
    struct trading *t = c->t;
    struct fix_msg m;
    fix_parse(msg, len, &m); /* a malformed field ends the walk; what came before is used */
    t->st->fix_messages++;
    trading_count_fix_type(t->st, m.msg_type.p, m.msg_type.len);
    fix_name_session(t, c->a, c->dir, &m);
    struct trading_session_stats *ss = app_stats(t, c->a);
    ss->messages[c->dir == c->a->initiator_dir ? 0 : 1]++;

    struct fix_side *sd = &c->a->side[c->dir];
    if (sd->last_ns && sd->heartbt_int) {
        uint64_t limit =
            (uint64_t)sd->heartbt_int * 1000000000ull * (100u + t->cfg->heartbeat_tolerance) / 100u;
        if (ts_ns - sd->last_ns > limit)
            fix_heartbeat_missed(c, &m, c->dir, ts_ns - sd->last_ns, 0, ts_ns);
    }
    sd->last_ns = ts_ns;
    fix_sequence(c, sd, &m, ts_ns);
    fix_session_message(c, &m, ts_ns);
    if (!m.poss_dup) /* a resent copy was (or should have been) analysed the first time */
        fix_application(c, &m, ts_ns);
}

/* Stream callback: frames whole messages out of in-order bytes. */
static size_t fix_deliver(void *ctx, const uint8_t *data, size_t len, int after_hole,
                          uint64_t ts_ns)
{
    struct fix_ctx *c = ctx;
    struct trading *t = c->t;
    struct fix_side *sd = &c->a->side[c->dir];
    if (after_hole) sd->resync = 1;
    size_t off = 0;
    while (off < len) {
        if (sd->resync || data[off] != '8') {
            size_t start = fix_find_start(data, len, off);
            t->st->fix_garbage_bytes += start - off;
            off = start;
            if (off >= len) break;
            sd->resync = 0;
        }
        size_t ml = 0;
        enum fix_frame_result r = fix_frame(data + off, len - off, t->cfg->fix_max_message, &ml);
        if (r == FIX_FRAME_NEED_MORE) break;
        if (r == FIX_FRAME_GARBAGE) {
            t->st->fix_garbage_bytes++;
            off++;
            sd->resync = 1;
            continue;
        }
        if (r == FIX_FRAME_BAD_CHECKSUM) {
            t->counters[TT_C_FIX_BAD_CHECKSUM]++;
            app_stats(t, c->a)->bad_checksum++;
        } else {
            fix_message(c, data + off, ml, ts_ns);
        }
        off += ml;
    }
    return off;
}

/* ---------------------------------------------------------------------------------------- */
/* SoupBinTCP / OUCH */

static void soup_name_session(struct trading *t, struct tcp_app *a, const struct flow *f,
                              uint8_t type, const uint8_t *p, size_t n)
{
    if (a->named) return;
    a->named = 1;
    if (type == 'L' && n >= 6) { /* the login's username (the password next to it is never read) */
        copy_field(t, a->comp[0], sizeof(a->comp[0]), 0, p, 6);
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

static void ouch_reject_event(struct fix_ctx *c, int kind, const struct ouch_msg *m, int32_t reason,
                              uint64_t ts_ns)
{
    struct event *e = ev_new(c->t, EV_OUCH_REJECT, &c->f->key, c->f->id, c->dir, ts_ns);
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
            copy_field(c->t, e->u.ouch.order, sizeof(e->u.ouch.order), 0, m->key, m->key_len);
        if (m->has_clordid)
            copy_field(c->t, e->u.ouch.clordid, sizeof(e->u.ouch.clordid), 0, m->clordid, 14);
    }
    c->t->emit.commit(c->t->emit.ctx);
}

static uint64_t ouch_key(uint64_t flow_id, const struct ouch_msg *m)
{
    uint64_t k = XXH3_64bits_withSeed(m->key, m->key_len, flow_id ^ 0x0c0c);
    return k ? k : 1;
}

static void soup_packet(struct fix_ctx *c, uint8_t type, const uint8_t *p, size_t n, uint64_t ts_ns)
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
    struct trading_session_stats *ss = app_stats(t, a);
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
            order_add(t, ouch_key(c->f->id, &m), ts_ns, a->stats, OP_MAX + pair);
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
        order_answered(t, ouch_key(c->f->id, &m), ts_ns);
        break;
    default:
        break;
    }
}

static size_t soup_deliver(void *ctx, const uint8_t *data, size_t len, int after_hole,
                           uint64_t ts_ns)
{
    struct fix_ctx *c = ctx;
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

/* ---------------------------------------------------------------------------------------- */
/* TCP sessions */

static uint32_t app_alloc(struct trading *t)
{
    uint32_t i = t->free_app;
    if (i == TRADING_NONE) return i;
    struct tcp_app *a = &t->apps[i];
    t->free_app = a->next_free;
    memset(a, 0, sizeof(*a));
    a->stats = TRADING_NONE;
    a->server_dir = -1;
    uint8_t *buf = t->bufs + (size_t)i * 2 * t->cfg->stream_buffer;
    stream_init(&a->dir[0], buf, t->cfg->stream_buffer);
    stream_init(&a->dir[1], buf + t->cfg->stream_buffer, t->cfg->stream_buffer);
    return i;
}

static void app_free(struct trading *t, uint32_t i)
{
    t->apps[i].next_free = t->free_app;
    t->free_app = i;
}

static int looks_like_fix(const struct packet *pkt)
{
    return pkt->payload_len >= 5 && !memcmp(pkt->payload, "8=FIX", 5);
}

static void stream_cfg_for(struct trading *t, struct fix_ctx *c, struct stream_cfg *sc)
{
    sc->hole_timeout_ns = t->cfg->hole_timeout_ns;
    sc->deliver = c->a->kind == APP_SOUP ? soup_deliver : fix_deliver;
    sc->ctx = c;
    sc->ctr = &t->st->stream;
}

void trading_tcp(struct trading *t, struct flow *f, int dir, const struct packet *pkt)
{
    if (f->app_kind == APP_NONE || !t->cfg->enabled) return;
    if (f->app_kind == APP_UNKNOWN) {
        const struct trading_config *cfg = t->cfg;
        uint8_t kind = APP_UNKNOWN;
        if (port_in(cfg->fix_ports, pkt->key.sport) || port_in(cfg->fix_ports, pkt->key.dport))
            kind = APP_FIX;
        else if (port_in(cfg->soup_ports, pkt->key.sport) ||
                 port_in(cfg->soup_ports, pkt->key.dport))
            kind = APP_SOUP;
        else if (cfg->detect && looks_like_fix(pkt))
            kind = APP_FIX;
        else if (cfg->detect && pkt->payload_len == pkt->tcp.seglen &&
                 soup_plausible(pkt->payload, pkt->payload_len))
            kind = APP_SOUP;
        if (kind == APP_UNKNOWN) {
            if (pkt->payload_len && ++f->app_tries >= 4) f->app_kind = APP_NONE;
            return;
        }
        uint32_t i = app_alloc(t);
        if (i == TRADING_NONE) {
            t->counters[TT_C_TRADING_SESSIONS_FULL]++;
            f->app_kind = APP_NONE;
            return;
        }
        t->apps[i].kind = kind;
        f->app = i;
        f->app_kind = kind;
    }
    struct tcp_app *a = &t->apps[f->app];
    struct fix_ctx c = {t, f, a, dir};
    struct stream_cfg sc;
    stream_cfg_for(t, &c, &sc);
    stream_segment(&a->dir[dir], &sc, pkt->tcp.seq, pkt->tcp.flags, pkt->payload, pkt->payload_len,
                   pkt->tcp.seglen, pkt->ts_ns);
    if (pkt->tcp.flags & TH_FIN) stream_finish(&a->dir[dir], &sc, pkt->ts_ns);
    if (pkt->tcp.flags & TH_RST) {
        for (int d = 0; d < 2; d++) {
            c.dir = d;
            stream_finish(&a->dir[d], &sc, pkt->ts_ns);
        }
    }
}

void trading_flow_end(struct trading *t, struct flow *f)
{
    if (f->app_kind != APP_FIX && f->app_kind != APP_SOUP) return;
    struct tcp_app *a = &t->apps[f->app];
    for (int d = 0; d < 2; d++) {
        struct fix_ctx c = {t, f, a, d};
        struct stream_cfg sc;
        stream_cfg_for(t, &c, &sc);
        stream_finish(&a->dir[d], &sc, f->last_ts_ns);
    }
    app_free(t, f->app);
    f->app_kind = APP_UNKNOWN;
}

/* ---------------------------------------------------------------------------------------- */
/* market data: sequencing and A/B arbitration */

static struct trading_session_stats *md_stats(struct trading *t, const struct md_session *s)
{
    return s->stats == TRADING_NONE ? t->scratch : &t->st->sessions[s->stats];
}

static void md_event(struct trading *t, struct md_session *s, enum event_type type, int feed,
                     uint64_t first, uint64_t count, uint64_t ts_ns)
{
    struct event *e = ev_new(t, type, &s->last_key, s->last_flow_id, 0, ts_ns);
    if (!e) return;
    memset(&e->u.md, 0, sizeof(e->u.md));
    memcpy(e->u.md.session, s->name, sizeof(e->u.md.session));
    if (feed >= 0)
        snprintf(e->u.md.feed, sizeof(e->u.md.feed), "%s", md_stats(t, s)->feed[feed].name);
    e->u.md.first_seq = first;
    e->u.md.count = count;
    e->u.md.proto = s->kind;
    e->u.md.nfeeds = (uint8_t)s->nfeeds;
    t->emit.commit(t->emit.ctx);
}

/* Messages no feed delivered within the arbitration window are lost: md.gap. */
static void md_hole_lost(struct trading *t, struct md_session *s, uint32_t i)
{
    struct md_hole *h = &s->holes[i];
    struct trading_session_stats *ss = md_stats(t, s);
    ss->md_gaps++;
    ss->md_lost += h->end - h->start;
    md_event(t, s, EV_MD_GAP, -1, h->start, h->end - h->start, h->since_ns);
    s->holes[i] = s->holes[--s->nholes];
}

static void md_expire(struct trading *t, struct md_session *s, uint64_t now_ns)
{
    for (uint32_t i = 0; i < s->nholes;) {
        if (now_ns > s->holes[i].since_ns + t->cfg->arbitration_window_ns)
            md_hole_lost(t, s, i);
        else
            i++;
    }
}

static void md_hole_add(struct trading *t, struct md_session *s, uint64_t start, uint64_t end,
                        uint64_t ts_ns)
{
    if (s->nholes == MD_HOLES_MAX) { /* too many open at once: the oldest is given up */
        uint32_t old = 0;
        for (uint32_t i = 1; i < s->nholes; i++)
            if (s->holes[i].since_ns < s->holes[old].since_ns) old = i;
        md_hole_lost(t, s, old);
    }
    struct md_hole *h = &s->holes[s->nholes++];
    h->start = start;
    h->end = end;
    h->since_ns = ts_ns;
}

/* Removes [start, end) from the open holes; returns 1 when it filled any of them. */
static int md_holes_fill(struct trading *t, struct md_session *s, uint64_t start, uint64_t end)
{
    int filled = 0;
    for (uint32_t i = 0; i < s->nholes; i++) {
        struct md_hole h = s->holes[i];
        if (end <= h.start || start >= h.end) continue;
        filled = 1;
        if (start > h.start && end < h.end) { /* split in two */
            s->holes[i].end = start;
            md_hole_add(t, s, end, h.end, h.since_ns);
        } else if (start > h.start) {
            s->holes[i].end = start;
        } else if (end < h.end) {
            s->holes[i].start = end;
        } else {
            s->holes[i] = s->holes[--s->nholes];
            i--;
        }
    }
    return filled;
}

/* One packet of feed fi carrying messages [seq, seq+n) (n = 0: heartbeat announcing seq as
 * the next). Returns 1 when it brought messages no feed had delivered before. */
static int md_sequence(struct trading *t, struct md_session *s, int fi, uint64_t seq, uint64_t n,
                       uint64_t ts_ns)
{
    struct md_feed *fd = &s->feed[fi];
    struct trading_session_stats *ss = md_stats(t, s);
    struct md_feed_stats *fs = &ss->feed[fi];
    uint64_t end = seq + n;
    int paired = s->pair >= 0 || s->nfeeds >= 2;
    md_expire(t, s, ts_ns);
    if (!s->started) {
        s->merged_next = seq;
        s->started = 1;
    }
    if (!fd->started) {
        fd->next = seq;
        fd->started = 1;
    }
    /* this feed on its own */
    if (seq > fd->next) {
        uint64_t lost = seq - fd->next;
        fs->gaps++;
        fs->lost += lost;
        if (paired) md_event(t, s, EV_MD_ARBITRATION_LOSS, fi, fd->next, lost, ts_ns);
    } else if (seq < fd->next && n) {
        uint64_t dup = (end < fd->next ? end : fd->next) - seq;
        fs->duplicates += dup;
        ss->md_duplicates += dup;
        md_event(t, s, EV_MD_DUPLICATE, fi, seq, dup, ts_ns);
    }
    uint64_t reach = n ? end : seq;
    if (reach > fd->next) fd->next = reach;
    /* the session, whichever feed delivers */
    int fresh = 0;
    if (seq > s->merged_next) md_hole_add(t, s, s->merged_next, seq, ts_ns);
    if (n) {
        fresh = md_holes_fill(t, s, seq, end) || end > s->merged_next;
        /* how far the later copy trails the earlier one */
        struct md_recent *r = &s->recent[seq % MD_RECENT];
        uint8_t bit = (uint8_t)(1u << fi);
        if (r->seq == seq && r->feeds && !(r->feeds & bit)) {
            uint64_t skew = ts_ns >= r->ts_ns ? ts_ns - r->ts_ns : 0;
            hist_add(&ss->skew, skew);
            fs->trailed++;
            if (skew > fs->trail_max_ns) fs->trail_max_ns = skew;
            r->feeds |= bit;
        } else if (r->seq != seq || !r->feeds) {
            r->seq = seq;
            r->ts_ns = ts_ns;
            r->feeds = bit;
        }
    }
    if (reach > s->merged_next) s->merged_next = reach;
    return fresh;
}

static void addr_port_str(const uint8_t addr[16], int family, uint16_t port, char *buf, size_t len)
{
    char a[64];
    if (family == 4)
        snprintf(a, sizeof(a), "%u.%u.%u.%u", addr[12], addr[13], addr[14], addr[15]);
    else
        snprintf(a, sizeof(a), "[%02x%02x:%02x%02x:...:%02x%02x]", addr[0], addr[1], addr[2],
                 addr[3], addr[14], addr[15]);
    snprintf(buf, len, "%s:%u", a, port);
}

static struct md_session *md_session_get(struct trading *t, uint64_t key, enum trading_kind kind,
                                         const char *name, int pair)
{
    uint32_t n = t->cfg->md_sessions;
    uint32_t i0 = (uint32_t)(key % n);
    for (uint32_t k = 0; k < n; k++) {
        struct md_session *s = &t->md[(i0 + k) % n];
        if (s->used && s->key == key) return s;
        if (!s->used) {
            memset(s, 0, offsetof(struct md_session, recent));
            memset(s->recent, 0, sizeof(s->recent));
            s->used = 1;
            s->key = key;
            s->kind = (uint8_t)kind;
            s->pair = (int8_t)pair;
            snprintf(s->name, sizeof(s->name), "%s", name);
            char sname[80];
            if (pair >= 0 && kind == TK_MOLD) /* a pair may carry several sessions */
                snprintf(sname, sizeof(sname), "%s/%s", t->cfg->pairs[pair].name, name);
            else
                snprintf(sname, sizeof(sname), "%s", name);
            s->stats = trading_session_get(t->st, key, kind, sname);
            if (pair >= 0) s->nfeeds = 2;
            return s;
        }
    }
    t->counters[TT_C_TRADING_SESSIONS_FULL]++;
    return NULL;
}

/* The feed of this packet within the session: its configured side, else its arrival rank. */
static int md_feed_of(struct trading *t, struct md_session *s, const struct packet *pkt, int side)
{
    int fi = -1;
    for (int i = 0; i < MD_FEEDS_MAX; i++)
        if (s->feed[i].used && s->feed[i].port == pkt->key.dport &&
            !memcmp(s->feed[i].addr, pkt->key.dst, 16))
            return i;
    if (side >= 0 && !s->feed[side].used) {
        fi = side;
    } else {
        for (int i = 0; i < MD_FEEDS_MAX && fi < 0; i++)
            if (!s->feed[i].used) fi = i;
        if (fi < 0) { /* more feeds than tracked: the last slot takes them, counted */
            t->counters[TT_C_TRADING_FEEDS_FULL]++;
            return MD_FEEDS_MAX - 1;
        }
    }
    struct md_feed *fd = &s->feed[fi];
    fd->used = 1;
    fd->family = pkt->key.family;
    fd->port = pkt->key.dport;
    memcpy(fd->addr, pkt->key.dst, 16);
    if ((uint32_t)fi + 1 > s->nfeeds) s->nfeeds = (uint32_t)fi + 1;
    struct trading_session_stats *ss = md_stats(t, s);
    char ap[96];
    addr_port_str(fd->addr, fd->family, fd->port, ap, sizeof(ap));
    snprintf(ss->feed[fi].name, sizeof(ss->feed[fi].name), "%c %s", 'A' + fi, ap);
    if ((uint32_t)fi + 1 > ss->nfeeds) ss->nfeeds = (uint32_t)fi + 1;
    return fi;
}

/* Printable session name: MoldUDP64 sessions are 10 ASCII characters, padded with spaces. */
static void session_name(const uint8_t *raw, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 3 < cap; i++) {
        if (raw[i] >= 0x21 && raw[i] < 0x7f)
            out[n++] = (char)raw[i];
        else if (raw[i] != ' ')
            n += (size_t)snprintf(out + n, cap - n, "%02x", raw[i]);
    }
    out[n] = 0;
}

/* Nanoseconds since midnight in the exchange's time zone (the process TZ, set at start). */
static uint64_t local_midnight_ns(struct trading *t, uint64_t ts_ns)
{
    if (ts_ns >= t->day_start_ns && ts_ns < t->day_end_ns) return t->day_start_ns;
    time_t secs = (time_t)(ts_ns / 1000000000ull);
    struct tm tm;
    localtime_r(&secs, &tm);
    uint64_t since = (uint64_t)tm.tm_hour * 3600 + (uint64_t)tm.tm_min * 60 + (uint64_t)tm.tm_sec;
    t->day_start_ns = ((uint64_t)secs - since) * 1000000000ull;
    /* valid until the next full hour: a daylight-saving change moves midnight */
    t->day_end_ns = ((uint64_t)secs - (uint64_t)secs % 3600 + 3600) * 1000000000ull;
    return t->day_start_ns;
}

static void md_touch(struct md_session *s, const struct flow *f)
{
    s->last_key = f->key;
    s->last_flow_id = f->id;
}

/* The flow's session and feed: cached in the flow after the first packet (a flow is one
 * group:port, so its pair and feed never change; its session may, and is checked). */
static struct md_session *md_cached(struct trading *t, const struct flow *f, enum trading_kind kind,
                                    const uint8_t *raw)
{
    if (f->app == TRADING_NONE || f->app >= t->cfg->md_sessions) return NULL;
    struct md_session *s = &t->md[f->app];
    if (!s->used || s->kind != kind || (raw && memcmp(s->raw, raw, sizeof(s->raw)))) return NULL;
    return s;
}

static void md_remember(struct trading *t, struct flow *f, const struct md_session *s, int fi)
{
    f->app = (uint32_t)(s - t->md);
    f->app_feed = (uint8_t)fi;
}

static void md_mold(struct trading *t, struct flow *f, const struct packet *pkt)
{
    struct mold_packet mp;
    if (mold_parse(pkt->payload, pkt->payload_len, &mp)) {
        t->counters[TT_C_MOLD_INVALID]++;
        return;
    }
    t->st->mold_packets++;
    struct md_session *s = md_cached(t, f, TK_MOLD, mp.session);
    int fi;
    if (s) {
        fi = f->app_feed;
    } else {
        int side = -1;
        int pair = trading_pair_of(t->cfg, pkt->key.dst, pkt->key.dport, &side);
        char name[24];
        session_name(mp.session, sizeof(mp.session), name, sizeof(name));
        uint64_t key =
            XXH3_64bits_withSeed(mp.session, sizeof(mp.session), (uint64_t)(pair + 1)) ^ TK_MOLD;
        s = md_session_get(t, key, TK_MOLD, name, pair);
        if (!s) return;
        memcpy(s->raw, mp.session, sizeof(s->raw));
        fi = md_feed_of(t, s, pkt, side);
        md_remember(t, f, s, fi);
    }
    md_touch(s, f);
    struct trading_session_stats *ss = md_stats(t, s);
    struct md_feed_stats *fs = &ss->feed[fi];
    fs->packets++;
    uint64_t n = 0;
    if (mp.count == 0) {
        fs->heartbeats++;
        t->st->mold_heartbeats++;
    } else if (mp.count == MOLD_END_OF_SESSION) {
        ss->end_of_session++;
    } else {
        n = mp.count;
    }
    int fresh = md_sequence(t, s, fi, mp.seq, n, pkt->ts_ns);
    fs->messages += n;
    if (!n) return;
    t->st->mold_messages += n;
    uint64_t midnight = fresh ? local_midnight_ns(t, pkt->ts_ns) : 0;
    size_t off = 0;
    const uint8_t *m;
    size_t ml;
    while (mold_next_message(&mp, &off, &m, &ml) == 1) {
        t->st->itch_types[m[0]]++; /* every copy, as tshark counts them */
        if (itch_message_length(m[0]) != ml) {
            t->counters[TT_C_ITCH_BAD_LENGTH]++;
            continue;
        }
        if (!fresh) /* the other feed's copy was timed already */
            continue;
        int64_t its = itch_timestamp(m, ml);
        uint64_t local = pkt->ts_ns - midnight;
        if (its < 0 || (uint64_t)its > local) {
            ss->latency_negative++;
            continue;
        }
        hist_add(&ss->latency, local - (uint64_t)its);
        hist_add(&t->st->itch_latency, local - (uint64_t)its);
    }
}

static void md_mdp3(struct trading *t, struct flow *f, const struct packet *pkt)
{
    struct mdp3_packet dp;
    if (mdp3_parse(pkt->payload, pkt->payload_len, &dp)) {
        t->counters[TT_C_MDP3_INVALID]++;
        return;
    }
    t->st->mdp3_packets++;
    struct md_session *s = md_cached(t, f, TK_MDP3, NULL);
    int fi;
    if (s) {
        fi = f->app_feed;
    } else {
        int side = -1;
        int pair = trading_pair_of(t->cfg, pkt->key.dst, pkt->key.dport, &side);
        char name[64];
        uint64_t key;
        if (pair >= 0) {
            snprintf(name, sizeof(name), "%s", t->cfg->pairs[pair].name);
            key = (uint64_t)(pair + 1) * 0x9e3779b97f4a7c15ull ^ TK_MDP3;
        } else {
            addr_port_str(pkt->key.dst, pkt->key.family, pkt->key.dport, name, sizeof(name));
            key = XXH3_64bits_withSeed(pkt->key.dst, 16, pkt->key.dport) ^ TK_MDP3;
        }
        s = md_session_get(t, key, TK_MDP3, name, pair);
        if (!s) return;
        fi = md_feed_of(t, s, pkt, side);
        md_remember(t, f, s, fi);
    }
    md_touch(s, f);
    struct trading_session_stats *ss = md_stats(t, s);
    ss->feed[fi].packets++;
    int fresh = md_sequence(t, s, fi, dp.seq, 1, pkt->ts_ns);
    size_t off = 0;
    uint16_t tid;
    uint64_t msgs = 0;
    while (mdp3_next_message(&dp, &off, &tid) == 1) {
        msgs++;
        if (tid < 256)
            t->st->mdp3_templates[tid]++;
        else
            t->st->mdp3_templates_other++;
    }
    ss->feed[fi].messages += msgs;
    t->st->mdp3_messages += msgs;
    if (!fresh) return;
    if (pkt->ts_ns < dp.sending_time) {
        ss->latency_negative++;
        return;
    }
    hist_add(&ss->latency, pkt->ts_ns - dp.sending_time);
    hist_add(&t->st->mdp3_latency, pkt->ts_ns - dp.sending_time);
}

void trading_udp(struct trading *t, struct flow *f, int dir, const struct packet *pkt)
{
    (void)dir;
    if (f->app_kind == APP_NONE || !t->cfg->enabled || !pkt->has_l4 || !pkt->payload_len) return;
    if (f->app_kind == APP_UNKNOWN) {
        const struct trading_config *c = t->cfg;
        uint16_t dport = pkt->key.dport;
        struct mold_packet mp;
        struct mdp3_packet dp;
        if (port_in(c->mold_ports, dport) ||
            (c->detect && !mold_parse(pkt->payload, pkt->payload_len, &mp) && mp.count &&
             mp.count != MOLD_END_OF_SESSION && itch_plausible(&mp)))
            f->app_kind = APP_MOLD;
        else if (port_in(c->mdp3_ports, dport) ||
                 (c->detect && !mdp3_parse(pkt->payload, pkt->payload_len, &dp)))
            f->app_kind = APP_MDP3;
        else if (++f->app_tries >= 4)
            f->app_kind = APP_NONE;
        if (f->app_kind == APP_UNKNOWN || f->app_kind == APP_NONE) return;
        f->app = TRADING_NONE; /* no session cached yet */
    }
    if (f->app_kind == APP_MOLD)
        md_mold(t, f, pkt);
    else if (f->app_kind == APP_MDP3)
        md_mdp3(t, f, pkt);
}

void trading_housekeep(struct trading *t, uint64_t now_ns)
{
    if (!t->md) return;
    for (uint32_t i = 0; i < t->cfg->md_sessions; i++)
        if (t->md[i].used && t->md[i].nholes) md_expire(t, &t->md[i], now_ns);
}

void trading_flush(struct trading *t, uint64_t now_ns)
{
    (void)now_ns;
    if (!t->md) return;
    for (uint32_t i = 0; i < t->cfg->md_sessions; i++)
        while (t->md[i].used && t->md[i].nholes)
            md_hole_lost(t, &t->md[i], 0);
    for (uint32_t i = 0; i <= t->orders_mask; i++) {
        struct pending_order *o = &t->orders[i];
        if (!o->key) continue;
        (o->stats == TRADING_NONE ? t->scratch : &t->st->sessions[o->stats])->unanswered++;
        o->key = 0;
    }
}

void trading_set_timezone(const struct trading_config *cfg)
{
    if (cfg->itch_timezone[0]) {
        setenv("TZ", cfg->itch_timezone, 1);
        tzset();
    }
}

int trading_init(struct trading *t, const struct trading_config *cfg, struct trading_stats *st,
                 uint64_t *counters, const struct trading_emit *emit)
{
    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
    t->st = st;
    t->counters = counters;
    t->emit = *emit;
    t->free_app = TRADING_NONE;
    if (!cfg->enabled) return 0;
    uint32_t orders = 64;
    while (orders < cfg->pending_orders)
        orders <<= 1;
    t->orders_mask = orders - 1;
    /* calloc'd pages stay untouched (not resident) until sessions use them */
    t->apps = calloc(cfg->max_sessions, sizeof(*t->apps));
    t->bufs = calloc(cfg->max_sessions, 2 * (size_t)cfg->stream_buffer);
    t->md = calloc(cfg->md_sessions, sizeof(*t->md));
    t->orders = calloc(orders, sizeof(*t->orders));
    t->scratch = calloc(1, sizeof(*t->scratch));
    if (!t->apps || !t->bufs || !t->md || !t->orders || !t->scratch) {
        trading_fini(t);
        return -ENOMEM;
    }
    for (uint32_t i = cfg->max_sessions; i-- > 0;)
        app_free(t, i);
    return 0;
}

void trading_fini(struct trading *t)
{
    free(t->apps);
    free(t->bufs);
    free(t->md);
    free(t->orders);
    free(t->scratch);
    t->apps = NULL;
    t->bufs = NULL;
    t->md = NULL;
    t->orders = NULL;
    t->scratch = NULL;
}
