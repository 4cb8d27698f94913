/* soupbintcp.h - SoupBinTCP framing and the OUCH 4.2 / 5.0 order-entry messages it carries.
 *
 * A SoupBinTCP packet is a 2-byte big-endian length, a type byte and length-1 bytes of
 * payload. Client packets: L login request, U unsequenced data (OUCH orders), R heartbeat,
 * O logout; server packets: A login accepted, J login rejected, S sequenced data (OUCH
 * responses), H heartbeat, Z end of session, + debug. OUCH messages are told apart by type
 * and length (5.0 messages end in an appendage length); an order is identified by its
 * UserRefNum (5.0) or Order Token (4.2). Pure decoding through the cursor helpers; no state.
 */
#ifndef TT_SOUPBINTCP_H
#define TT_SOUPBINTCP_H

#include <stddef.h>
#include <stdint.h>

enum soup_frame_result { SOUP_NEED_MORE = 0, SOUP_OK = 1, SOUP_BAD = 2 };

/* Frames the packet at data[0..len): *total bytes, type, payload. */
enum soup_frame_result soup_frame(const uint8_t *data, size_t len, size_t *total, uint8_t *type,
                                  const uint8_t **payload, size_t *plen);

/* 1 when type is a SoupBinTCP packet type a server (or client) sends. */
int soup_server_type(uint8_t type);
int soup_client_type(uint8_t type);

/* 1 when data[0..len) is a run of whole, well-formed SoupBinTCP packets (for recognising a
 * session on any port by its first segment). */
int soup_plausible(const uint8_t *data, size_t len);

struct ouch_msg {
    uint8_t type;
    uint8_t version; /* 42 or 50; 0 when not an order message we know */
    uint8_t key[14]; /* the order: UserRefNum (5.0, 4 bytes) or Order Token (4.2) */
    uint8_t key_len;
    uint8_t symbol[8];   /* Enter Order only */
    uint8_t clordid[14]; /* 5.0 Enter Order and Rejected */
    uint8_t has_symbol, has_clordid;
    int32_t reason; /* Rejected: 5.0 u16 code, 4.2 the reason character; -1 none */
};

/* Parses the OUCH message inside a client U packet (O enter, U replace, X cancel, M modify)
 * or a server S packet (A accepted, J rejected, C canceled, E executed, U replaced, ...).
 * Returns 0, or -1 when too short for its type. */
int ouch_parse_client(const uint8_t *p, size_t n, struct ouch_msg *m);
int ouch_parse_server(const uint8_t *p, size_t n, struct ouch_msg *m);

#endif
