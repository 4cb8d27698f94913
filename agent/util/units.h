/* units.h - numbers as people write them in settings: durations with a unit, sizes with a
 * binary multiple. */
#ifndef TT_UNITS_H
#define TT_UNITS_H

#include <stdint.h>

/* "250ms", "1.5s", "2m", "100us", "10ns", "1h"; a bare number is seconds. Returns 0 or -1. */
int parse_duration_ns(const char *s, uint64_t *out);

/* An unsigned integer (decimal, 0x hex), optionally followed by k/K, M or G (x 1024^n).
 * Returns 0 or -1. */
int parse_size_u64(const char *s, uint64_t *out);

/* A point in time as ns since the epoch: "1700000000.25" (epoch seconds) or RFC 3339
 * "2023-11-14T22:13:20.5Z" (a space for the T, an offset such as +01:00, or none: UTC).
 * Returns 0 or -1. */
int parse_time_ns(const char *s, uint64_t *out);

#endif
