/* capture_union.h - several live sources read as one: the queues of an interface, or several
 * interfaces (an A feed on one port, its B feed on another).
 *
 * RSS spreads a port's frames over its queues by a hash the agent does not choose: the two
 * directions of a TCP connection, or the A and B copies of a market-data feed, may come in
 * on different queues. Read as one source, their frames go through the dispatcher's flow
 * and session steering, so each flow and each feed session meets on one worker whatever
 * queue or port brought it. Each call takes a burst from every source that has frames and
 * merges them by timestamp, so a reply that came in on another queue than its request does
 * not overtake it; when none has frames, it waits on all their descriptors at once (at most
 * 10 ms), and under light traffic a little longer once woken (coalesce.h). Frames are
 * renumbered in the order handed out, and each says its source (frame.input: an index into
 * caps). The sources stay the caller's (closing the union closes
 * none of them); the union is read by one thread.
 */
#ifndef TT_CAPTURE_UNION_H
#define TT_CAPTURE_UNION_H

#include "capture.h"

#define CAPTURE_UNION_MAX 64

extern const struct capture_ops capture_union_ops;

/* A union of caps[0..n) (n at most CAPTURE_UNION_MAX, each with rx_nowait and wait_fd), or
 * NULL (out of memory, or a source that cannot be read without waiting). */
struct capture *capture_union_new(const struct capture_ops *const *ops, struct capture *const *caps,
                                  int n, uint64_t coalesce_ns);

#endif
