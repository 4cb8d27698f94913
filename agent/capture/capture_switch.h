/* capture_switch.h - a capture source whose underlying source is replaced while the run goes
 * on (the tap-to-DPDK hand-off of a `mode: auto` interface).
 *
 * The pipeline reads the switch; its owner (another thread) retires the source it wraps and
 * later hands it another. The reader drains the retired source first (every frame it still
 * holds goes out), then lets go of it and says so; until a new source comes, the switch reads
 * as idle (-EAGAIN). Frame ordinals run on across sources. The owner closes a retired source
 * only once capture_switch_retired() says the reader let go.
 */
#ifndef TT_CAPTURE_SWITCH_H
#define TT_CAPTURE_SWITCH_H

#include "capture.h"

/* A switch reading cap (of ops) first. NULL when out of memory. */
struct capture *capture_switch_new(const struct capture_ops *ops, struct capture *cap);
/* Owner: asks the reader to drain and let go of the current source. */
void capture_switch_retire(struct capture *sw);
/* Owner: 1 once the reader has let go of the retired source (it may then be closed). */
int capture_switch_retired(struct capture *sw);
/* Owner: the source the reader takes next (after a retire). */
void capture_switch_set(struct capture *sw, const struct capture_ops *ops, struct capture *cap);

/* close frees the switch only: the sources belong to the owner. */
extern const struct capture_ops capture_switch_ops;

#endif
