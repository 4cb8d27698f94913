/* fix_session.c - FIX sessions (CompIDs, MsgSeqNum gaps, resends, rejects, heartbeats) and
 * orders (D/F/G to their first ExecutionReport or OrderCancelReject) over reassembled TCP. */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "../decode/decode.h"
#include "../flow/flow_table.h"
#include "fix.h"
#include "trading_internal.h"

static void copy_str(const struct trading *t, char *dst, size_t cap, uint32_t tag,
                     const struct fix_msg *m, struct fix_str s)
{
    trading_copy_field(t, dst, cap, tag, fix_at(m, s), s.len);
}

static uint64_t order_key(uint64_t flow_id, const struct fix_msg *m)
{
    uint64_t k = XXH3_64bits_withSeed(fix_at(m, m->clordid), m->clordid.len, flow_id);
    return k ? k : 1;
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
    copy_str(t, a->comp[0], sizeof(a->comp[0]), 49, m, *ini);
    copy_str(t, a->comp[1], sizeof(a->comp[1]), 56, m, *acc);
    char name[80];
    snprintf(name, sizeof(name), "%s-%s", a->comp[0], a->comp[1]);
    a->stats = trading_session_get(t->st, XXH3_64bits(name, strlen(name)) ^ TK_FIX, TK_FIX, name);
}

static struct event *fix_event(struct tcp_ctx *c, enum event_type type, const struct fix_msg *m,
                               uint64_t ts_ns)
{
    struct event *e = trading_event_new(c->t, type, &c->f->key, c->f->id, c->dir, ts_ns);
    if (!e) return NULL;
    memset(&e->u.fix, 0, sizeof(e->u.fix));
    memcpy(e->u.fix.sender, c->a->comp[0], sizeof(e->u.fix.sender));
    memcpy(e->u.fix.target, c->a->comp[1], sizeof(e->u.fix.target));
    e->u.fix.seq = m->seq;
    e->u.fix.from_initiator = c->dir == c->a->initiator_dir;
    e->u.fix.reason = -1;
    copy_str(c->t, e->u.fix.msg_type, sizeof(e->u.fix.msg_type), 35, m, m->msg_type);
    copy_str(c->t, e->u.fix.ref_msg_type, sizeof(e->u.fix.ref_msg_type), 372, m, m->ref_msg_type);
    copy_str(c->t, e->u.fix.clordid, sizeof(e->u.fix.clordid), 11, m, m->clordid);
    copy_str(c->t, e->u.fix.orig_clordid, sizeof(e->u.fix.orig_clordid), 41, m, m->orig_clordid);
    copy_str(c->t, e->u.fix.order_id, sizeof(e->u.fix.order_id), 37, m, m->order_id);
    copy_str(c->t, e->u.fix.symbol, sizeof(e->u.fix.symbol), 55, m, m->symbol);
    copy_str(c->t, e->u.fix.text, sizeof(e->u.fix.text), 58, m, m->text);
    e->u.fix.text_redacted = m->text.len && trading_tag_redacted(c->t->cfg, 58);
    return e;
}

/* Emits a FIX event with its type's numbers (unused ones 0, reason -1 when none). */
static void fix_emit(struct tcp_ctx *c, enum event_type type, const struct fix_msg *m,
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

static void fix_heartbeat_missed(struct tcp_ctx *c, const struct fix_msg *m, int silent_dir,
                                 uint64_t silence_ns, int kind, uint64_t ts_ns)
{
    trading_app_stats(c->t, c->a)->heartbeats_missed++;
    struct event *e = fix_event(c, EV_FIX_HEARTBEAT_MISSED, m, ts_ns);
    if (!e) return;
    e->u.fix.silence_ns = silence_ns;
    e->u.fix.heartbt_int = c->a->side[silent_dir].heartbt_int;
    e->u.fix.kind = (uint8_t)kind;
    /* the event is about the silent side */
    e->u.fix.from_initiator = silent_dir == c->a->initiator_dir;
    c->t->emit.commit(c->t->emit.ctx);
}

static void fix_check_seq(struct tcp_ctx *c, struct fix_side *sd, const struct fix_msg *m,
                          uint64_t ts_ns)
{
    struct trading_session_stats *ss = trading_app_stats(c->t, c->a);
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

static void fix_sequence(struct tcp_ctx *c, struct fix_side *sd, const struct fix_msg *m,
                         uint64_t ts_ns)
{
    struct trading_session_stats *ss = trading_app_stats(c->t, c->a);
    if (!m->has_seq) return;
    char type = fix_type1(m);
    if (type == 'A' && m->reset_seq)
        sd->next_seq = 0; /* ResetSeqNumFlag: numbering starts again here */
    if (type == '4') {
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

static void fix_application(struct tcp_ctx *c, const struct fix_msg *m, uint64_t ts_ns)
{
    struct trading *t = c->t;
    struct trading_session_stats *ss = trading_app_stats(t, c->a);
    char type = fix_type1(m);
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
        if (m->clordid.len) trading_order_answered(t, order_key(c->f->id, m), ts_ns);
        return;
    case 'j':
        ss->business_rejects++;
        fix_emit(c, EV_FIX_BUSINESS_REJECT, m, ts_ns, 0, 0, m->ref_seq, m->biz_rej_reason, 0);
        return;
    default:
        return;
    }
    ss->orders[pair]++;
    if (m->clordid.len) trading_order_add(t, order_key(c->f->id, m), ts_ns, c->a->stats, pair);
}

static void fix_session_message(struct tcp_ctx *c, const struct fix_msg *m, uint64_t ts_ns)
{
    struct trading *t = c->t;
    struct trading_session_stats *ss = trading_app_stats(t, c->a);
    struct fix_side *sd = &c->a->side[c->dir];
    struct fix_side *other = &c->a->side[!c->dir];
    char type = fix_type1(m);
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

static void fix_message(struct tcp_ctx *c, const uint8_t *msg, size_t len, uint64_t ts_ns)
{
    struct trading *t = c->t;
    struct fix_msg m;
    fix_parse(msg, len, &m); /* a malformed field ends the walk; what came before is used */
    t->st->fix_messages++;
    trading_count_fix_type(t->st, fix_at(&m, m.msg_type), m.msg_type.len);
    fix_name_session(t, c->a, c->dir, &m);
    struct trading_session_stats *ss = trading_app_stats(t, c->a);
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
size_t fix_deliver(void *ctx, const uint8_t *data, size_t len, int after_hole, uint64_t ts_ns)
{
    struct tcp_ctx *c = ctx;
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
            trading_app_stats(t, c->a)->bad_checksum++;
        } else {
            fix_message(c, data + off, ml, ts_ns);
        }
        off += ml;
    }
    return off;
}
