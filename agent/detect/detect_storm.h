/* detect_storm.h - "N of something within a sliding window" detector (RST and FIN storms).
 *
 * Fed in time order with the timestamps of occurrences; fires when threshold of them fall
 * within window, then stays quiet for cooldown. Memory: threshold timestamps, fixed at init.
 * Runs on the sink thread over the merged event stream, so its result does not depend on how
 * flows were split among workers.
 */
#ifndef TT_DETECT_STORM_H
#define TT_DETECT_STORM_H

#include <stdint.h>

struct storm_detector {
    uint64_t *ts; /* circular: the last `threshold` occurrences */
    uint32_t threshold;
    uint32_t head;
    uint32_t n;
    uint64_t window_ns;
    uint64_t cooldown_ns;
    uint64_t last_fire_ns;
    int fired;
};

int storm_init(struct storm_detector *s, uint32_t threshold, uint64_t window_ns,
               uint64_t cooldown_ns);
void storm_fini(struct storm_detector *s);

/* Records one occurrence at ts; returns 1 when this one makes a storm (report it). */
int storm_feed(struct storm_detector *s, uint64_t ts_ns);

#endif
