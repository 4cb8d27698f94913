/* ip_reasm.h - IPv4/IPv6 fragment reassembly in preallocated, bounded memory.
 *
 * Datagrams are keyed by (family, src, dst, protocol, id). Coverage is tracked per 8-byte
 * unit, so duplicates are harmless and overlaps carrying different bytes are counted (the
 * first copy wins). A datagram is complete when every unit up to the end its last fragment
 * gives is held; bytes past that end are left out and counted. Time is packet time: a datagram not
 * completed within the timeout is dropped and counted. When no slot is free the fragment is dropped
 * and counted. One reassembler per worker; no locking, no allocation after ip_reasm_init().
 */
#ifndef TT_IP_REASM_H
#define TT_IP_REASM_H

#include <stdint.h>

struct reasm_slot {
    uint8_t in_use;
    uint8_t family;
    uint8_t proto;
    uint8_t have_last;
    uint32_t id;
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t total_len; /* payload length, known once the last fragment arrived */
    uint32_t covered;   /* 8-byte units received */
    uint64_t first_ts_ns;
    uint8_t *buf;    /* max_bytes of payload */
    uint8_t *bitmap; /* one bit per 8-byte unit */
};

struct ip_reasm {
    struct reasm_slot *slots;
    uint32_t nslots;
    uint32_t max_bytes;
    uint64_t timeout_ns;
    int32_t done_slot; /* slot completed by the last call, freed on the next call */
};

enum reasm_result {
    REASM_HELD = 0,     /* stored, datagram not complete */
    REASM_COMPLETE = 1, /* out and out_len hold the whole payload */
    REASM_DROPPED = 2,  /* *err says why */
};

int ip_reasm_init(struct ip_reasm *r, uint32_t nslots, uint32_t max_bytes, uint64_t timeout_ns);
void ip_reasm_fini(struct ip_reasm *r);
/* Forgets every datagram held, keeping the memory: as after ip_reasm_init. */
void ip_reasm_reset(struct ip_reasm *r);

/* Adds one fragment: payload bytes data[0..len) at byte offset off of the datagram; more is
 * the MF bit. err receives a counter id when the result is REASM_DROPPED, or when the
 * fragment was kept but overlapped differently (TT_C_FRAG_OVERLAP, result unchanged). */
enum reasm_result ip_reasm_add(struct ip_reasm *r, uint8_t family, const uint8_t *src,
                               const uint8_t *dst, uint8_t proto, uint32_t id, uint32_t off,
                               int more, const uint8_t *data, uint32_t len, uint64_t ts_ns,
                               const uint8_t **out, uint32_t *out_len, int *err);

/* Drops datagrams older than the timeout at packet time now_ns; returns how many. */
uint32_t ip_reasm_expire(struct ip_reasm *r, uint64_t now_ns);

#endif
