/* mdp3.h - CME Market Data Platform 3.0 packets (the wire): a packet header (MsgSeqNum,
 * SendingTime) and SBE messages (u16 size, SBE header, body) filling the rest of the datagram.
 *
 * Pure decoders over one UDP payload, through the cursor helpers; sequence tracking and A/B
 * arbitration live in md_session.h.
 */
#ifndef TT_MDP3_H
#define TT_MDP3_H

#include <stddef.h>
#include <stdint.h>

struct mdp3_packet {
    uint32_t seq;          /* MsgSeqNum of the packet */
    uint64_t sending_time; /* ns since the Unix epoch */
    const uint8_t *msgs;   /* messages: u16 size (incl. itself) + SBE header + body */
    size_t msgs_len;
};

/* Returns 0 when payload is an MDP 3.0 packet whose SBE messages fill it exactly and carry
 * CME's schema id 1, else -1. */
int mdp3_parse(const uint8_t *payload, size_t len, struct mdp3_packet *p);

/* Iterates messages: returns 1 with the SBE template id, 0 at the end, -1 when malformed. */
int mdp3_next_message(const struct mdp3_packet *p, size_t *off, uint16_t *template_id);

#endif
