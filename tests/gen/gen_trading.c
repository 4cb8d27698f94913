/* gen_trading.c - trading scenarios with known ground truth: a FIX order-entry session and
 * SoupBinTCP/OUCH 5.0 session, A/B market data (MoldUDP64/ITCH 5.0, CME MDP 3.0) with gaps,
 * duplicates, rejects, resends, split, coalesced, retransmitted, reordered and lost TCP segments,
 * known latencies, two microbursts and frames stamped by a TAP (Metamako trailer) and a switch
 * (Arista header).
 *
 *   ttgen trading_fix_md OUT.pcap   writes the capture and OUT.pcap.trading.json, the counts
 *                                   and latency percentiles ticktap must report (run with the
 *                                   settings listed under "settings" in that file)
 */
#include "gen_trading.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gentcp.h"

#define SOH "\001"

/* --- FIX ----------------------------------------------------------------------------- */

struct fix_exp {
    unsigned messages[2]; /* from the initiator, from the acceptor */
    unsigned logons, logouts, seq_gaps, seq_missing, resend_requests, gap_fills, poss_dup, rejects,
        business_rejects, order_rejects, heartbeats_missed, test_requests, unanswered;
    unsigned orders[3]; /* new, cancel, replace */
    unsigned holes;
    /* latency samples (ns) per pair: new, cancel, replace */
    uint64_t lat[3][128];
    unsigned nlat[3];
    unsigned types[128]; /* message counts by one-character type */
};

struct fix_side {
    struct gen *g;
    struct conn *c;
    struct fix_exp *x;
    uint32_t seq[2]; /* next MsgSeqNum per direction */
};

size_t gen_fix_message(char *out, size_t cap, const char *sender, const char *target,
                       const char *type, uint32_t seq, const char *fields)
{
    char body[2048];
    int n = snprintf(body, sizeof(body),
                     "35=%s" SOH "34=%u" SOH "49=%s" SOH "56=%s" SOH "52=20231114-22:13:20.000" SOH,
                     type, seq, sender, target);
    for (const char *p = fields; *p && n < (int)sizeof(body) - 2; p++)
        body[n++] = *p == '|' ? '\001' : *p;
    if (*fields) body[n++] = '\001';
    body[n] = 0;
    int h = snprintf(out, cap, "8=FIX.4.4" SOH "9=%d" SOH "%s", n, body);
    unsigned sum = 0;
    for (int i = 0; i < h; i++)
        sum += (uint8_t)out[i];
    h += snprintf(out + h, cap - (size_t)h, "10=%03u" SOH, sum % 256);
    return (size_t)h;
}

/* A message of the scenario's session: CLIENT1 (dir 0) and EXCH (dir 1). */
static size_t fix_msg(char *out, size_t cap, int dir, const char *type, uint32_t seq,
                      const char *fields)
{
    return gen_fix_message(out, cap, dir ? "EXCH" : "CLIENT1", dir ? "CLIENT1" : "EXCH", type, seq,
                           fields);
}

/* Counts a message the analyzer must see. */
static void fix_count(struct fix_side *s, int dir, const char *type)
{
    s->x->messages[dir]++;
    if (strlen(type) == 1) s->x->types[(unsigned char)type[0]]++;
}

/* Sends one message in one segment. Returns its length. */
static size_t fix_send(struct fix_side *s, int dir, const char *type, const char *fields)
{
    char m[2200];
    size_t n = fix_msg(m, sizeof(m), dir, type, s->seq[dir]++, fields);
    tcp_data(s->g, s->c, dir, A | P, s->c->seq[dir], s->c->seq[!dir], m, (uint32_t)n);
    s->c->seq[dir] += (uint32_t)n;
    fix_count(s, dir, type);
    return n;
}

static void lat_add(struct fix_exp *x, int pair, uint64_t ns)
{
    x->lat[pair][x->nlat[pair]++] = ns;
}

static void sc_fix(struct gen *g, struct fix_exp *x)
{
    struct conn c;
    conn_init(&c, "10.1.0.10", "10.2.0.1", 50001, 9878, 100000, 900000);
    struct fix_side s = {g, &c, x, {1, 1}};
    handshake(g, &c, 80 * US);
    g->t += 1 * MS;
    /* Logon both ways; the client's carries a password that must never leave the agent */
    fix_send(&s, 0, "A", "98=0|108=30|554=s3cr3t-pass|141=Y");
    g->t += 200 * US;
    fix_send(&s, 1, "A", "98=0|108=30");
    x->logons += 2;
    char f[512], m[2200], m2[2200];
    for (int i = 0; i < 100; i++) {
        g->t += 1 * MS;
        uint64_t lat = (100 + 10 * (uint64_t)i) * US;
        snprintf(f, sizeof(f), "11=ORD%04d|55=AAPL|54=1|38=100|40=2|44=189.50|60=20231114-22:13:20",
                 i);
        if (i == 10) { /* the order arrives in two segments */
            size_t n = fix_msg(m, sizeof(m), 0, "D", s.seq[0]++, f);
            tcp_data(g, &c, 0, A, c.seq[0], c.seq[1], m, 30);
            g->t += 20 * US;
            tcp_data(g, &c, 0, A | P, c.seq[0] + 30, c.seq[1], m + 30, (uint32_t)(n - 30));
            c.seq[0] += (uint32_t)n;
            fix_count(&s, 0, "D");
        } else {
            fix_send(&s, 0, "D", f);
        }
        x->orders[0]++;
        g->t += lat;
        int reject = i == 50 || i == 60 || i == 70;
        if (reject)
            snprintf(f, sizeof(f),
                     "37=EX%04d|11=ORD%04d|17=E%d|150=8|39=8|103=5|55=AAPL|54=1|"
                     "58=Price out of band",
                     i, i, i);
        else
            snprintf(f, sizeof(f), "37=EX%04d|11=ORD%04d|17=E%d|150=0|39=0|55=AAPL|54=1", i, i, i);
        if (reject) x->order_rejects++;
        lat_add(x, 0, lat);
        if (i == 20) { /* the report is retransmitted: counted once */
            size_t n = fix_msg(m, sizeof(m), 1, "8", s.seq[1]++, f);
            tcp_data(g, &c, 1, A | P, c.seq[1], c.seq[0], m, (uint32_t)n);
            g->t += 200 * US;
            tcp_data(g, &c, 1, A | P, c.seq[1], c.seq[0], m, (uint32_t)n);
            c.seq[1] += (uint32_t)n;
            fix_count(&s, 1, "8");
        } else if (i == 30) { /* in two segments that arrive in the wrong order */
            size_t n = fix_msg(m, sizeof(m), 1, "8", s.seq[1]++, f);
            g->t -= 5 * US;
            tcp_data(g, &c, 1, A | P, c.seq[1] + 40, c.seq[0], m + 40, (uint32_t)(n - 40));
            g->t += 5 * US;
            tcp_data(g, &c, 1, A, c.seq[1], c.seq[0], m, 40);
            c.seq[1] += (uint32_t)n;
            fix_count(&s, 1, "8");
        } else if (i == 40) { /* report and a heartbeat coalesced in one segment */
            size_t n = fix_msg(m, sizeof(m), 1, "8", s.seq[1]++, f);
            size_t n2 = fix_msg(m2, sizeof(m2), 1, "0", s.seq[1]++, "");
            memcpy(m + n, m2, n2);
            tcp_data(g, &c, 1, A | P, c.seq[1], c.seq[0], m, (uint32_t)(n + n2));
            c.seq[1] += (uint32_t)(n + n2);
            fix_count(&s, 1, "8");
            fix_count(&s, 1, "0");
        } else {
            fix_send(&s, 1, "8", f);
        }
    }
    /* a cancel refused, a replace accepted */
    g->t += 1 * MS;
    fix_send(&s, 0, "F", "11=CXL0001|41=ORD0001|55=AAPL|54=1");
    x->orders[1]++;
    g->t += 250 * US;
    fix_send(&s, 1, "9", "37=EX0001|11=CXL0001|41=ORD0001|39=2|434=1|102=0|58=Too late to cancel");
    lat_add(x, 1, 250 * US);
    x->order_rejects++;
    g->t += 1 * MS;
    fix_send(&s, 0, "G", "11=RPL0001|41=ORD0002|55=AAPL|54=1|38=200|40=2|44=189.40");
    x->orders[2]++;
    g->t += 300 * US;
    fix_send(&s, 1, "8", "37=EX0002|11=RPL0001|41=ORD0002|17=E200|150=5|39=5|55=AAPL|54=1");
    lat_add(x, 2, 300 * US);
    /* an order for an unknown security: business-level reject, no report (unanswered) */
    g->t += 1 * MS;
    uint32_t ref = s.seq[0];
    fix_send(&s, 0, "D", "11=ORD9999|55=ZZZZ|54=1|38=100|40=2|44=1.00");
    x->orders[0]++;
    x->unanswered++;
    g->t += 150 * US;
    snprintf(f, sizeof(f), "45=%u|372=D|380=2|58=Unknown security", ref);
    fix_send(&s, 1, "j", f);
    x->business_rejects++;
    /* a malformed order: session-level reject (also unanswered) */
    g->t += 1 * MS;
    ref = s.seq[0];
    fix_send(&s, 0, "D", "11=ORD0100|55=AAPL|54=9|38=100|40=2|44=189.50");
    x->orders[0]++;
    x->unanswered++;
    g->t += 120 * US;
    snprintf(f, sizeof(f), "45=%u|371=54|372=D|373=5|58=Value is incorrect for this tag", ref);
    fix_send(&s, 1, "3", f);
    x->rejects++;
    /* the exchange's numbering jumps by 4: gap, resend request, gap fill, resent copies */
    g->t += 1 * MS;
    uint32_t missing_from = s.seq[1];
    s.seq[1] += 4;
    fix_send(&s, 1, "0", "");
    x->seq_gaps++;
    x->seq_missing += 4;
    g->t += 100 * US;
    snprintf(f, sizeof(f), "7=%u|16=%u", missing_from, missing_from + 3);
    fix_send(&s, 0, "2", f);
    x->resend_requests++;
    g->t += 100 * US;
    uint32_t after = s.seq[1];
    s.seq[1] = missing_from;
    snprintf(f, sizeof(f), "43=Y|122=20231114-22:13:20|123=Y|36=%u", missing_from + 2);
    fix_send(&s, 1, "4", f);
    x->gap_fills++;
    for (int k = 0; k < 2; k++) {
        s.seq[1] = missing_from + 2 + (uint32_t)k;
        snprintf(f, sizeof(f),
                 "43=Y|122=20231114-22:13:20|37=EX%04d|11=ORD%04d|17=R%d|150=0|39=0|"
                 "55=AAPL|54=1",
                 3 + k, 3 + k, k);
        fix_send(&s, 1, "8", f);
        x->poss_dup++;
    }
    s.seq[1] = after;
    /* the capture misses one of the client's segments (never retransmitted): the analyzer
     * gives the hole up after its timeout and sees the client's numbering jump by one */
    g->t += 1 * MS;
    fix_send(&s, 0, "0", "");
    g->t += 1 * MS;
    size_t lost = fix_msg(m, sizeof(m), 0, "0", s.seq[0]++, "");
    c.seq[0] += (uint32_t)lost; /* not written */
    x->holes++;
    x->seq_gaps++;
    x->seq_missing += 1;
    g->t += 1 * MS;
    fix_send(&s, 0, "0", "");
    g->t += 600 * MS;
    fix_send(&s, 0, "0", "");
    /* the client falls silent: the exchange heartbeats, then asks (TestRequest) */
    uint64_t quiet_from = g->t;
    g->t = quiet_from + 30ull * 1000 * MS;
    fix_send(&s, 1, "0", "");
    g->t = quiet_from + 40ull * 1000 * MS;
    fix_send(&s, 1, "1", "112=TEST1");
    x->test_requests++;
    x->heartbeats_missed++; /* TestRequest: the client was silent */
    g->t = quiet_from + 41ull * 1000 * MS;
    fix_send(&s, 0, "0", "112=TEST1");
    x->heartbeats_missed++; /* the client's silence, seen when it speaks again (41 s > 36 s) */
    /* end of day */
    g->t += 1 * MS;
    fix_send(&s, 0, "5", "58=end of day");
    g->t += 200 * US;
    fix_send(&s, 1, "5", "");
    x->logouts += 2;
    close_fin(g, &c);
}

/* --- SoupBinTCP / OUCH 5.0 -------------------------------------------------------------- */

struct soup_exp {
    unsigned messages[2]; /* from the client, from the server */
    unsigned accepted, rejected, canceled, executions, heartbeats, orders[3];
    uint64_t lat[3][64];
    unsigned nlat[3];
    unsigned client_types[128], server_types[128];
    unsigned rejects; /* ouch.reject events, logins included */
};

/* Appends one SoupBinTCP packet (type + payload) to b. */
static void soup_put(struct buf *b, char type, const struct buf *payload)
{
    put16(b, (uint16_t)(1 + (payload ? payload->n : 0)));
    put8(b, (uint8_t)type);
    if (payload) putbytes(b, payload->b, payload->n);
}

static void put64(struct buf *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b, (uint32_t)v);
}

static void soup_send(struct gen *g, struct conn *c, int dir, const struct buf *seg)
{
    tcp_data(g, c, dir, A | P, c->seq[dir], c->seq[!dir], seg->b, (uint32_t)seg->n);
    c->seq[dir] += (uint32_t)seg->n;
}

/* One SoupBinTCP packet in its own segment, counted. */
static void soup_one(struct gen *g, struct conn *c, struct soup_exp *x, int dir, char type,
                     const struct buf *payload)
{
    struct buf seg = {.n = 0};
    soup_put(&seg, type, payload);
    soup_send(g, c, dir, &seg);
    x->messages[dir]++;
}

static void ouch_enter(struct buf *m, uint32_t ref)
{
    m->n = 0;
    put8(m, 'O');
    put32(m, ref);
    put8(m, 'B');
    put32(m, 100);
    putbytes(m, "AAPL    ", 8);
    put64(m, 1895000);
    putbytes(m, "0YANN", 5); /* TIF, display, capacity, ISO, cross type */
    char id[16];
    snprintf(id, sizeof(id), "C%013u", ref);
    putbytes(m, id, 14);
    put16(m, 0); /* no appendages */
}

static void ouch_accepted(struct buf *m, uint64_t ts, uint32_t ref)
{
    m->n = 0;
    put8(m, 'A');
    put64(m, ts);
    put32(m, ref);
    put8(m, 'B');
    put32(m, 100);
    putbytes(m, "AAPL    ", 8);
    put64(m, 1895000);
    putbytes(m, "0Y", 2);
    put64(m, 900000 + ref); /* order reference number */
    putbytes(m, "ANNL", 4); /* capacity, ISO, cross type, order state */
    char id[16];
    snprintf(id, sizeof(id), "C%013u", ref);
    putbytes(m, id, 14);
    put16(m, 0);
}

static void ouch_executed(struct buf *m, uint64_t ts, uint32_t ref)
{
    m->n = 0;
    put8(m, 'E');
    put64(m, ts);
    put32(m, ref);
    put32(m, 100);
    put64(m, 1895000);
    put8(m, 'A');
    put64(m, 5000 + ref); /* match number */
    put16(m, 0);
}

static void sc_ouch(struct gen *g, struct soup_exp *x)
{
    struct conn c;
    conn_init(&c, "10.1.0.20", "10.2.0.5", 50100, 15000, 300000, 800000);
    handshake(g, &c, 60 * US);
    struct buf m = {.n = 0}, seg = {.n = 0};
    g->t += 1 * MS;
    putbytes(&m, "TRDR01pw-secret1          ", 26); /* username, password, session (any) */
    putbytes(&m, "                   1", 20);
    soup_one(g, &c, x, 0, 'L', &m);
    g->t += 300 * US;
    m.n = 0;
    putbytes(&m, "SESSION001                   1", 30);
    soup_one(g, &c, x, 1, 'A', &m);
    for (uint32_t i = 0; i < 40; i++) {
        g->t += 1 * MS;
        uint32_t ref = 100 + i;
        ouch_enter(&m, ref);
        if (i == 10) { /* split across two segments */
            seg.n = 0;
            soup_put(&seg, 'U', &m);
            tcp_data(g, &c, 0, A, c.seq[0], c.seq[1], seg.b, 20);
            g->t += 15 * US;
            tcp_data(g, &c, 0, A | P, c.seq[0] + 20, c.seq[1], seg.b + 20, (uint32_t)seg.n - 20);
            c.seq[0] += (uint32_t)seg.n;
            x->messages[0]++;
        } else {
            soup_one(g, &c, x, 0, 'U', &m);
        }
        x->client_types['O']++;
        x->orders[0]++;
        uint64_t lat = (50 + 5 * (uint64_t)i) * US;
        g->t += lat;
        x->lat[0][x->nlat[0]++] = lat;
        if (i == 7 || i == 23) {
            m.n = 0;
            put8(&m, 'J');
            put64(&m, g->t);
            put32(&m, ref);
            put16(&m, 2); /* reject reason code */
            char id[16];
            snprintf(id, sizeof(id), "C%013u", ref);
            putbytes(&m, id, 14);
            soup_one(g, &c, x, 1, 'S', &m);
            x->server_types['J']++;
            x->rejected++;
            x->rejects++;
        } else if (i == 15) { /* accepted and executed in one segment */
            seg.n = 0;
            ouch_accepted(&m, g->t, ref);
            soup_put(&seg, 'S', &m);
            ouch_executed(&m, g->t, ref);
            soup_put(&seg, 'S', &m);
            soup_send(g, &c, 1, &seg);
            x->messages[1] += 2;
            x->server_types['A']++;
            x->server_types['E']++;
            x->accepted++;
            x->executions++;
        } else {
            ouch_accepted(&m, g->t, ref);
            soup_one(g, &c, x, 1, 'S', &m);
            x->server_types['A']++;
            x->accepted++;
        }
    }
    for (uint32_t ref = 103; ref < 106; ref++) { /* fills */
        g->t += 2 * MS;
        ouch_executed(&m, g->t, ref);
        soup_one(g, &c, x, 1, 'S', &m);
        x->server_types['E']++;
        x->executions++;
    }
    g->t += 1 * MS; /* cancel order 101: canceled after 80 us */
    m.n = 0;
    put8(&m, 'X');
    put32(&m, 101);
    put32(&m, 0);
    soup_one(g, &c, x, 0, 'U', &m);
    x->client_types['X']++;
    x->orders[1]++;
    g->t += 80 * US;
    m.n = 0;
    put8(&m, 'C');
    put64(&m, g->t);
    put32(&m, 101);
    put32(&m, 100);
    put8(&m, 'U');
    soup_one(g, &c, x, 1, 'S', &m);
    x->server_types['C']++;
    x->canceled++;
    x->lat[1][x->nlat[1]++] = 80 * US;
    g->t += 1 * MS; /* replace order 102 by 200: replaced after 90 us */
    m.n = 0;
    put8(&m, 'U');
    put32(&m, 102);
    put32(&m, 200);
    put32(&m, 200);
    put64(&m, 1894000);
    putbytes(&m, "0YN", 3);
    putbytes(&m, "R000000000200 ", 14);
    put16(&m, 0);
    soup_one(g, &c, x, 0, 'U', &m);
    x->client_types['U']++;
    x->orders[2]++;
    g->t += 90 * US;
    m.n = 0;
    put8(&m, 'U');
    put64(&m, g->t);
    put32(&m, 102);
    put32(&m, 200);
    put8(&m, 'B');
    put32(&m, 200);
    putbytes(&m, "AAPL    ", 8);
    put64(&m, 1894000);
    putbytes(&m, "0Y", 2);
    put64(&m, 900200);
    putbytes(&m, "ANNL", 4);
    putbytes(&m, "R000000000200 ", 14);
    put16(&m, 0);
    soup_one(g, &c, x, 1, 'S', &m);
    x->server_types['U']++;
    x->lat[2][x->nlat[2]++] = 90 * US;
    for (int k = 0; k < 2; k++) { /* heartbeats both ways */
        g->t += 1000 * MS;
        soup_one(g, &c, x, 1, 'H', NULL);
        g->t += 10 * US;
        soup_one(g, &c, x, 0, 'R', NULL);
        x->heartbeats += 2;
    }
    g->t += 1 * MS;
    soup_one(g, &c, x, 1, 'Z', NULL);
    g->t += 100 * US;
    soup_one(g, &c, x, 0, 'O', NULL);
    close_fin(g, &c);
    /* a second trader whose login is refused */
    struct conn d;
    conn_init(&d, "10.1.0.21", "10.2.0.5", 50101, 15000, 400000, 810000);
    g->t += 1 * MS;
    handshake(g, &d, 60 * US);
    struct soup_exp y;
    memset(&y, 0, sizeof(y));
    g->t += 1 * MS;
    m.n = 0;
    putbytes(&m, "TRDR02wrong-pass          ", 26);
    putbytes(&m, "                   1", 20);
    soup_one(g, &d, &y, 0, 'L', &m);
    g->t += 200 * US;
    m.n = 0;
    put8(&m, 'A'); /* not authorized */
    soup_one(g, &d, &y, 1, 'J', &m);
    x->rejects++;
    close_fin(g, &d);
}

/* --- market data ------------------------------------------------------------------------ */

struct md_exp {
    const char *name;
    unsigned packets[2], messages[2], heartbeats[2];
    unsigned gaps[2], lost[2], duplicates[2];
    unsigned md_gaps, md_lost, md_duplicates, end_of_session;
    unsigned arbitration_loss_events, duplicate_events;
    uint64_t *lat;
    unsigned nlat;
    uint64_t *skew;
    unsigned nskew;
    unsigned types[256];
};

static void udp_send(struct gen *g, const char *src, const char *grp, uint16_t sport,
                     uint16_t dport, const uint8_t *payload, size_t n, uint16_t vlan)
{
    struct conn c;
    memset(&c, 0, sizeof(c));
    ipaddrs_set(&c.a, src, grp);
    if (vlan) {
        c.vlans[0] = vlan;
        c.nvlan = 1;
    }
    emit_udp(g, &c, sport, dport, payload, n);
}

static const struct {
    char type;
    size_t len;
} itch_kinds[] = {{'A', 36}, {'E', 31}, {'X', 23}, {'D', 19}, {'P', 44}, {'F', 40}};

size_t gen_mold_packet(struct buf *b, const char *session, uint64_t seq, unsigned count,
                       unsigned first_kind, uint64_t its_ns, int first_is_system_event)
{
    b->n = 0;
    putbytes(b, session, 10);
    put32(b, (uint32_t)(seq >> 32));
    put32(b, (uint32_t)seq);
    put16(b, (uint16_t)count);
    if (count == 0 || count == 0xffff) return b->n;
    for (unsigned k = 0; k < count; k++) {
        char type = itch_kinds[(first_kind + k) % 6].type;
        size_t len = itch_kinds[(first_kind + k) % 6].len;
        if (k == 0 && first_is_system_event) {
            type = 'S';
            len = 12;
        }
        put16(b, (uint16_t)len);
        size_t start = b->n;
        put8(b, (uint8_t)type);
        put16(b, 1);                   /* stock locate */
        put16(b, (uint16_t)(seq + k)); /* tracking number */
        put16(b, (uint16_t)(its_ns >> 32));
        put32(b, (uint32_t)its_ns);
        putzero(b, len - (b->n - start));
    }
    return b->n;
}

static size_t mold_packet(struct buf *b, uint64_t seq, unsigned count, unsigned first_kind,
                          uint64_t its_ns, int first_is_system_event)
{
    return gen_mold_packet(b, "NASDAQ0001", seq, count, first_kind, its_ns, first_is_system_event);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ITCH feeds A and B. Feed B trails A by 2..11 us. A loses packets 100-101, B loses 300,
 * both lose 500 (the only loss arbitration cannot repair), A sends 700 twice. */
static void sc_itch_ab(struct gen *g, struct md_exp *x)
{
    enum { N = 1000 };
    static uint64_t lat[N * 3], skew[N];
    x->name = "itch/NASDAQ0001";
    x->lat = lat;
    x->skew = skew;
    uint64_t seq = 1000;
    uint64_t base = g->t;
    struct buf b;
    for (unsigned i = 0; i < N; i++) {
        unsigned count = 1 + i % 3;
        uint64_t ta = base + (uint64_t)i * 200 * US;
        uint64_t tb = ta + (2 + i % 10) * US;
        uint64_t feed_lat = (20 + i % 5) * US;
        uint64_t its = ta % (86400ull * 1000000000ull) - feed_lat;
        size_t n = mold_packet(&b, seq, count, i, its, i == 0);
        int a_sends = !(i == 100 || i == 101 || i == 500);
        int b_sends = !(i == 300 || i == 500);
        if (a_sends) {
            g->t = ta;
            udp_send(g, "10.3.0.1", "233.54.12.111", 40000, 26477, b.b, n, 0);
            x->packets[0]++;
            x->messages[0] += count;
            if (i == 700) {
                g->t = ta + 1 * US;
                udp_send(g, "10.3.0.1", "233.54.12.111", 40000, 26477, b.b, n, 0);
                x->packets[0]++;
                x->messages[0] += count;
                x->duplicates[0] += count;
                x->md_duplicates += count;
                x->duplicate_events++;
            }
        }
        if (b_sends) {
            g->t = tb;
            udp_send(g, "10.3.0.2", "233.49.196.111", 40000, 26477, b.b, n, 0);
            x->packets[1]++;
            x->messages[1] += count;
        }
        if (a_sends && b_sends) skew[x->nskew++] = tb - ta;
        if (a_sends || b_sends)
            for (unsigned k = 0; k < count; k++)
                lat[x->nlat++] = (a_sends ? ta : tb) % (86400ull * 1000000000ull) - its;
        for (unsigned k = 0; k < count; k++) {
            unsigned copies = (unsigned)a_sends + (unsigned)b_sends + (i == 700);
            char type = k == 0 && i == 0 ? 'S' : itch_kinds[(i + k) % 6].type;
            x->types[(unsigned char)type] += copies;
        }
        if (i == 100) { /* A's loss: 100 and 101 */
            x->gaps[0]++;
            x->lost[0] += count + (1 + 101 % 3);
            x->arbitration_loss_events++;
        }
        if (i == 300) {
            x->gaps[1]++;
            x->lost[1] += count;
            x->arbitration_loss_events++;
        }
        if (i == 500) {
            x->gaps[0]++;
            x->gaps[1]++;
            x->lost[0] += count;
            x->lost[1] += count;
            x->arbitration_loss_events += 2;
            x->md_gaps++;
            x->md_lost += count;
        }
        seq += count;
        if (i == 499) { /* both feeds heartbeat between bursts */
            size_t h = mold_packet(&b, seq, 0, 0, 0, 0);
            g->t = ta + 100 * US;
            udp_send(g, "10.3.0.1", "233.54.12.111", 40000, 26477, b.b, h, 0);
            g->t = ta + 105 * US;
            udp_send(g, "10.3.0.2", "233.49.196.111", 40000, 26477, b.b, h, 0);
            for (int f = 0; f < 2; f++) {
                x->packets[f]++;
                x->heartbeats[f]++;
            }
        }
    }
    size_t h = mold_packet(&b, seq, 0xffff, 0, 0, 0);
    g->t = base + (uint64_t)N * 200 * US;
    udp_send(g, "10.3.0.1", "233.54.12.111", 40000, 26477, b.b, h, 0);
    g->t += 5 * US;
    udp_send(g, "10.3.0.2", "233.49.196.111", 40000, 26477, b.b, h, 0);
    x->packets[0]++;
    x->packets[1]++;
    x->end_of_session = 2;
    qsort(lat, x->nlat, sizeof(lat[0]), cmp_u64);
    qsort(skew, x->nskew, sizeof(skew[0]), cmp_u64);
}

static void mdp3_packet(struct buf *b, uint32_t seq, uint64_t sending_time)
{
    b->n = 0;
    /* little-endian, as SBE */
    for (int i = 0; i < 4; i++)
        put8(b, (uint8_t)(seq >> (8 * i)));
    for (int i = 0; i < 8; i++)
        put8(b, (uint8_t)(sending_time >> (8 * i)));
    const uint16_t hdr[5] = {32, 11, 46, 1, 9}; /* size, block length, template, schema, version */
    for (int i = 0; i < 5; i++) {
        put8(b, (uint8_t)hdr[i]);
        put8(b, (uint8_t)(hdr[i] >> 8));
    }
    putzero(b, 32 - 10);
}

/* CME MDP 3.0 channel on feeds A and B: both lose packet 50, A loses 80. */
static void sc_mdp3_ab(struct gen *g, struct md_exp *x)
{
    enum { N = 200 };
    static uint64_t lat[N], skew[N];
    x->name = "cme-310";
    x->lat = lat;
    x->skew = skew;
    uint64_t base = g->t;
    struct buf b;
    for (unsigned i = 0; i < N; i++) {
        uint64_t ta = base + (uint64_t)i * 500 * US;
        uint64_t tb = ta + 3 * US;
        uint64_t st = ta - (30 + i % 7) * US;
        mdp3_packet(&b, 5000 + i, st);
        int a_sends = i != 50 && i != 80, b_sends = i != 50;
        if (a_sends) {
            g->t = ta;
            udp_send(g, "10.4.0.1", "224.0.31.1", 41000, 14310, b.b, b.n, 0);
            x->packets[0]++;
            x->messages[0]++;
        }
        if (b_sends) {
            g->t = tb;
            udp_send(g, "10.4.0.2", "224.0.32.1", 41000, 15310, b.b, b.n, 0);
            x->packets[1]++;
            x->messages[1]++;
        }
        if (a_sends && b_sends) skew[x->nskew++] = tb - ta;
        if (a_sends || b_sends) lat[x->nlat++] = (a_sends ? ta : tb) - st;
        x->types[46] += (unsigned)a_sends + (unsigned)b_sends;
        if (i == 50) {
            x->gaps[0]++;
            x->gaps[1]++;
            x->lost[0]++;
            x->lost[1]++;
            x->arbitration_loss_events += 2;
            x->md_gaps++;
            x->md_lost++;
        }
        if (i == 80) {
            x->gaps[0]++;
            x->lost[0]++;
            x->arbitration_loss_events++;
        }
    }
    qsort(lat, x->nlat, sizeof(lat[0]), cmp_u64);
    qsort(skew, x->nskew, sizeof(skew[0]), cmp_u64);
}

/* --- microbursts ------------------------------------------------------------------------ */

/* Two bursts of 1000-byte frames 1 us apart (8 Gb/s) on a quiet link: 100 frames, then 70.
 * At the default line (half of 10 Gb/s over 100 us: 62,500 bytes) each is one burst from its
 * first frame to its last. */
static void sc_bursts(struct gen *g)
{
    static const unsigned sizes[2] = {100, 70};
    uint8_t payload[1000 - 14 - 20 - 8];
    memset(payload, 0x5a, sizeof(payload));
    for (int b = 0; b < 2; b++) {
        g->t += 50 * MS;
        for (unsigned i = 0; i < sizes[b]; i++) {
            udp_send(g, "10.5.0.1", "10.5.0.2", 7000, 7001, payload, sizeof(payload), 0);
            g->t += 1 * US;
        }
    }
}

/* --- timestamps a TAP or switch wrote into the frame ---------------------------------------- */

/* Four UDP frames stamped 1234 ns before their capture time: two with an Arista 0xD28B
 * header (64-bit UTC, 48-bit TAI), two with a 16-byte Metamako trailer after the datagram. */
static void sc_tap_timestamps(struct gen *g)
{
    static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
    for (int k = 0; k < 4; k++) {
        g->t += 1 * MS;
        uint64_t stamp = g->t - 1234, secs = stamp / 1000000000ull;
        uint32_t ns = (uint32_t)(stamp % 1000000000ull);
        struct ipaddrs a;
        ipaddrs_set(&a, "10.6.0.1", "10.6.0.2");
        struct buf f = {.n = 0}, udp = {.n = 0};
        putbytes(&f, macs, 12);
        if (k < 2) {
            put16(&f, 0xd28b);
            put16(&f, 1);
            if (k == 0) {
                put16(&f, 0x0110); /* 64-bit, UTC */
                put32(&f, (uint32_t)secs);
            } else {
                put16(&f, 0x0020); /* 48-bit, TAI: 37 s ahead */
                put16(&f, (uint16_t)(secs + 37));
            }
            put32(&f, ns);
        }
        put16(&f, 0x0800);
        build_udp(&udp, 9000, 9001, 32);
        putzero(&udp, 32);
        build_ip(&f, &a, 17, udp.n, g->ipid++, 0, 0);
        putbytes(&f, udp.b, udp.n);
        if (k >= 2) {
            put32(&f, 0xdeadbeef); /* the original FCS */
            put32(&f, (uint32_t)secs);
            put32(&f, ns);
            put8(&f, 0x01);    /* flags: original FCS valid */
            put16(&f, 0x0102); /* device */
            put8(&f, 7);       /* port */
        }
        pcapw_write(&g->w, g->t, f.b, f.n);
    }
}

/* --- expectations ------------------------------------------------------------------------- */

/* Nearest-rank percentile of sorted v[0..n). */
static uint64_t pct(const uint64_t *v, unsigned n, double q)
{
    if (!n) return 0;
    unsigned r = (unsigned)(q * n + 0.999999999);
    if (r < 1) r = 1;
    return v[r - 1];
}

static void put_dist(FILE *f, const uint64_t *v, unsigned n)
{
    fprintf(
        f,
        "{\"n\": %u, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p99.9\": %.3f, \"max\": %.3f, "
        "\"samples_us\": [",
        n, pct(v, n, 0.5) / 1e3, pct(v, n, 0.9) / 1e3, pct(v, n, 0.99) / 1e3,
        pct(v, n, 0.999) / 1e3, n ? v[n - 1] / 1e3 : 0.0);
    /* every sample, so a test can count them into any histogram buckets */
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "%s%.3f", i ? ", " : "", v[i] / 1e3);
    fprintf(f, "]}");
}

static void put_md(FILE *f, const struct md_exp *x)
{
    fprintf(f,
            "{\"name\": \"%s\", \"gaps\": %u, \"lost\": %u, \"duplicates\": %u, "
            "\"end_of_session\": %u, \"feeds\": [",
            x->name, x->md_gaps, x->md_lost, x->md_duplicates, x->end_of_session);
    for (int k = 0; k < 2; k++)
        fprintf(f,
                "%s{\"packets\": %u, \"messages\": %u, \"heartbeats\": %u, \"gaps\": %u, "
                "\"lost\": %u, \"duplicates\": %u}",
                k ? ", " : "", x->packets[k], x->messages[k], x->heartbeats[k], x->gaps[k],
                x->lost[k], x->duplicates[k]);
    fprintf(f, "], \"latency_us\": ");
    put_dist(f, x->lat, x->nlat);
    fprintf(f, ", \"feed_skew_us\": ");
    put_dist(f, x->skew, x->nskew);
    fprintf(f, "}");
}

static void put_soup(FILE *f, struct soup_exp *x)
{
    fprintf(
        f,
        " \"soup\": {\"name\": \"TRDR01\", \"messages\": {\"from_client\": %u, \"from_server\": "
        "%u}, "
        "\"logins_accepted\": 1, \"accepted\": %u, \"rejected\": %u, \"canceled\": %u, "
        "\"executions\": %u, \"heartbeats\": %u, \"end_of_session\": 1, \"unanswered_orders\": 0, "
        "\"orders\": {\"enter_order\": %u, \"cancel\": %u, \"replace\": %u},\n  \"client_types\": "
        "{",
        x->messages[0], x->messages[1], x->accepted, x->rejected, x->canceled, x->executions,
        x->heartbeats, x->orders[0], x->orders[1], x->orders[2]);
    int first = 1;
    for (int t = 0; t < 128; t++)
        if (x->client_types[t]) {
            fprintf(f, "%s\"%c\": %u", first ? "" : ", ", t, x->client_types[t]);
            first = 0;
        }
    fprintf(f, "}, \"server_types\": {");
    first = 1;
    for (int t = 0; t < 128; t++)
        if (x->server_types[t]) {
            fprintf(f, "%s\"%c\": %u", first ? "" : ", ", t, x->server_types[t]);
            first = 0;
        }
    fprintf(f, "},\n  \"order_latency_us\": {");
    static const char *const pairs[] = {"enter_order", "cancel", "replace"};
    for (int p = 0; p < 3; p++) {
        qsort(x->lat[p], x->nlat[p], sizeof(uint64_t), cmp_u64);
        fprintf(f, "%s\"%s\": ", p ? ", " : "", pairs[p]);
        put_dist(f, x->lat[p], x->nlat[p]);
    }
    fprintf(f, "}},\n");
}

static int write_trading_expect(const char *pcap, uint64_t frames, struct fix_exp *fx,
                                struct soup_exp *sx, const struct md_exp *itch,
                                const struct md_exp *mdp3)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s.trading.json", pcap);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f,
            "{\"packets\": %llu,\n \"settings\": [\"trading.itch_timezone=UTC\", "
            "\"trading.feeds.0.name=itch\", \"trading.feeds.0.a=233.54.12.111:26477\", "
            "\"trading.feeds.0.b=233.49.196.111:26477\", \"trading.feeds.1.name=cme-310\", "
            "\"trading.feeds.1.a=224.0.31.1:14310\", \"trading.feeds.1.b=224.0.32.1:15310\"],\n",
            (unsigned long long)frames);
    fprintf(f,
            " \"fix\": {\"name\": \"CLIENT1-EXCH\", \"messages\": {\"from_initiator\": %u, "
            "\"from_acceptor\": %u}, \"logons\": %u, \"logouts\": %u, \"seq_gaps\": %u, "
            "\"seq_missing\": %u, \"resend_requests\": %u, \"gap_fills\": %u, \"poss_dup\": %u, "
            "\"rejects\": %u, \"business_rejects\": %u, \"order_rejects\": %u, "
            "\"heartbeats_missed\": %u, \"test_requests\": %u, \"unanswered_orders\": %u, "
            "\"orders\": {\"new_order\": %u, \"cancel\": %u, \"replace\": %u}, \"holes\": %u,\n"
            "  \"messages_by_type\": {",
            fx->messages[0], fx->messages[1], fx->logons, fx->logouts, fx->seq_gaps,
            fx->seq_missing, fx->resend_requests, fx->gap_fills, fx->poss_dup, fx->rejects,
            fx->business_rejects, fx->order_rejects, fx->heartbeats_missed, fx->test_requests,
            fx->unanswered, fx->orders[0], fx->orders[1], fx->orders[2], fx->holes);
    int first = 1;
    for (int t = 0; t < 128; t++)
        if (fx->types[t]) {
            fprintf(f, "%s\"%c\": %u", first ? "" : ", ", t, fx->types[t]);
            first = 0;
        }
    fprintf(f, "},\n  \"order_latency_us\": {");
    static const char *const pairs[] = {"new_order", "cancel", "replace"};
    for (int p = 0; p < 3; p++) {
        qsort(fx->lat[p], fx->nlat[p], sizeof(uint64_t), cmp_u64);
        fprintf(f, "%s\"%s\": ", p ? ", " : "", pairs[p]);
        put_dist(f, fx->lat[p], fx->nlat[p]);
    }
    fprintf(f, "}},\n");
    put_soup(f, sx);
    fprintf(f,
            " \"events\": {\"ouch.reject\": %u, \"fix.seq_gap\": %u, \"fix.resend_request\": %u, "
            "\"fix.reject\": %u, \"fix.business_reject\": %u, \"fix.order_reject\": %u, "
            "\"fix.logout\": %u, \"fix.heartbeat_missed\": %u, \"md.gap\": %u, "
            "\"md.duplicate\": %u, \"md.arbitration_loss\": %u, \"burst.micro\": 2},\n",
            sx->rejects, fx->seq_gaps, fx->resend_requests, fx->rejects, fx->business_rejects,
            fx->order_rejects, fx->logouts, fx->heartbeats_missed, itch->md_gaps + mdp3->md_gaps,
            itch->duplicate_events + mdp3->duplicate_events,
            itch->arbitration_loss_events + mdp3->arbitration_loss_events);
    fprintf(f, " \"tap_timestamps\": {\"metamako_trailers\": 2, \"arista_headers\": 2, "
               "\"capture_minus_tap_min_ns\": 1234, \"capture_minus_tap_max_ns\": 1234},\n");
    fprintf(f, " \"microbursts\": {\"count\": 2, \"bytes\": 170000, \"peak_bps\": 8000000000, "
               "\"longest_us\": 99.0},\n");
    fprintf(f, " \"itch_messages_by_type\": {");
    first = 1;
    for (int t = 0; t < 256; t++)
        if (itch->types[t]) {
            fprintf(f, "%s\"%c\": %u", first ? "" : ", ", t, itch->types[t]);
            first = 0;
        }
    fprintf(f, "},\n \"mdp3_messages_by_template\": {\"46\": %u},\n \"md\": [", mdp3->types[46]);
    put_md(f, itch);
    fprintf(f, ",\n  ");
    put_md(f, mdp3);
    fprintf(f, "]}\n");
    return fclose(f);
}

int gen_trading(const char *scenario, struct gen *g, const char *out)
{
    if (strcmp(scenario, "trading_fix_md")) return -1;
    static struct fix_exp fx;
    static struct soup_exp sx;
    static struct md_exp itch, mdp3;
    memset(&fx, 0, sizeof(fx));
    memset(&sx, 0, sizeof(sx));
    memset(&itch, 0, sizeof(itch));
    memset(&mdp3, 0, sizeof(mdp3));
    sc_fix(g, &fx);
    g->t += 1000 * MS;
    sc_ouch(g, &sx);
    /* market data after the FIX session, in its own time span */
    g->t += 1000 * MS;
    sc_itch_ab(g, &itch);
    g->t += 1000 * MS;
    sc_mdp3_ab(g, &mdp3);
    sc_bursts(g);
    sc_tap_timestamps(g);
    if (pcapw_close(&g->w) || write_trading_expect(out, g->w.frames, &fx, &sx, &itch, &mdp3))
        return 1;
    return 0;
}
