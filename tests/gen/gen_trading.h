/* gen_trading.h - the generator's trading scenarios (FIX order entry, A/B market data). */
#ifndef TT_GEN_TRADING_H
#define TT_GEN_TRADING_H

#include <stddef.h>
#include <stdint.h>

struct gen;
struct buf;

/* A FIX 4.4 message with a good BodyLength and CheckSum; fields are "tag=value|tag=value". */
size_t gen_fix_message(char *out, size_t cap, const char *sender, const char *target,
                       const char *type, uint32_t seq, const char *fields);

/* A MoldUDP64 packet (session: 10 characters) of count ITCH 5.0 messages from seq (kinds
 * cycling from first_kind), or a heartbeat (count 0) or end of session (0xffff). */
size_t gen_mold_packet(struct buf *b, const char *session, uint64_t seq, unsigned count,
                       unsigned first_kind, uint64_t its_ns, int first_is_system_event);

/* Writes scenario into g (then closes it) with OUT.trading.json beside it. Returns 0 on
 * success, 1 on a write error, -1 when the scenario is not a trading one. */
int gen_trading(const char *scenario, struct gen *g, const char *out);

#endif
