/* tcp_analysis.c - Wireshark-compatible TCP sequence analysis, handshake and ACK RTT.
 *
 * The order of the checks matters and is Wireshark's (epan/dissectors/packet-tcp.c,
 * tcp_analyze_sequence_number, and the User's Guide "TCP Analysis" section): zero-window
 * probe, zero window, lost segment, keep-alive, window update, window full, keep-alive ACK,
 * zero-window-probe ACK, duplicate ACK, ACKed unseen segment, then spurious / fast /
 * out-of-order / plain retransmission. A few quirks are kept on purpose so that counts agree
 * with tshark packet for packet: a sequence number or ACK of 0 reads as "not seen yet", and
 * the window is compared raw (unscaled) except where Wireshark scales it.
 */
#include "tcp_analysis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../decode/decode.h"
#include "../util/table_mem.h"

#define LT_SEQ(a, b) ((int32_t)((a) - (b)) < 0)
#define GT_SEQ(a, b) ((int32_t)((b) - (a)) < 0)
#define LE_SEQ(a, b) ((int32_t)((a) - (b)) <= 0)

enum { S_BASE_SEQ_SET = 1, S_SAW_SYN = 2, S_SAW_SYNACK = 4 };

/* Out-of-order threshold before the handshake RTT is known (Wireshark's 3 ms). */
#define OOO_DEFAULT_NS 3000000ull
/* A fast retransmission follows the duplicate ACKs within 20 ms. */
#define FAST_RETRANS_WINDOW_NS 20000000ull
/* A direction's duplicate-ACK count after an ACK of its unseen data was reported: no second
 * report until it ACKs again. Wireshark stores -1 in an unsigned counter, so the latched count
 * also reads as "two or more duplicate ACKs" to the fast-retransmission check (tshark 4.0 calls
 * a FIN resent after such an ACK a fast retransmission); keeping it the largest value does too. */
#define TCP_DUPACK_LATCHED UINT16_MAX

static const char *const analysis_names[TA_BIT_MAX] = {
#define TT_X(id, name) [TA_BIT_##id] = name,
    TCP_ANALYSIS_LIST(TT_X)
#undef TT_X
};

const char *tcp_analysis_name(enum tcp_analysis_bit b)
{
    return (unsigned)b < TA_BIT_MAX ? analysis_names[b] : "unknown";
}

const char *tcp_state_name(enum tcp_state s)
{
    static const char *const names[] = {"none",        "syn_sent",  "syn_received",
                                        "established", "midstream", "fin_wait",
                                        "closed",      "reset"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

int tcp_seg_pool_init(struct tcp_seg_pool *p, uint32_t cap, uint32_t per_dir_max)
{
    memset(p, 0, sizeof(*p));
    p->free_head = TCP_NIL;
    p->per_dir_max = per_dir_max;
    if (cap == 0)
        return 0;
    p->segs = table_malloc(cap, sizeof(*p->segs));
    if (!p->segs)
        return -ENOMEM;
    p->cap = cap;
    p->never_used = 0; /* handed out upwards first: pages are touched only when used */
    return 0;
}

void tcp_seg_pool_fini(struct tcp_seg_pool *p)
{
    table_release(p->segs);
    memset(p, 0, sizeof(*p));
}

void tcp_seg_pool_reset(struct tcp_seg_pool *p)
{
    p->free_head = TCP_NIL;
    p->never_used = 0;
    p->exhausted = 0;
}

void tcp_conv_init(struct tcp_conv *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < 2; i++) {
        c->dir[i].unacked_head = TCP_NIL;
        c->dir[i].win_scale = -1;
    }
}

void tcp_conv_resume(struct tcp_conv *c, const struct tcp_conv *ended, int reversed)
{
    tcp_conv_init(c);
    for (int i = 0; i < 2; i++) {
        const struct tcp_dir *from = &ended->dir[reversed ? !i : i];
        struct tcp_dir *to = &c->dir[i];
        to->base_seq = from->base_seq;
        to->nextseq = from->nextseq;
        to->maxseqtobeacked = from->maxseqtobeacked;
        to->lastack = from->lastack;
        to->nextseq_ts = from->nextseq_ts;
        to->lastack_ts = from->lastack_ts;
        to->window = from->window;
        to->win_scale = from->win_scale;
        to->dupacknum = from->dupacknum;
        to->lastsegmentflags = from->lastsegmentflags;
        to->static_flags = from->static_flags;
        to->window_from_syn = from->window_from_syn;
    }
    /* The handshake RTT sets the out-of-order threshold; the new record saw no handshake, so
     * it reports none (handshake_done stays 0, and a kept ts_first_rtt measures no other). */
    c->ts_mru_syn = ended->ts_mru_syn;
    c->ts_first_rtt = ended->ts_first_rtt;
}

static void seg_free_list(struct tcp_seg_pool *pool, struct tcp_dir *d)
{
    uint32_t i = d->unacked_head;
    while (i != TCP_NIL) {
        uint32_t next = pool->segs[i].next;
        pool->segs[i].next = pool->free_head;
        pool->free_head = i;
        i = next;
    }
    d->unacked_head = TCP_NIL;
    d->unacked_count = 0;
}

void tcp_conv_release(struct tcp_conv *c, struct tcp_seg_pool *pool)
{
    seg_free_list(pool, &c->dir[0]);
    seg_free_list(pool, &c->dir[1]);
}

int tcp_is_port_reuse(const struct tcp_conv *c, int dir, const struct packet *pkt)
{
    const struct tcp_dir *fwd = &c->dir[dir];
    return (pkt->tcp.flags & (TH_SYN | TH_ACK)) == TH_SYN && (fwd->static_flags & S_BASE_SEQ_SET) &&
           pkt->tcp.seq != fwd->base_seq;
}

/* Remembers a segment that carries sequence space, for the ACK RTT. */
static void seg_push(struct tcp_seg_pool *pool, struct tcp_dir *fwd, uint32_t seq,
                     uint32_t nextseq, uint64_t ts)
{
    if (fwd->unacked_count >= pool->per_dir_max)
        return; /* Wireshark also stops listing past its cap */
    uint32_t i = pool->free_head;
    if (i != TCP_NIL) {
        pool->free_head = pool->segs[i].next;
    } else if (pool->never_used < pool->cap) {
        i = pool->never_used++;
    } else {
        pool->exhausted++;
        return;
    }
    pool->segs[i].seq = seq;
    pool->segs[i].nextseq = nextseq;
    pool->segs[i].ts_ns = ts;
    pool->segs[i].next = fwd->unacked_head;
    fwd->unacked_head = i;
    fwd->unacked_count++;
}

/* Drops segments of rev that ack covers; returns the RTT of the oldest exactly-ACKed one. */
static uint64_t seg_ack(struct tcp_seg_pool *pool, struct tcp_dir *rev, uint32_t ack, uint64_t ts)
{
    uint64_t rtt = 0;
    uint32_t prev = TCP_NIL, i = rev->unacked_head;
    while (i != TCP_NIL) {
        struct tcp_seg *s = &pool->segs[i];
        if (ack == s->nextseq) {
            rtt = ts >= s->ts_ns ? ts - s->ts_ns : 0;
        } else if (GT_SEQ(ack, s->seq) && LE_SEQ(ack, s->nextseq)) {
            s->seq = ack; /* partly ACKed: keep the rest */
            prev = i;
            i = s->next;
            continue;
        } else if (GT_SEQ(s->nextseq, ack)) {
            prev = i;
            i = s->next;
            continue;
        }
        uint32_t next = s->next;
        if (prev == TCP_NIL)
            rev->unacked_head = next;
        else
            pool->segs[prev].next = next;
        s->next = pool->free_head;
        pool->free_head = i;
        rev->unacked_count--;
        i = next;
    }
    return rtt;
}

/* Window scaling as the SYNs negotiated it (RFC 7323: both SYNs must carry the option). */
static void learn_window_scale(struct tcp_dir *fwd, struct tcp_dir *rev, const struct tcp_info *t)
{
    if (!(t->flags & TH_SYN))
        return;
    int synack = (t->flags & TH_ACK) != 0;
    if (t->wscale >= 0)
        fwd->win_scale = t->wscale;
    if (fwd->win_scale == -1) {
        fwd->win_scale = -2;
        rev->win_scale = -2;
    } else if (synack && rev->win_scale == -2) {
        fwd->win_scale = -2;
    }
}

static void update_state(struct tcp_conv *c, int dir, const struct tcp_info *t, uint64_t ts,
                         struct tcp_result *res)
{
    struct tcp_dir *fwd = &c->dir[dir], *rev = &c->dir[!dir];
    uint16_t f = t->flags;
    if (f & TH_SYN) {
        fwd->syn_count++;
        if (!fwd->syn_ts)
            fwd->syn_ts = ts;
        if (!(f & TH_ACK)) {
            if (c->state == TCP_ST_NONE)
                c->state = TCP_ST_SYN_SENT;
        } else {
            if (!c->synack_ts)
                c->synack_ts = ts;
            if (c->state == TCP_ST_SYN_SENT || c->state == TCP_ST_NONE)
                c->state = TCP_ST_SYN_RECEIVED;
        }
    } else if (c->state == TCP_ST_NONE) {
        c->state = TCP_ST_MIDSTREAM;
    } else if ((f & TH_ACK) && c->state == TCP_ST_SYN_RECEIVED) {
        c->state = TCP_ST_ESTABLISHED;
    }
    if (f & TH_RST) {
        /* A RST from the side that never sent a SYN, while no SYN/ACK was seen: refused. */
        if (!c->synack_ts && rev->syn_count > 0 && fwd->syn_count == 0 && !c->rejected) {
            c->rejected = 1;
            res->syn_rejected = 1;
        }
        fwd->rst_seen = 1;
        if (c->state != TCP_ST_RESET) {
            c->state = TCP_ST_RESET;
            res->closed = 1;
        }
    } else if (f & TH_FIN) {
        fwd->fin_seen = 1;
        if (c->state != TCP_ST_RESET && c->state != TCP_ST_CLOSED) {
            c->state = rev->fin_seen ? TCP_ST_CLOSED : TCP_ST_FIN_WAIT;
            if (c->state == TCP_ST_CLOSED)
                res->closed = 1;
        }
    }
}

void tcp_analyze(struct tcp_conv *c, struct tcp_seg_pool *pool, int dir, const struct packet *pkt,
                 struct tcp_result *res)
{
    const struct tcp_info *t = &pkt->tcp;
    struct tcp_dir *fwd = &c->dir[dir], *rev = &c->dir[!dir];
    const uint32_t seq = t->seq, ack = t->ack, seglen = t->seglen, window = t->window;
    const uint16_t flags = t->flags;
    const uint64_t ts = pkt->ts_ns;
    uint32_t ta = 0;

    memset(res, 0, sizeof(*res));

    if (!(fwd->static_flags & S_BASE_SEQ_SET)) {
        if (flags & TH_SYN) {
            fwd->base_seq = seq;
            fwd->static_flags |= (flags & TH_ACK) ? S_SAW_SYNACK : S_SAW_SYN;
        } else {
            fwd->base_seq = seq - 1;
        }
        fwd->static_flags |= S_BASE_SEQ_SET;
    }
    if (!(rev->static_flags & S_BASE_SEQ_SET) && (flags & TH_ACK)) {
        rev->base_seq = ack - 1;
        rev->static_flags |= S_BASE_SEQ_SET;
    }

    const int no_syn_fin_rst = (flags & (TH_SYN | TH_FIN | TH_RST)) == 0;

    /* Zero-window probe: exactly one byte at the next expected sequence number while the
     * receiver advertises a zero window. Nothing else applies to it. */
    if (seglen == 1 && seq == fwd->nextseq && rev->window == 0) {
        ta |= TA(ZERO_WINDOW_PROBE);
        goto finished_fwd;
    }
    if (window == 0 && no_syn_fin_rst)
        ta |= TA(ZERO_WINDOW);
    /* Lost segment: beyond the highest sequence number seen, so something was not captured. */
    if (fwd->nextseq && GT_SEQ(seq, fwd->nextseq) && !(flags & TH_RST)) ta |= TA(LOST_SEGMENT);
    /* Keep-alive: 0 or 1 byte starting one byte before the next expected sequence number. */
    if ((seglen == 0 || seglen == 1) && seq == fwd->nextseq - 1 && no_syn_fin_rst)
        ta |= TA(KEEP_ALIVE);
    /* Window update: an empty segment repeating SEQ/ACK with a new, non-zero window. */
    if (seglen == 0 && window && window != fwd->window && seq == fwd->nextseq &&
        ack == fwd->lastack && no_syn_fin_rst)
        ta |= TA(WINDOW_UPDATE);
    /* Window full: data reaching exactly the edge of the receiver's advertised window. */
    if (seglen > 0 && rev->win_scale != -1 && no_syn_fin_rst) {
        int shift = rev->window_from_syn ? 0 : (rev->win_scale == -2 ? 0 : rev->win_scale);
        if (seq + seglen == rev->lastack + ((uint32_t)rev->window << shift))
            ta |= TA(WINDOW_FULL);
    }
    if (seglen == 0 && window && window == fwd->window && seq == fwd->nextseq &&
        ack == fwd->lastack && (rev->lastsegmentflags & TA(KEEP_ALIVE)) && no_syn_fin_rst) {
        ta |= TA(KEEP_ALIVE_ACK);
        goto finished_fwd;
    }
    if (seglen == 0 && window == 0 && window == fwd->window && seq == fwd->nextseq &&
        ack == fwd->lastack && (rev->lastsegmentflags & TA(ZERO_WINDOW_PROBE)) &&
        no_syn_fin_rst) {
        ta |= TA(ZERO_WINDOW_PROBE_ACK);
        goto finished_fwd;
    }
    /* Duplicate ACK: an empty segment repeating window, SEQ and ACK. */
    if (seglen == 0 && window && window == fwd->window && seq == fwd->nextseq &&
        ack == fwd->lastack && no_syn_fin_rst) {
        if (fwd->dupacknum == TCP_DUPACK_LATCHED)
            fwd->dupacknum = 1;
        else if (fwd->dupacknum < TCP_DUPACK_LATCHED - 1)
            fwd->dupacknum++;
        ta |= TA(DUPLICATE_ACK);
        res->dupack_num = fwd->dupacknum;
    }

finished_fwd:
    if (ack != fwd->lastack)
        fwd->dupacknum = 0;

    /* ACKed unseen segment: the ACK covers data the capture never showed going the other way,
     * beyond the last byte seen without a gap before it (maxseqtobeacked). If the other way had
     * a gap, the mark moves to its highest byte and this ACK is reported. Otherwise the ACK is
     * beyond everything seen: reported once, then latched until the other way ACKs again (a
     * stalled direction otherwise draws a report on every ACK). Fitted packet for packet to
     * tshark 4.0 on the real captures of ../shared/captures/tcp. */
    if (rev->maxseqtobeacked && GT_SEQ(ack, rev->maxseqtobeacked) && (flags & TH_ACK)) {
        if (LT_SEQ(rev->maxseqtobeacked, rev->nextseq)) {
            rev->maxseqtobeacked = rev->nextseq;
            ta |= TA(ACK_LOST_SEGMENT);
        } else {
            if (rev->dupacknum == 0)
                ta |= TA(ACK_LOST_SEGMENT);
            rev->dupacknum = TCP_DUPACK_LATCHED;
        }
    }

    /* Retransmission family: the segment carries sequence space but does not advance it. */
    if (seglen > 0 || (flags & (TH_SYN | TH_FIN))) {
        int seq_not_advanced = fwd->nextseq && LT_SEQ(seq, fwd->nextseq);
        if (ta & TA(KEEP_ALIVE))
            goto finished_retrans;
        if (seglen > 1 && fwd->nextseq - 1 == seq)
            seq_not_advanced = 0;
        if (seglen > 0 && rev->lastack && LE_SEQ(seq + seglen, rev->lastack)) {
            ta |= TA(SPURIOUS_RETRANSMISSION);
            goto finished_retrans;
        }
        /* Fast retransmission supersedes out-of-order (tshark's default preference). */
        if (seq_not_advanced && rev->dupacknum >= 2 && rev->lastack == seq &&
            ts - rev->lastack_ts < FAST_RETRANS_WINDOW_NS) {
            ta |= TA(FAST_RETRANSMISSION);
            goto finished_retrans;
        }
        uint64_t ooo_thres = c->ts_first_rtt ? c->ts_first_rtt : OOO_DEFAULT_NS;
        if (seq_not_advanced && ts - fwd->nextseq_ts < ooo_thres &&
            fwd->nextseq != seq + seglen + ((flags & (TH_SYN | TH_FIN)) ? 1u : 0u)) {
            ta |= TA(OUT_OF_ORDER);
            goto finished_retrans;
        }
        if (seq_not_advanced)
            ta |= TA(RETRANSMISSION);
    }

finished_retrans:;
    uint32_t nextseq = seq + seglen;
    if (seglen || (flags & (TH_SYN | TH_FIN))) {
        if (flags & (TH_SYN | TH_FIN))
            nextseq += 1;
        seg_push(pool, fwd, seq, nextseq, ts);
    }
    /* A bare RST (no data, no FIN) does not move the expected sequence number: its sequence
     * number may be anything, and tshark 4.0 still sees the data that follows as new. */
    int bare_rst = (flags & (TH_RST | TH_FIN)) == TH_RST && seglen == 0;
    if ((GT_SEQ(nextseq, fwd->nextseq) || !fwd->nextseq) && !bare_rst) {
        if (!(ta & TA(ZERO_WINDOW_PROBE))) {
            fwd->nextseq = nextseq;
            fwd->nextseq_ts = ts;
        }
    }
    if (seq == fwd->maxseqtobeacked || !fwd->maxseqtobeacked) {
        if (!(ta & TA(ZERO_WINDOW_PROBE)))
            fwd->maxseqtobeacked = fwd->nextseq;
    }
    fwd->window = (uint16_t)window;
    fwd->window_from_syn = (flags & TH_SYN) != 0;
    fwd->lastack = ack;
    fwd->lastack_ts = ts;
    fwd->lastsegmentflags = ta;

    uint64_t rtt = seg_ack(pool, rev, ack, ts);
    if (rtt) {
        res->ack_rtt_ns = rtt;
        if (!rev->rtt_n || rtt < rev->rtt_min_ns)
            rev->rtt_min_ns = rtt;
        if (rtt > rev->rtt_max_ns)
            rev->rtt_max_ns = rtt;
        rev->rtt_n++;
    }

    /* Handshake timing: the latest SYN, then the first plain ACK after it. Measured after the
     * checks above, as Wireshark does: the ACK that completes the handshake is still judged
     * out-of-order against the default threshold. */
    if ((flags & (TH_SYN | TH_ACK)) == TH_SYN) c->ts_mru_syn = ts;
    if ((flags & (TH_SYN | TH_ACK)) == TH_ACK && c->ts_mru_syn && !c->ts_first_rtt &&
        ts > c->ts_mru_syn) {
        c->ts_first_rtt = ts - c->ts_mru_syn;
        if (c->synack_ts && !c->handshake_done && c->synack_ts >= c->ts_mru_syn) {
            c->handshake_done = 1;
            res->handshake_ns = c->ts_first_rtt;
            res->syn_synack_ns = c->synack_ts - c->ts_mru_syn;
        }
    }

    learn_window_scale(fwd, rev, t);
    update_state(c, dir, t, ts, res);
    res->flags = ta;
}
