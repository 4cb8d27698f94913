/* trading_config.h - settings of the trading analyzers (keys under "trading." in the config).
 *
 * Ports lists are written "9876,9880-9889" and parsed by trading_config_finish(); feed pairs
 * come from the YAML list trading.feeds (name, a, b: "GROUP:PORT").
 */
#ifndef TT_TRADING_CONFIG_H
#define TT_TRADING_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "moldudp64.h"

#define TRADING_FEED_PAIRS_MAX 16
#define TRADING_REDACT_MAX 32

struct md_feed_pair {
    char name[32];
    uint8_t used;
    uint8_t family[2];
    uint8_t addr[2][16]; /* [0]: feed A, [1]: feed B (IPv4 as ::ffff:a.b.c.d) */
    uint16_t port[2];
};

struct trading_config {
    uint32_t enabled;
    uint32_t detect;                /* recognise FIX / MoldUDP64 / MDP3 by content on any port */
    uint32_t max_sessions;          /* TCP sessions reassembled at once per worker */
    uint32_t stream_buffer;         /* reassembly bytes per direction */
    uint64_t hole_timeout_ns;       /* a missing segment is given up after this (packet time) */
    uint32_t fix_max_message;       /* larger FIX messages are treated as garbage */
    uint32_t heartbeat_tolerance;   /* percent beyond HeartBtInt before silence is reported */
    uint32_t pending_orders;        /* orders awaiting their first response, per worker */
    uint64_t arbitration_window_ns; /* how long a message may wait for the other feed */
    uint32_t md_sessions;           /* market-data sessions tracked per worker */
    char fix_ports_str[128];
    char mold_ports_str[128];
    char mdp3_ports_str[128];
    char soup_ports_str[128];
    char redact_str[128];
    char itch_timezone[128];
    /* parsed */
    uint8_t fix_ports[65536 / 8];
    uint8_t mold_ports[65536 / 8];
    uint8_t mdp3_ports[65536 / 8];
    uint8_t soup_ports[65536 / 8];
    uint32_t redact_tags[TRADING_REDACT_MAX];
    uint32_t nredact;
    struct md_feed_pair pairs[TRADING_FEED_PAIRS_MAX];
    int npairs; /* pairs[] up to here may be used (set by trading_config_finish) */
};

void trading_config_defaults(struct trading_config *tc);

/* "trading.feeds.N.FIELD" settings. Returns 0 or -1 with a reason in err. */
int trading_feed_set(struct trading_config *tc, const char *key, const char *value, char *err,
                     size_t errlen);

/* Parses the port lists and redaction tags. Returns 0 or -1 with a reason in err. */
int trading_config_finish(struct trading_config *tc, char *err, size_t errlen);

static inline int port_in(const uint8_t *set, uint16_t port)
{
    return set[port >> 3] >> (port & 7) & 1;
}

/* 1 when FIX tag must never leave the agent (credentials and configured ones). */
int trading_tag_redacted(const struct trading_config *tc, uint32_t tag);

/* The pair (and side: 0 A, 1 B) whose group is dst:port; -1 when none. */
int trading_pair_of(const struct trading_config *tc, const uint8_t dst[16], uint16_t port,
                    int *side);

/* Worker-steering key of a UDP datagram: non-zero for market data whose feeds must meet in
 * one worker (a configured pair, or a MoldUDP64 session by name). */
uint64_t trading_steer_key(const struct trading_config *tc, const uint8_t dst[16], uint16_t dport,
                           const uint8_t *payload, size_t len);

/* The part of trading_steer_key() after the configured pairs (the whole of it when trading
 * is enabled and no pair is configured), inline for the dispatcher's fast path: a MoldUDP64
 * packet's session name as a number (never 0), so its A and B copies meet. Only on a
 * MoldUDP64 port or to a multicast group (when detecting), where every packet of a flow
 * parses alike, so a flow never straddles two workers; else 0. */
static inline uint64_t trading_mold_steer_key(const struct trading_config *tc, int multicast,
                                              uint16_t dport, const uint8_t *payload, size_t len)
{
    if (!port_in(tc->mold_ports, dport) && !(tc->detect && multicast)) return 0;
    if (!mold_well_formed(payload, len)) return 0;
    struct cursor c = cur_make(payload, len);
    const uint8_t *session = cur_take(&c, 10);
    uint64_t lo;
    uint16_t hi;
    memcpy(&lo, session, 8);
    memcpy(&hi, session + 8, 2);
    return (lo ^ (uint64_t)hi << 48 ^ (uint64_t)hi) | 1;
}

#endif
