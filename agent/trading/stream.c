/* stream.c - per-direction TCP reassembly into a fixed buffer (see stream.h).
 *
 * Buffer layout: buf[0..buf_len) holds in-order bytes the analyzer has not consumed yet (an
 * incomplete message); a held out-of-order range [start, end) sits at
 * buf[buf_len + (start - next_seq)], so delivering or dropping the head moves everything by
 * one memmove and the position rule keeps holding.
 */
#include "stream.h"

#include <string.h>

#include "../decode/decode.h"

static int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

void stream_init(struct stream_dir *s, uint8_t *buf, uint32_t cap)
{
    memset(s, 0, sizeof(*s));
    s->buf = buf;
    s->cap = cap;
}

/* Bytes of buf in use: the in-order head plus the held ranges up to the furthest one. */
static uint32_t held_extent(const struct stream_dir *s)
{
    uint32_t ext = s->buf_len;
    for (int i = 0; i < s->nooo; i++) {
        uint32_t e = s->buf_len + (s->ooo[i].end - s->next_seq);
        if (e > ext) ext = e;
    }
    return ext;
}

static void remove_range(struct stream_dir *s, int i)
{
    s->ooo[i] = s->ooo[--s->nooo];
}

/* Held ranges that now touch next_seq become in-order bytes (already in place). */
static void absorb_ranges(struct stream_dir *s, const struct stream_cfg *cfg)
{
    for (int i = 0; i < s->nooo;) {
        if (seq_diff(s->ooo[i].start, s->next_seq) > 0) {
            i++;
            continue;
        }
        int32_t add = seq_diff(s->ooo[i].end, s->next_seq);
        if (add > 0) {
            s->buf_len += (uint32_t)add;
            s->next_seq = s->ooo[i].end;
            cfg->ctr->bytes_delivered += (uint32_t)add;
        }
        remove_range(s, i);
        i = 0; /* the new next_seq may reach a range already passed over */
    }
    if (!s->nooo) s->hole_since_ns = 0;
}

/* Drops the incomplete message at the head (its rest was lost or it outgrew the buffer). */
static void drop_head(struct stream_dir *s, const struct stream_cfg *cfg)
{
    if (!s->buf_len) return;
    uint32_t ext = held_extent(s);
    cfg->ctr->discarded_bytes += s->buf_len;
    memmove(s->buf, s->buf + s->buf_len, ext - s->buf_len);
    s->buf_len = 0;
    s->after_hole = 1;
}

static size_t call(struct stream_dir *s, const struct stream_cfg *cfg, const uint8_t *data,
                   size_t len, uint64_t ts_ns)
{
    size_t k = cfg->deliver(cfg->ctx, data, len, s->after_hole, ts_ns);
    s->after_hole = 0;
    return k < len ? k : len;
}

/* Hands the buffered head to the analyzer and keeps what it did not consume. */
static void deliver_head(struct stream_dir *s, const struct stream_cfg *cfg, uint64_t ts_ns)
{
    if (!s->buf_len) return;
    size_t k = call(s, cfg, s->buf, s->buf_len, ts_ns);
    if (k) {
        uint32_t ext = held_extent(s);
        memmove(s->buf, s->buf + k, ext - k);
        s->buf_len -= (uint32_t)k;
    }
    if (s->buf_len == s->cap) /* one message larger than the buffer: give it up */
        drop_head(s, cfg);
}

/* Gives up on the hole before the first held range: those bytes are not coming. */
static void skip_hole(struct stream_dir *s, const struct stream_cfg *cfg, uint64_t ts_ns)
{
    if (!s->nooo) return;
    int first = 0;
    for (int i = 1; i < s->nooo; i++)
        if (seq_diff(s->ooo[i].start, s->ooo[first].start) < 0) first = i;
    uint32_t missing = s->ooo[first].start - s->next_seq;
    cfg->ctr->holes_skipped++;
    cfg->ctr->hole_bytes += missing;
    drop_head(s, cfg);
    uint32_t ext = held_extent(s);
    memmove(s->buf, s->buf + missing, ext - missing);
    s->next_seq = s->ooo[first].start;
    s->after_hole = 1;
    absorb_ranges(s, cfg);
    deliver_head(s, cfg, ts_ns);
}

/* Bytes starting exactly at next_seq. */
static void take_in_order(struct stream_dir *s, const struct stream_cfg *cfg, const uint8_t *data,
                          uint32_t len, uint64_t ts_ns)
{
    if (s->buf_len + len > s->cap) drop_head(s, cfg);
    if (len > s->cap && s->nooo) { /* cannot place it among the held ranges: drop them */
        cfg->ctr->discarded_bytes += held_extent(s);
        s->nooo = 0;
        s->hole_since_ns = 0;
    }
    if (!s->buf_len && !s->nooo) {
        /* The common case: nothing held, the analyzer reads the packet in place. */
        cfg->ctr->bytes_delivered += len;
        size_t k = call(s, cfg, data, len, ts_ns);
        s->next_seq += len;
        size_t rest = len - k;
        if (rest > s->cap) {
            cfg->ctr->discarded_bytes += rest;
            s->after_hole = 1;
        } else if (rest) {
            memcpy(s->buf, data + k, rest);
            s->buf_len = (uint32_t)rest;
        }
        return;
    }
    cfg->ctr->bytes_delivered += len;
    memcpy(s->buf + s->buf_len, data, len);
    s->buf_len += len;
    s->next_seq += len;
    /* Ranges the new bytes overlap or reach are in place already. */
    for (int i = 0; i < s->nooo; i++)
        if (seq_diff(s->ooo[i].start, s->next_seq) < 0 && seq_diff(s->ooo[i].end, s->next_seq) <= 0)
            remove_range(s, i--);
    for (int i = 0; i < s->nooo; i++)
        if (seq_diff(s->ooo[i].start, s->next_seq) < 0) s->ooo[i].start = s->next_seq;
    absorb_ranges(s, cfg);
    deliver_head(s, cfg, ts_ns);
}

/* Holds bytes that start after a hole. Returns 0, or -1 when they do not fit. */
static int hold(struct stream_dir *s, const struct stream_cfg *cfg, uint32_t seq,
                const uint8_t *data, uint32_t len, uint64_t ts_ns)
{
    uint64_t pos = (uint64_t)s->buf_len + (seq - s->next_seq);
    if (pos + len > s->cap) return -1;
    uint32_t start = seq, end = seq + len;
    int touches = 0;
    for (int i = 0; i < s->nooo; i++)
        touches |= seq_diff(s->ooo[i].start, end) <= 0 && seq_diff(s->ooo[i].end, start) >= 0;
    if (!touches && s->nooo == STREAM_OOO_MAX) return -1;
    for (int i = 0; i < s->nooo;) { /* merge with ranges it touches */
        if (seq_diff(s->ooo[i].start, end) <= 0 && seq_diff(s->ooo[i].end, start) >= 0) {
            if (seq_diff(s->ooo[i].start, start) < 0) start = s->ooo[i].start;
            if (seq_diff(s->ooo[i].end, end) > 0) end = s->ooo[i].end;
            remove_range(s, i);
        } else {
            i++;
        }
    }
    memcpy(s->buf + pos, data, len);
    if (!s->nooo) s->hole_since_ns = ts_ns;
    s->ooo[s->nooo].start = start;
    s->ooo[s->nooo].end = end;
    s->nooo++;
    cfg->ctr->ooo_held++;
    return 0;
}

void stream_segment(struct stream_dir *s, const struct stream_cfg *cfg, uint32_t seq,
                    uint16_t flags, const uint8_t *data, uint32_t len, uint32_t seglen,
                    uint64_t ts_ns)
{
    if (flags & TH_SYN) {
        if (!s->init || s->nooo || s->buf_len) { /* a new stream starts after the SYN */
            s->nooo = 0;
            s->buf_len = 0;
        }
        s->next_seq = seq + 1;
        s->init = 1;
        return;
    }
    if (len > seglen) len = seglen;
    if (s->nooo && ts_ns > s->hole_since_ns + cfg->hole_timeout_ns) skip_hole(s, cfg, ts_ns);
    if (!seglen) return;
    cfg->ctr->segments++;
    if (!s->init) { /* joined mid-stream: start at the first byte seen */
        s->next_seq = seq;
        s->init = 1;
        s->after_hole = 1;
    }
    int32_t rel = seq_diff(seq, s->next_seq);
    if (rel < 0) {                         /* retransmitted bytes: deliver only what is new */
        uint32_t old = 0u - (uint32_t)rel; /* rel may be INT32_MIN: negate unsigned */
        if (old >= seglen) {
            cfg->ctr->duplicates++;
            return;
        }
        cfg->ctr->overlap_bytes += old;
        uint32_t cut = old < len ? old : len;
        data += cut;
        len -= cut;
        seglen -= old;
        seq = s->next_seq;
        rel = 0;
    }
    if (rel > 0) {
        /* Captured bytes after a hole: hold them, or give up on the hole when they cannot wait. */
        while (len && hold(s, cfg, seq, data, len, ts_ns) < 0) {
            if (s->nooo) {
                skip_hole(s, cfg, ts_ns);
            } else {
                cfg->ctr->holes_skipped++;
                cfg->ctr->hole_bytes += (uint32_t)rel;
                drop_head(s, cfg);
                s->next_seq = seq;
                s->after_hole = 1;
            }
            rel = seq_diff(seq, s->next_seq);
            if (rel <= 0) {           /* the skip reached this segment: it is in order now */
                cfg->ctr->segments--; /* counted once, here */
                stream_segment(s, cfg, seq, flags, data, len, seglen, ts_ns);
                return;
            }
        }
        return; /* a tail the capture cut off simply joins the next hole */
    }
    take_in_order(s, cfg, data, len, ts_ns);
    if (seglen > len) { /* snap length cut the segment: its tail is lost */
        uint32_t missing = seglen - len;
        cfg->ctr->holes_skipped++;
        cfg->ctr->hole_bytes += missing;
        drop_head(s, cfg);
        s->next_seq += missing;
        s->after_hole = 1;
        for (int i = 0; i < s->nooo; i++) /* ranges within the lost tail are past */
            if (seq_diff(s->ooo[i].end, s->next_seq) <= 0) remove_range(s, i--);
        /* positions of held ranges moved with next_seq: they stay at buf_len + rel, which
         * shrank by missing; shift them down accordingly */
        if (s->nooo) {
            /* rare (a cut segment followed by held ones): drop them rather than shuffle */
            cfg->ctr->discarded_bytes += held_extent(s);
            s->nooo = 0;
            s->hole_since_ns = 0;
        }
    }
}

void stream_finish(struct stream_dir *s, const struct stream_cfg *cfg, uint64_t ts_ns)
{
    while (s->nooo)
        skip_hole(s, cfg, ts_ns);
    if (s->buf_len) {
        cfg->ctr->discarded_bytes += s->buf_len;
        s->buf_len = 0;
    }
}
