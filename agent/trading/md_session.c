/* md_session.c - market data: MoldUDP64/ITCH and MDP 3.0 sequencing per feed and session,
 * A/B arbitration (a gap only when no feed delivered), feed skew and feed latency. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "../stats/timeline.h"
#include "../decode/decode.h"
#include "../flow/flow_table.h"
#include "mdp3.h"
#include "moldudp64.h"
#include "trading_internal.h"

static struct trading_session_stats *md_stats(struct trading *t, const struct md_session *s)
{
    return s->stats == TRADING_NONE ? t->scratch : &t->st->sessions[s->stats];
}

static void md_event_of(struct trading *t, struct md_session *s, const struct flow_key *key,
                        uint64_t flow_id, enum event_type type, int feed, uint64_t first,
                        uint64_t count, uint64_t ts_ns)
{
    struct event *e = trading_event_new(t, type, key, flow_id, 0, ts_ns);
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

/* An event of the session's latest flow. */
static void md_event(struct trading *t, struct md_session *s, enum event_type type, int feed,
                     uint64_t first, uint64_t count, uint64_t ts_ns)
{
    md_event_of(t, s, &s->last_key, s->last_flow_id, type, feed, first, count, ts_ns);
}

/* A lone feed's loss is kept until a second feed shows up, for the arbitration window at
 * most; the oldest gives way when they are too many (counted). */
static void md_unpaired_add(struct trading *t, struct md_session *s, int fi, uint64_t first,
                            uint64_t count, uint64_t ts_ns)
{
    uint64_t window = t->cfg->arbitration_window_ns;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < s->nunpaired; i++)
        if (s->unpaired[i].ts_ns + window >= ts_ns) s->unpaired[kept++] = s->unpaired[i];
    s->nunpaired = kept;
    if (s->nunpaired == MD_UNPAIRED_MAX) {
        t->counters[TT_C_TRADING_FEED_LOSSES_DROPPED]++;
        memmove(&s->unpaired[0], &s->unpaired[1], sizeof(s->unpaired[0]) * --s->nunpaired);
    }
    struct md_unpaired_loss *l = &s->unpaired[s->nunpaired++];
    l->first = first;
    l->count = count;
    l->ts_ns = ts_ns;
    l->key = s->last_key;
    l->flow_id = s->last_flow_id;
    l->feed = (uint8_t)fi;
}

/* The session has a second feed: the losses its first feed had within the window were
 * arbitration losses, reported with their own time and flow. */
static void md_unpaired_flush(struct trading *t, struct md_session *s, uint64_t now_ns)
{
    for (uint32_t i = 0; i < s->nunpaired; i++) {
        const struct md_unpaired_loss *l = &s->unpaired[i];
        if (l->ts_ns + t->cfg->arbitration_window_ns < now_ns) continue;
        md_event_of(t, s, &l->key, l->flow_id, EV_MD_ARBITRATION_LOSS, l->feed, l->first, l->count,
                    l->ts_ns);
    }
    s->nunpaired = 0;
}

/* Messages no feed delivered within the arbitration window are lost: md.gap. */
void md_hole_lost(struct trading *t, struct md_session *s, uint32_t i)
{
    struct md_hole *h = &s->holes[i];
    struct trading_session_stats *ss = md_stats(t, s);
    ss->md_gaps++;
    ss->md_lost += h->end - h->start;
    md_event(t, s, EV_MD_GAP, -1, h->start, h->end - h->start, h->since_ns);
    s->holes[i] = s->holes[--s->nholes];
}

void md_expire(struct trading *t, struct md_session *s, uint64_t now_ns)
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
    if (paired && s->nunpaired) md_unpaired_flush(t, s, ts_ns);
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
        if (paired)
            md_event(t, s, EV_MD_ARBITRATION_LOSS, fi, fd->next, lost, ts_ns);
        else
            md_unpaired_add(t, s, fi, fd->next, lost, ts_ns);
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
            /* filled up to 7/8 at most: a slot stays free, so a session not in the table is
             * found missing in a few probes, not by reading every slot each packet */
            if (n > 1 && t->nmd_live >= n - (n + 7) / 8) break;
            memset(s, 0, offsetof(struct md_session, recent));
            memset(s->recent, 0, sizeof(s->recent));
            s->used = 1; /* for good: sessions are never freed */
            t->md_live[t->nmd_live++] = (uint32_t)(s - t->md);
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
            flow_addr_eq(s->feed[i].addr, pkt->key.dst))
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

/* The session's latest flow names its events; its key is copied only when the flow changes
 * (with A and B interleaved that is per packet, with one feed never). */
static void md_touch(struct md_session *s, const struct flow *f)
{
    if (s->last_flow_id == f->id) return;
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

/* The session of key (created as kind, name, pair when new) and the packet's feed in it,
 * remembered in the flow so its next packets skip the lookup. NULL when the table is full. */
static struct md_session *md_attach(struct trading *t, struct flow *f, const struct packet *pkt,
                                    uint64_t key, enum trading_kind kind, const char *name,
                                    int pair, int side, int *fi)
{
    struct md_session *s = md_session_get(t, key, kind, name, pair);
    if (!s) return NULL;
    *fi = md_feed_of(t, s, pkt, side);
    f->app = (uint32_t)(s - t->md);
    f->app_feed = (uint8_t)*fi;
    return s;
}

/* Feed latency: capture time minus the exchange's time; a negative one is only counted. */
static void md_latency(struct trading_session_stats *ss, struct hist *all, struct timeline *tl,
                       uint64_t capture_ns, uint64_t exchange_ns)
{
    if (capture_ns < exchange_ns) {
        ss->latency_negative++;
        return;
    }
    hist_add(&ss->latency, capture_ns - exchange_ns);
    hist_add(all, capture_ns - exchange_ns);
    if (tl) timeline_latency(tl, TL_FEED, capture_ns - exchange_ns);
}

void md_mold(struct trading *t, struct flow *f, const struct packet *pkt)
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
        s = md_attach(t, f, pkt, key, TK_MOLD, name, pair, side, &fi);
        if (!s) return;
        memcpy(s->raw, mp.session, sizeof(s->raw));
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
        if (its < 0)
            ss->latency_negative++;
        else
            md_latency(ss, &t->st->itch_latency, t->st->tl, pkt->ts_ns - midnight, (uint64_t)its);
    }
}

void md_mdp3(struct trading *t, struct flow *f, const struct packet *pkt)
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
        s = md_attach(t, f, pkt, key, TK_MDP3, name, pair, side, &fi);
        if (!s) return;
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
    if (fresh) md_latency(ss, &t->st->mdp3_latency, t->st->tl, pkt->ts_ns, dp.sending_time);
}
