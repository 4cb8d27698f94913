/* report_trading.h - the "trading" part of the summary JSON and of the human summary.
 *
 * Sessions are listed sorted by protocol and name, so the output does not depend on which
 * worker saw a session first. Latencies are microseconds with nanosecond resolution.
 */
#ifndef TT_REPORT_TRADING_H
#define TT_REPORT_TRADING_H

#include <jansson.h>
#include <stdio.h>

#include "../trading/trading_stats.h"

json_t *report_latency_json(const struct hist *h);
void report_latency_line(FILE *out, const char *title, const struct hist *h);

/* The summary's "trading" object. */
json_t *report_trading_json(const struct trading_stats *t);

/* Prints the trading section; nothing when no trading protocol was seen. */
void report_trading_human(const struct trading_stats *t, FILE *out);

#endif
