/* capture_csv.c - packet lists exported as CSV, read as frames (source "csv-file").
 *
 * Wireshark's "Export Packet Dissections > As CSV" (No., Time, Source, Destination,
 * Protocol, Length, Info) and `tshark -T fields -E header=y -E separator=,` exports (any of
 * frame.time_epoch, ip.src, tcp.srcport, tcp.seq, tcp.flags...) are mapped by column name.
 * Each row becomes a frame holding only headers (Ethernet, IPv4/IPv6, TCP/UDP/ICMP) built from
 * what the columns say, with the row's length as the wire length, so the one pipeline counts
 * packets, bytes, flows, talkers, the protocol mix and timing as for the capture itself.
 * Ports missing from a row (Wireshark's Info names no ports above TCP) are those of the
 * address pair's latest conversation. Without tcp.seq/tcp.ack (nor Seq=/Ack= in Info) the TCP
 * analysis cannot be judged and is left out (capture_limits). What needs the packets' bytes
 * (payloads: FIX, ITCH, MDP3; TCP options) is said in the summary's "input" (capture_describe).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "../util/units.h"
#include "capture_csv.h"

#define CSV_SLOT 128 /* bytes of headers built per row */
#define CSV_BURST 64
#define CSV_FIELDS 64
#define CSV_PAIRS 4096 /* address pairs whose latest ports are remembered */
#define CSV_PROTOS 32  /* protocol column values counted for the summary */

enum role {
    R_NONE,
    R_NO,
    R_TIME,
    R_SRC,
    R_DST,
    R_SRC6,
    R_DST6,
    R_PROTO_NAME,
    R_IPPROTO,
    R_LEN,
    R_TSPORT,
    R_TDPORT,
    R_USPORT,
    R_UDPORT,
    R_FLAGS,
    R_SEQ,
    R_SEQ_RAW,
    R_ACK,
    R_ACK_RAW,
    R_TLEN,
    R_WIN,
    R_WIN_RAW,
    R_INFO,
    R_MAX
};

static const struct {
    const char *name;
    enum role role;
} column_names[] = {
    {"no.", R_NO},
    {"frame.number", R_NO},
    {"time", R_TIME},
    {"frame.time", R_TIME},
    {"frame.time_epoch", R_TIME},
    {"frame.time_relative", R_TIME},
    {"frame.time_utc", R_TIME},
    {"_ws.col.time", R_TIME},
    {"source", R_SRC},
    {"ip.src", R_SRC},
    {"_ws.col.source", R_SRC},
    {"_ws.col.def_src", R_SRC},
    {"destination", R_DST},
    {"ip.dst", R_DST},
    {"_ws.col.destination", R_DST},
    {"_ws.col.def_dst", R_DST},
    {"ipv6.src", R_SRC6},
    {"ipv6.dst", R_DST6},
    {"protocol", R_PROTO_NAME},
    {"_ws.col.protocol", R_PROTO_NAME},
    {"ip.proto", R_IPPROTO},
    {"ipv6.nxt", R_IPPROTO},
    {"length", R_LEN},
    {"frame.len", R_LEN},
    {"_ws.col.length", R_LEN},
    {"tcp.srcport", R_TSPORT},
    {"tcp.dstport", R_TDPORT},
    {"udp.srcport", R_USPORT},
    {"udp.dstport", R_UDPORT},
    {"tcp.flags", R_FLAGS},
    {"tcp.seq", R_SEQ},
    {"tcp.seq_raw", R_SEQ_RAW},
    {"tcp.ack", R_ACK},
    {"tcp.ack_raw", R_ACK_RAW},
    {"tcp.len", R_TLEN},
    {"tcp.window_size", R_WIN},
    {"tcp.window_size_value", R_WIN_RAW},
    {"info", R_INFO},
    {"_ws.col.info", R_INFO},
};

/* The latest conversation of an address pair: its protocol and ports (as src -> dst). */
struct pair {
    uint8_t a[16], b[16];
    uint16_t pa, pb;
    uint8_t proto, used;
};

/* Synthesised TCP numbers when the columns have none: each side's next sequence number. */
struct seq_guess {
    uint8_t a[16];
    uint16_t pa, pb;
    uint32_t next;
    uint8_t hdr;   /* this side's TCP header length, learnt from rows giving Len= (0: not yet) */
    int8_t wscale; /* Info's SYN said WS=2^wscale (its Win= values are scaled); -1: no */
};

struct capture {
    FILE *f;
    const char *path;
    uint64_t size, done;
    int col[R_MAX]; /* the column of each role, -1: absent */
    char *names[CSV_FIELDS];
    int ncols;
    int wireshark; /* Wireshark's GUI columns rather than tshark's fields */
    char *line;
    size_t line_cap;
    uint8_t slots[CSV_BURST][CSV_SLOT];
    uint64_t rows, bytes, unparsed, ambiguous, ports_inferred, relative_times, non_ip;
    uint64_t base_ts; /* relative times: they count from here (0) */
    struct pair *pairs;
    struct seq_guess *seqs;
    struct {
        char name[24];
        uint64_t n;
    } protos[CSV_PROTOS];
    uint64_t protos_other;
    int tcp_numbers; /* the columns (or Info) give TCP sequence numbers */
};

/* Splits a CSV line in place; quotes may hold separators, "" is a quote. */
static int split_csv(char *line, char **out, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *start = p, *w = p;
        if (*p == '"') {
            start = w = ++p;
            while (*p) {
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',' && *p != '\r' && *p != '\n')
                p++;
            w = p;
        }
        int last = *p != ',';
        if (n < max) out[n] = start;
        n++;
        *w = 0;
        if (last) break;
        p++;
    }
    return n;
}

static const char *field(const struct capture *c, char **f, int nf, enum role r)
{
    int i = c->col[r];
    return i >= 0 && i < nf && *f[i] ? f[i] : NULL;
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A time as Wireshark and tshark print it: epoch or relative seconds, "2023-11-14 22:13:20.5"
 * (absolute, UTC), frame.time's "Nov 14, 2023 22:13:20.123456789 UTC", or the time of day
 * "22:13:20.5". Returns 0, 1 when without a date (relative to the first packet or to
 * midnight), -1 when not a time. */
static int parse_row_time(const char *s, uint64_t *ns)
{
    char mon[4];
    int d, y, h, mi, sec, n = 0;
    if (sscanf(s, "%3s %d, %d %d:%d:%d%n", mon, &d, &y, &h, &mi, &sec, &n) == 6) {
        int m = -1;
        for (int i = 0; i < 12; i++)
            if (!strcasecmp(mon, months[i])) m = i;
        if (m < 0) return -1;
        char iso[64];
        const char *frac = s + n;
        size_t fl = strspn(frac, ".0123456789");
        snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d%.*sZ", y, m + 1, d, h, mi, sec,
                 (int)fl, frac);
        return parse_time_ns(iso, ns) ? -1 : 0;
    }
    if (sscanf(s, "%d:%d:%d%n", &h, &mi, &sec, &n) == 3 && h < 24 && mi < 60 && sec < 61 &&
        strspn(s + n, ".0123456789") == strlen(s + n)) { /* Wireshark's "time of day" */
        char secs[48];
        snprintf(secs, sizeof(secs), "%d%s", h * 3600 + mi * 60 + sec, s + n);
        return parse_time_ns(secs, ns) ? -1 : 1;
    }
    if (!parse_time_ns(s, ns)) {
        /* bare seconds: below ~3 years from 1970 they are relative to the first packet */
        int bare = strspn(s, "0123456789.") == strlen(s);
        return bare && *ns < 100000000ull * 1000000000ull ? 1 : 0;
    }
    return -1;
}

static int parse_addr(const char *s, uint8_t a[16], int *v6)
{
    if (!s) return 0;
    uint8_t b4[4];
    if (inet_pton(AF_INET, s, b4) == 1) {
        memset(a, 0, 10);
        a[10] = a[11] = 0xff;
        memcpy(a + 12, b4, 4);
        *v6 = 0;
        return 1;
    }
    if (inet_pton(AF_INET6, s, a) == 1) {
        *v6 = 1;
        return 1;
    }
    return 0;
}

static int u64_of(const char *s, uint64_t *v)
{
    if (!s) return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || end == s || (*end && *end != ',')) return 0; /* "1,2": the first */
    *v = x;
    return 1;
}

/* Protocol column names that ride on TCP or UDP when no port column says so. */
static int l4_of_name(const char *p)
{
    static const char *const tcp[] = {"TCP",  "HTTP",  "TLS",       "SSL",   "SSH",   "FTP",
                                      "SMTP", "IMAP",  "POP",       "BGP",   "FIX",   "SMB",
                                      "LDAP", "MySQL", "PGSQL",     "Kafka", "HTTP2", "Telnet",
                                      "RDP",  "OUCH",  "SoupBinTCP"};
    static const char *const udp[] = {
        "UDP", "DNS",  "QUIC", "NTP",    "SNMP", "SSDP",      "MDNS", "LLMNR", "NBNS",   "DHCP",
        "RTP", "RTCP", "SIP",  "Syslog", "TFTP", "MoldUDP64", "ITCH", "MDP3",  "DHCPv6", "GQUIC"};
    if (!p) return 0;
    for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]); i++)
        if (!strncasecmp(p, tcp[i], strlen(tcp[i]))) return 6;
    for (size_t i = 0; i < sizeof(udp) / sizeof(udp[0]); i++)
        if (!strncasecmp(p, udp[i], strlen(udp[i]))) return 17;
    if (!strncasecmp(p, "ICMPv6", 6)) return 58;
    if (!strncasecmp(p, "ICMP", 4)) return 1;
    return 0;
}

/* What Wireshark's Info says of TCP/UDP: "51234 → 443 [SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0". */
struct info {
    int has_ports, has_seq, has_ack, has_win, has_len, wscale; /* wscale: WS=2^n, -1 none */
    uint16_t sport, dport, flags;
    uint64_t seq, ack, win, len;
};

static void parse_info(const char *s, struct info *in)
{
    memset(in, 0, sizeof(*in));
    if (!s) return;
    unsigned a, b;
    int n = 0;
    /* "51234 → 443", after any "[TCP Retransmission] " and the like; "→" is UTF-8 E2 86 92,
     * older versions print ">" */
    const char *arrow = strstr(s, " \xe2\x86\x92 ");
    if (!arrow) arrow = strstr(s, " > ");
    const char *num = arrow;
    while (num && num > s && isdigit((unsigned char)num[-1]))
        num--;
    if (num && num < arrow &&
        (sscanf(num, "%u \xe2\x86\x92 %u%n", &a, &b, &n) == 2 ||
         sscanf(num, "%u > %u%n", &a, &b, &n) == 2)) {
        if (a < 65536 && b < 65536) {
            in->has_ports = 1;
            in->sport = (uint16_t)a;
            in->dport = (uint16_t)b;
        }
    }
    const char *fl = strchr(s, '[');
    if (fl && in->has_ports) {
        static const struct {
            const char *n;
            uint16_t bit;
        } f[] = {{"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08},
                 {"ACK", 0x10}, {"URG", 0x20}, {"ECE", 0x40}, {"CWR", 0x80}};
        const char *end = strchr(fl, ']');
        for (size_t i = 0; end && i < sizeof(f) / sizeof(f[0]); i++) {
            const char *m = strstr(fl, f[i].n);
            if (m && m < end) in->flags |= f[i].bit;
        }
    }
    const char *p;
    if ((p = strstr(s, "Seq="))) in->has_seq = sscanf(p + 4, "%" SCNu64, &in->seq) == 1;
    if ((p = strstr(s, "Ack="))) in->has_ack = sscanf(p + 4, "%" SCNu64, &in->ack) == 1;
    if ((p = strstr(s, "Win="))) in->has_win = sscanf(p + 4, "%" SCNu64, &in->win) == 1;
    if ((p = strstr(s, "Len="))) in->has_len = sscanf(p + 4, "%" SCNu64, &in->len) == 1;
    unsigned ws;
    in->wscale = -1;
    if ((p = strstr(s, " WS=")) && sscanf(p + 4, "%u", &ws) == 1 && ws && !(ws & (ws - 1)))
        in->wscale = __builtin_ctz(ws);
}

static struct pair *pair_slot(struct capture *c, const uint8_t a[16], const uint8_t b[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ (a[i] ^ b[i])) * 16777619u; /* symmetric: either direction finds it */
    return &c->pairs[h % CSV_PAIRS];
}

/* The next sequence number of side (a, pa -> pb), made up when the columns have none. */
static struct seq_guess *seq_slot(struct capture *c, const uint8_t a[16], uint16_t pa, uint16_t pb)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ a[i]) * 16777619u;
    h = (h ^ pa) * 16777619u;
    h = (h ^ pb) * 16777619u;
    struct seq_guess *g = &c->seqs[h % CSV_PAIRS];
    if (memcmp(g->a, a, 16) || g->pa != pa || g->pb != pb) {
        memcpy(g->a, a, 16);
        g->pa = pa;
        g->pb = pb;
        g->next = 1;
        g->hdr = 0;
        g->wscale = -1;
    }
    return g;
}

static void count_proto(struct capture *c, const char *name)
{
    if (!name) return;
    for (int i = 0; i < CSV_PROTOS; i++) {
        if (!c->protos[i].name[0])
            snprintf(c->protos[i].name, sizeof(c->protos[i].name), "%s", name);
        if (!strncmp(c->protos[i].name, name, sizeof(c->protos[i].name) - 1)) {
            c->protos[i].n++;
            return;
        }
    }
    c->protos_other++;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* Builds the frame of one row into slot; returns its captured length. */
static uint32_t build_frame(struct capture *c, char **f, int nf, uint8_t *slot, uint32_t *wirelen)
{
    uint8_t src[16], dst[16];
    int v6 = 0, v6b = 0;
    uint64_t len = 0;
    u64_of(field(c, f, nf, R_LEN), &len);
    const char *pname = field(c, f, nf, R_PROTO_NAME);
    count_proto(c, pname);
    int ip = (parse_addr(field(c, f, nf, R_SRC), src, &v6) ||
              parse_addr(field(c, f, nf, R_SRC6), src, &v6)) &&
             (parse_addr(field(c, f, nf, R_DST), dst, &v6b) ||
              parse_addr(field(c, f, nf, R_DST6), dst, &v6b)) &&
             v6 == v6b;
    memset(slot, 0, 14);
    slot[6] = 2; /* a locally administered source MAC: made up, not seen */
    if (!ip) {
        c->non_ip++;
        put16(slot + 12, pname && !strcasecmp(pname, "ARP") ? 0x0806 : 0x88b5);
        *wirelen = len > 14 ? (uint32_t)len : 14;
        return 14;
    }
    struct info in;
    parse_info(field(c, f, nf, R_INFO), &in);
    uint64_t sp = 0, dp = 0, ipp = 0;
    int proto = 0;
    if (u64_of(field(c, f, nf, R_TSPORT), &sp) && u64_of(field(c, f, nf, R_TDPORT), &dp))
        proto = 6;
    else if (u64_of(field(c, f, nf, R_USPORT), &sp) && u64_of(field(c, f, nf, R_UDPORT), &dp))
        proto = 17;
    else if (in.has_ports) {
        sp = in.sport, dp = in.dport;
        proto = l4_of_name(pname);
        if (proto != 6 && proto != 17) proto = in.flags || in.has_seq ? 6 : 17;
    }
    if (!proto && u64_of(field(c, f, nf, R_IPPROTO), &ipp)) proto = (int)ipp;
    struct pair *pr = pair_slot(c, src, dst);
    int known = (sp || dp) && (proto == 6 || proto == 17);
    if (!known && (!proto || proto == 6 || proto == 17)) { /* the pair's latest conversation */
        int l4 = proto ? proto : l4_of_name(pname);
        if (pr->used && (l4 == 0 || l4 == pr->proto) &&
            ((!memcmp(pr->a, src, 16) && !memcmp(pr->b, dst, 16)) ||
             (!memcmp(pr->a, dst, 16) && !memcmp(pr->b, src, 16)))) {
            int fwd = !memcmp(pr->a, src, 16);
            sp = fwd ? pr->pa : pr->pb;
            dp = fwd ? pr->pb : pr->pa;
            proto = pr->proto;
            known = 1;
            c->ports_inferred++;
        } else if (l4) {
            proto = l4; /* no ports known: port 0 both ways */
        }
    }
    if (known) {
        memcpy(pr->a, src, 16);
        memcpy(pr->b, dst, 16);
        pr->pa = (uint16_t)sp;
        pr->pb = (uint16_t)dp;
        pr->proto = (uint8_t)proto;
        pr->used = 1;
    }
    uint32_t iph = v6 ? 40 : 20, l4h = proto == 6                                 ? 20
                                       : proto == 17 || proto == 1 || proto == 58 ? 8
                                                                                  : 0;
    uint64_t tlen = 0;
    int has_tlen = proto == 6 &&
                   (u64_of(field(c, f, nf, R_TLEN), &tlen) || (in.has_len && (tlen = in.len, 1)));
    uint64_t ip_total = len > 14 ? len - 14 : iph + l4h;
    if (proto == 6 && (sp || dp)) {
        /* the TCP header's real length (options) tells a row without Len= its payload */
        struct seq_guess *g = seq_slot(c, src, (uint16_t)sp, (uint16_t)dp);
        if (has_tlen && len > 14 + iph + tlen && len - 14 - iph - tlen <= 60 &&
            !(len <= 60 && !tlen))
            g->hdr = (uint8_t)(len - 14 - iph - tlen);
        else if (!has_tlen && ip_total >= iph + (g->hdr ? g->hdr : 20))
            tlen = ip_total - iph - (g->hdr ? g->hdr : 20), has_tlen = 1;
    }
    if (has_tlen) ip_total = iph + l4h + tlen; /* exact: options and Ethernet padding left out */
    if (ip_total < iph + l4h) ip_total = iph + l4h;
    if (ip_total > 65535 + (v6 ? 40 : 0)) ip_total = 65535;
    put16(slot + 12, v6 ? 0x86dd : 0x0800);
    uint8_t *h = slot + 14;
    if (v6) {
        memset(h, 0, 40);
        h[0] = 0x60;
        put16(h + 4, (uint32_t)(ip_total - 40));
        h[6] = (uint8_t)proto;
        h[7] = 64;
        memcpy(h + 8, src, 16);
        memcpy(h + 24, dst, 16);
    } else {
        memset(h, 0, 20);
        h[0] = 0x45;
        put16(h + 2, (uint32_t)ip_total);
        put16(h + 4, (uint32_t)c->rows); /* an IP ID per row: rows are not copies of each other */
        h[8] = 64;
        h[9] = (uint8_t)proto;
        memcpy(h + 12, src + 12, 4);
        memcpy(h + 16, dst + 12, 4);
    }
    uint8_t *l4 = h + iph;
    memset(l4, 0, l4h);
    if (proto == 6) {
        uint64_t flags = 0, seq = 0, ack = 0, win = 0;
        if (!u64_of(field(c, f, nf, R_FLAGS), &flags)) flags = in.flags;
        int has_seq = u64_of(field(c, f, nf, R_SEQ_RAW), &seq) ||
                      u64_of(field(c, f, nf, R_SEQ), &seq) || (in.has_seq && (seq = in.seq, 1));
        int has_ack = u64_of(field(c, f, nf, R_ACK_RAW), &ack) ||
                      u64_of(field(c, f, nf, R_ACK), &ack) || (in.has_ack && (ack = in.ack, 1));
        struct seq_guess *side = seq_slot(c, src, (uint16_t)sp, (uint16_t)dp);
        int syn_ws = (flags & 0x02) && in.wscale >= 0;
        if (syn_ws) side->wscale = (int8_t)in.wscale;
        if (!u64_of(field(c, f, nf, R_WIN_RAW), &win) && !u64_of(field(c, f, nf, R_WIN), &win)) {
            win = in.has_win ? in.win : 65535;
            /* Info's Win= is scaled once the handshake agreed on scaling: back to the field */
            struct seq_guess *peer = seq_slot(c, dst, (uint16_t)dp, (uint16_t)sp);
            if (in.has_win && !(flags & 0x02) && side->wscale >= 0 && peer->wscale >= 0)
                win >>= side->wscale;
        }
        /* A row without numbers (Wireshark's Info above TCP names none) continues its side
         * in order from the last one that had them: nothing lost, nothing repeated. */
        struct seq_guess *g = seq_slot(c, src, (uint16_t)sp, (uint16_t)dp);
        struct seq_guess *r = seq_slot(c, dst, (uint16_t)dp, (uint16_t)sp);
        if (!has_seq) seq = g->next;
        if (!has_ack) ack = (flags & 0x10) ? r->next : 0;
        uint32_t end = (uint32_t)seq + (uint32_t)(ip_total - iph - l4h) + ((flags & 0x03) ? 1 : 0);
        if ((int32_t)(end - g->next) > 0 || !has_seq) g->next = end;
        put16(l4, (uint32_t)sp);
        put16(l4 + 2, (uint32_t)dp);
        put32(l4 + 4, (uint32_t)seq);
        put32(l4 + 8, (uint32_t)ack);
        l4[12] = 5 << 4;
        l4[13] = (uint8_t)flags;
        put16(l4 + 14, (uint32_t)(win > 65535 ? 65535 : win));
        if (syn_ws) { /* the window scale option, so that the analysis scales as Wireshark did */
            l4[12] = 6 << 4;
            l4[20] = 1; /* NOP */
            l4[21] = 3;
            l4[22] = 3;
            l4[23] = (uint8_t)in.wscale;
            l4h += 4;
            if (v6)
                put16(h + 4, (uint32_t)(ip_total - 40 + 4));
            else
                put16(h + 2, (uint32_t)ip_total + 4);
        }
    } else if (proto == 17) {
        put16(l4, (uint32_t)sp);
        put16(l4 + 2, (uint32_t)dp);
        put16(l4 + 4, (uint32_t)(ip_total - iph));
    }
    uint32_t caplen = 14 + iph + l4h;
    uint64_t wire = 14 + ip_total;
    *wirelen = (uint32_t)(len > wire ? len : wire);
    return caplen;
}

static int csv_open(struct capture **out, const char *const *paths, int npaths, const char *filter,
                    char *err, size_t errlen)
{
    if (npaths != 1) {
        snprintf(err, errlen, "CSV input: give one CSV file at a time (or captures, not both)");
        return -EINVAL;
    }
    if (filter && *filter) {
        snprintf(err, errlen,
                 "--filter: a CSV export has no bytes to match a tcpdump filter on "
                 "(filter when exporting, e.g. tshark -Y)");
        return -EINVAL;
    }
    struct capture *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    c->path = paths[0];
    c->pairs = calloc(CSV_PAIRS, sizeof(*c->pairs));
    c->seqs = calloc(CSV_PAIRS, sizeof(*c->seqs));
    if (!c->pairs || !c->seqs || !(c->f = fopen(paths[0], "r"))) {
        snprintf(err, errlen, "%s: cannot read CSV: %s", paths[0], strerror(errno));
        capture_csv_ops.close(c);
        return -EINVAL;
    }
    struct stat st;
    if (!fstat(fileno(c->f), &st)) c->size = (uint64_t)st.st_size;
    ssize_t n = getline(&c->line, &c->line_cap, c->f);
    if (n <= 0) {
        snprintf(err, errlen, "%s: an empty CSV file (export it with a header line)", paths[0]);
        capture_csv_ops.close(c);
        return -EINVAL;
    }
    c->done = (uint64_t)n;
    char *p = c->line;
    if ((uint8_t)p[0] == 0xef && (uint8_t)p[1] == 0xbb && (uint8_t)p[2] == 0xbf) p += 3; /* BOM */
    char *names[CSV_FIELDS];
    c->ncols = split_csv(p, names, CSV_FIELDS);
    if (c->ncols > CSV_FIELDS) c->ncols = CSV_FIELDS;
    for (int r = 0; r < R_MAX; r++)
        c->col[r] = -1;
    for (int i = 0; i < c->ncols; i++) {
        c->names[i] = strdup(names[i]);
        for (size_t k = 0; k < sizeof(column_names) / sizeof(column_names[0]); k++)
            if (c->names[i] && !strcasecmp(names[i], column_names[k].name) &&
                c->col[column_names[k].role] < 0)
                c->col[column_names[k].role] = i;
    }
    c->wireshark =
        c->col[R_INFO] >= 0 && c->col[R_NO] >= 0 && !strcmp(c->names[c->col[R_NO]], "No.");
    if (c->col[R_TIME] < 0 || (c->col[R_SRC] < 0 && c->col[R_SRC6] < 0)) {
        snprintf(err, errlen,
                 "%s: not a packet list: the CSV needs a time column and a source column "
                 "(Wireshark: Export Packet Dissections > As CSV; tshark -T fields -E header=y "
                 "-E separator=, -e frame.time_epoch -e ip.src -e ip.dst -e frame.len ...)",
                 paths[0]);
        capture_csv_ops.close(c);
        return -EINVAL;
    }
    c->tcp_numbers = c->col[R_SEQ] >= 0 || c->col[R_SEQ_RAW] >= 0 || c->col[R_INFO] >= 0;
    *out = c;
    return 0;
}

static int csv_rx_burst(struct capture *c, struct frame *frames, int max, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    int n = 0;
    if (max > CSV_BURST) max = CSV_BURST;
    while (n < max) {
        ssize_t len = getline(&c->line, &c->line_cap, c->f);
        if (len <= 0) break;
        c->done += (uint64_t)len;
        if (len <= 2 && (c->line[0] == '\n' || c->line[0] == '\r')) continue;
        char *f[CSV_FIELDS];
        int nf = split_csv(c->line, f, CSV_FIELDS);
        if (nf > c->ncols) c->ambiguous++; /* a multi-valued field split on the separator */
        if (nf > CSV_FIELDS) nf = CSV_FIELDS;
        uint64_t ts;
        const char *t = field(c, f, nf, R_TIME);
        int rel = t ? parse_row_time(t, &ts) : -1;
        if (rel < 0) {
            c->unparsed++;
            continue;
        }
        if (rel) {
            c->relative_times++;
            ts += c->base_ts;
        }
        c->rows++;
        struct frame *fr = &frames[n];
        uint8_t *slot = c->slots[n];
        uint32_t wirelen;
        fr->caplen = build_frame(c, f, nf > c->ncols ? c->ncols : nf, slot, &wirelen);
        fr->wirelen = wirelen;
        fr->data = slot;
        fr->ts_ns = ts;
        fr->ordinal = c->rows;
        fr->linktype = DLT_EN10MB;
        fr->input = 0;
        fr->key_hashed = 0;
        c->bytes += wirelen;
        n++;
    }
    return n;
}

static void csv_stats(struct capture *c, struct capture_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->frames = c->rows;
    st->bytes = c->bytes;
}

static void csv_progress(struct capture *c, uint64_t *done, uint64_t *total)
{
    *done = c->done;
    *total = c->size;
}

static void csv_close(struct capture *c)
{
    if (!c) return;
    if (c->f) fclose(c->f);
    for (int i = 0; i < c->ncols; i++)
        free(c->names[i]);
    free(c->line);
    free(c->pairs);
    free(c->seqs);
    free(c);
}

unsigned capture_csv_limits(struct capture *c)
{
    return c->tcp_numbers ? 0 : CAPTURE_NO_TCP_NUMBERS;
}

void *capture_csv_describe(struct capture *c)
{
    static const char *const role_names[R_MAX] = {[R_NO] = "number",
                                                  [R_TIME] = "time",
                                                  [R_SRC] = "source",
                                                  [R_DST] = "destination",
                                                  [R_SRC6] = "source_ipv6",
                                                  [R_DST6] = "destination_ipv6",
                                                  [R_PROTO_NAME] = "protocol",
                                                  [R_IPPROTO] = "ip_protocol",
                                                  [R_LEN] = "length",
                                                  [R_TSPORT] = "tcp_source_port",
                                                  [R_TDPORT] = "tcp_destination_port",
                                                  [R_USPORT] = "udp_source_port",
                                                  [R_UDPORT] = "udp_destination_port",
                                                  [R_FLAGS] = "tcp_flags",
                                                  [R_SEQ] = "tcp_seq",
                                                  [R_SEQ_RAW] = "tcp_seq_raw",
                                                  [R_ACK] = "tcp_ack",
                                                  [R_ACK_RAW] = "tcp_ack_raw",
                                                  [R_TLEN] = "tcp_len",
                                                  [R_WIN] = "tcp_window",
                                                  [R_WIN_RAW] = "tcp_window_raw",
                                                  [R_INFO] = "info"};
    json_t *cols = json_object(), *ignored = json_array(), *protos = json_object();
    for (int r = 1; r < R_MAX; r++)
        if (c->col[r] >= 0 && c->names[c->col[r]])
            json_object_set_new(cols, role_names[r], json_string(c->names[c->col[r]]));
    for (int i = 0; i < c->ncols; i++) {
        int used = 0;
        for (int r = 1; r < R_MAX; r++)
            used |= c->col[r] == i;
        if (!used && c->names[i]) json_array_append_new(ignored, json_string(c->names[i]));
    }
    for (int i = 0; i < CSV_PROTOS && c->protos[i].name[0]; i++)
        json_object_set_new(protos, c->protos[i].name, json_integer((json_int_t)c->protos[i].n));
    if (c->protos_other)
        json_object_set_new(protos, "other", json_integer((json_int_t)c->protos_other));
    json_t *needs = json_array();
    json_array_append_new(needs, json_string("payloads: FIX, SoupBinTCP/OUCH, MoldUDP64/ITCH and "
                                             "MDP3 analysis, payload duplicates"));
    json_array_append_new(needs,
                          json_string(c->wireshark && c->col[R_WIN_RAW] < 0
                                          ? "TCP options and raw windows: Info's Win= is "
                                            "scaled, so window updates and full windows "
                                            "are judged on it"
                                          : "TCP options: window scaling, SACK, timestamps "
                                            "(window_full and zero_window use raw windows)"));
    json_array_append_new(needs, json_string("tunnels, VLANs, fragments: the rows name one "
                                             "address pair"));
    if (!c->tcp_numbers)
        json_array_append_new(needs,
                              json_string("TCP sequence and ACK numbers (no tcp.seq, "
                                          "tcp.ack or Info column): the TCP analysis "
                                          "(retransmissions, duplicate ACKs, RTT) is left out"));
    if (c->col[R_LEN] < 0)
        json_array_append_new(needs, json_string("frame lengths (no frame.len or Length column): "
                                                 "bytes count headers only"));
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:o, s:o, s:o, s:o}", "format",
                     "csv", "dialect", c->wireshark ? "wireshark" : "tshark-fields", "rows",
                     (json_int_t)c->rows, "rows_unparsed", (json_int_t)c->unparsed,
                     "rows_ambiguous", (json_int_t)c->ambiguous, "ports_inferred",
                     (json_int_t)c->ports_inferred, "non_ip_rows", (json_int_t)c->non_ip,
                     "relative_times", c->relative_times > 0, "columns", cols, "columns_ignored",
                     ignored, "protocol_column", protos, "needs_the_packets", needs);
}

const struct capture_ops capture_csv_ops = {
    .name = "csv-file",
    .progress = csv_progress,
    .open = csv_open,
    .rx_burst = csv_rx_burst,
    .stats = csv_stats,
    .close = csv_close,
};

int capture_csv_is_csv(const char *path)
{
    size_t n = strlen(path);
    if (n > 4 && !strcasecmp(path + n - 4, ".csv")) return 1;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char head[256];
    size_t got = fread(head, 1, sizeof(head) - 1, f);
    fclose(f);
    head[got] = 0;
    /* a text header naming packet-list columns */
    for (size_t i = 0; i < got; i++)
        if (!head[i] || (!isprint((unsigned char)head[i]) && !isspace((unsigned char)head[i]) &&
                         (unsigned char)head[i] < 0x80))
            return 0;
    return strstr(head, "frame.") || strstr(head, "\"No.\"") || strstr(head, "ip.src");
}
