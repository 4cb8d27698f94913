/* capture_csv.h - CSV packet lists (Wireshark's and tshark's exports) as a capture source.
 *
 * Each row becomes a frame of headers only, built from what its columns say (capture_csv.c
 * says how); the run then reports what the columns allow and capture_csv_describe() says what
 * needs the packets themselves.
 */
#ifndef TT_CAPTURE_CSV_H
#define TT_CAPTURE_CSV_H

#include "capture.h"

extern const struct capture_ops capture_csv_ops;

/* Whether path is a CSV packet list (by its name, or a text header naming packet columns). */
int capture_csv_is_csv(const char *path);

/* What the rows cannot give: the TCP analysis needs sequence numbers. */
#define CAPTURE_NO_TCP_NUMBERS 1u
unsigned capture_csv_limits(struct capture *c);

/* The summary's "input" object (a json_t *, owned by the caller): dialect, rows, columns
 * used and ignored, the protocol column's counts, and what needs the packets. */
void *capture_csv_describe(struct capture *c);

#endif
