/* event_json.h - one event as one JSON line, as described by schemas/event.schema.json.
 *
 * Formatting is done by hand into a caller's buffer (no allocation): it runs on the sink
 * thread for every event written. Returns the length written without the terminating NUL,
 * always < len; a line that would not fit is cut at a field boundary and marked invalid
 * only if len is absurdly small (callers pass 4 KiB).
 */
#ifndef TT_EVENT_JSON_H
#define TT_EVENT_JSON_H

#include <stddef.h>

#include "event.h"

size_t event_to_json(const struct event *e, char *buf, size_t len);

/* Formats an address of a flow key (IPv4-mapped shown dotted). */
void addr_to_str(const uint8_t addr[16], uint8_t family, char *buf, size_t len);

/* RFC 3339 UTC with nanoseconds: 2024-05-01T09:30:00.000000123Z */
void ts_to_rfc3339(uint64_t ts_ns, char *buf, size_t len);

const char *ip_proto_name(uint8_t proto);

#endif
