/* moldudp64.h - NASDAQ's MoldUDP64 packets and the ITCH 5.0 messages they carry (the wire).
 *
 * Pure decoders over one UDP payload, through the cursor helpers: they say whether the bytes
 * are such a packet (structure checks strict enough to recognise a feed on any port), and
 * give its sequence numbers and messages. Sequence tracking and A/B arbitration live in
 * md_session.h; this file never keeps state.
 */
#ifndef TT_MOLDUDP64_H
#define TT_MOLDUDP64_H

#include <stddef.h>
#include <stdint.h>

#include "../decode/cursor.h"

#define MOLD_HEADER_LEN 20
#define MOLD_END_OF_SESSION 0xffff

struct mold_packet {
    uint8_t session[10];
    uint64_t seq;        /* sequence number of the first message */
    uint16_t count;      /* messages; 0 = heartbeat, 0xffff = end of session */
    const uint8_t *msgs; /* message blocks: u16 length, then the bytes */
    size_t msgs_len;
};

/* 1 when payload is a well-formed MoldUDP64 packet: the header, then exactly `count`
 * non-empty message blocks filling the rest (none for a heartbeat or the end of a session).
 * Inline and allocation-free: the worker steering asks it of every multicast datagram. */
static inline int mold_well_formed(const uint8_t *payload, size_t len)
{
    struct cursor c = cur_make(payload, len);
    const uint8_t *h = cur_take(&c, MOLD_HEADER_LEN);
    if (!h) return 0;
    uint32_t count = ld_be16(h + 18);
    if (count == MOLD_END_OF_SESSION) count = 0;
    for (uint32_t n = 0; n < count; n++) { /* exactly count blocks, then nothing */
        const uint8_t *b = cur_take(&c, 2);
        uint16_t l = b ? ld_be16(b) : 0; /* an empty block is malformed too */
        if (!l || !cur_take(&c, l)) return 0;
    }
    return cur_left(&c) == 0;
}

/* Returns 0 when payload is a well-formed MoldUDP64 packet (mold_well_formed), -1 when
 * truncated or inconsistent. */
int mold_parse(const uint8_t *payload, size_t len, struct mold_packet *p);

/* Iterates message blocks: returns 1 with the message and its length set, 0 at the end, -1 on a
 * block that runs past the packet. *off starts at 0. */
int mold_next_message(const struct mold_packet *p, size_t *off, const uint8_t **msg, size_t *mlen);

/* ITCH 5.0: the fixed length of message type t, 0 when t is not an ITCH 5.0 type. */
size_t itch_message_length(uint8_t type);

/* ITCH 5.0 timestamp (ns since midnight, exchange time) of a message, or -1 if too short. */
int64_t itch_timestamp(const uint8_t *msg, size_t len);

/* 1 when every message of p is a known ITCH 5.0 type of the right length. */
int itch_plausible(const struct mold_packet *p);

#endif
