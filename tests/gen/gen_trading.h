/* gen_trading.h - the generator's trading scenarios (FIX order entry, A/B market data). */
#ifndef TT_GEN_TRADING_H
#define TT_GEN_TRADING_H

struct gen;

/* Writes scenario into g (then closes it) with OUT.trading.json beside it. Returns 0 on
 * success, 1 on a write error, -1 when the scenario is not a trading one. */
int gen_trading(const char *scenario, struct gen *g, const char *out);

#endif
