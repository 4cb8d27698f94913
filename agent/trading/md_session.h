/* md_session.h - market-data sessions: a MoldUDP64 session or an MDP 3.0 channel, fed by up to
 * MD_FEEDS_MAX feeds (A and B copies, each a flow). Each feed's sequence numbers are tracked;
 * a gap that no feed fills within the arbitration window is a loss of the session, one that
 * another feed fills is that feed's own loss. Holes wait in a bounded list, expired with
 * packet time. Private to agent/trading/.
 */
#ifndef TT_MD_SESSION_H
#define TT_MD_SESSION_H

#include <stdint.h>

#include "../decode/decode.h"
#include "trading_config.h"
#include "trading_stats.h"

struct trading;
struct flow;
struct packet;

struct md_hole {
    uint64_t start, end; /* [start, end) sequence numbers no feed has delivered yet */
    uint64_t since_ns;
    uint64_t frame;
};

struct md_feed {
    uint8_t used;
    uint8_t family;
    uint16_t port;
    uint8_t addr[16];
    uint64_t next; /* next sequence number expected on this feed */
    uint8_t started;
};

#define MD_HOLES_MAX 16
#define MD_RECENT 256
#define MD_UNPAIRED_MAX 8

struct md_session {
    uint64_t key;
    uint8_t used;
    uint8_t kind; /* enum trading_kind */
    int8_t pair;  /* configured pair, -1 none */
    uint8_t started;
    uint32_t stats;
    char name[24];
    uint8_t raw[10];      /* MoldUDP64 session as on the wire */
    uint64_t merged_next; /* every message before it was delivered by some feed or reported lost */
    uint32_t nfeeds;
    uint32_t nholes;
    struct md_feed feed[MD_FEEDS_MAX];
    struct md_hole holes[MD_HOLES_MAX];
    /* A feed's own losses seen while it was the session's only feed: whether they are
     * arbitration losses depends on a second feed showing up within the window, which
     * live depends on which port's frames were read first. */
    struct md_unpaired_loss {
        uint64_t first, count, ts_ns;
        struct flow_key key;
        uint64_t flow_id;
        uint8_t feed;
    } unpaired[MD_UNPAIRED_MAX];
    uint32_t nunpaired;
    struct flow_key last_key; /* flow of the latest packet: events name it */
    uint64_t last_flow_id;
    struct md_recent {
        uint64_t seq;
        uint64_t ts_ns;
        uint8_t feeds; /* bit per feed that delivered the packet starting at seq */
    } recent[MD_RECENT];
};

/* A packet of a MoldUDP64 or MDP 3.0 flow, through its session (made on first sight). */
void md_mold(struct trading *t, struct flow *f, const struct packet *pkt);
void md_mdp3(struct trading *t, struct flow *f, const struct packet *pkt);
/* Holes older than the arbitration window become losses (housekeeping, packet time). */
void md_expire(struct trading *t, struct md_session *s, uint64_t now_ns);
/* Hole i of s is lost: reported and removed. */
void md_hole_lost(struct trading *t, struct md_session *s, uint32_t i);

#endif
