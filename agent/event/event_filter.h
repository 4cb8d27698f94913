/* event_filter.h - which events go out: analyze --events-filter.
 *
 * An expression is terms separated by commas or spaces, all of which must hold:
 *   type=GLOB[|GLOB...]   event type, '*' as a wildcard (type=tcp.*|md.gap)
 *   severity>=LEVEL       info, warn, critical (also severity=LEVEL)
 *   flow=ID               the flow id as printed (16 hex digits)
 *   host=ADDR, port=N     either end of the event's flow
 *   session=NAME          a FIX CompID (either side), an OUCH session, a market-data session
 *   from=TIME, to=TIME    the event's time: epoch seconds or RFC 3339 (units.h)
 * A term may be negated with '!=' (type!=flow). The filter chooses what is written and sent;
 * the summary still counts every event, and how many were left out.
 */
#ifndef TT_EVENT_FILTER_H
#define TT_EVENT_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define EVENT_FILTER_TERMS 16

struct event_filter_term {
    uint8_t kind; /* enum in event_filter.c */
    uint8_t negate;
    uint8_t at_least; /* severity>= */
    uint8_t severity;
    uint8_t addr[16];
    uint8_t family;
    uint16_t port;
    uint64_t value;        /* flow id, time */
    uint8_t types[EV_MAX]; /* type: the types the globs match */
    char name[48];         /* session */
};

struct event_filter {
    struct event_filter_term terms[EVENT_FILTER_TERMS];
    uint32_t n;
};

/* Parses expr into f. Returns 0, or -1 with what is wrong in err. */
int event_filter_parse(struct event_filter *f, const char *expr, char *err, size_t errlen);

/* Whether e passes (an empty filter passes everything). */
int event_filter_match(const struct event_filter *f, const struct event *e);

#endif
