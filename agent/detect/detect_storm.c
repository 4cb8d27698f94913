/* detect_storm.c - sliding-window burst detector (see detect_storm.h). */
#include "detect_storm.h"
#include "../util/table_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int storm_init(struct storm_detector *s, uint32_t threshold, uint64_t window_ns,
               uint64_t cooldown_ns)
{
    memset(s, 0, sizeof(*s));
    s->threshold = threshold;
    s->window_ns = window_ns;
    s->cooldown_ns = cooldown_ns;
    if (threshold == 0)
        return 0; /* disabled */
    s->ts = table_zalloc(threshold, sizeof(*s->ts));
    return s->ts ? 0 : -ENOMEM;
}

void storm_fini(struct storm_detector *s)
{
    table_release(s->ts);
    s->ts = NULL;
}

int storm_feed(struct storm_detector *s, uint64_t ts_ns)
{
    if (!s->threshold)
        return 0;
    s->ts[s->head] = ts_ns;
    s->head = (s->head + 1) % s->threshold;
    if (s->n < s->threshold)
        s->n++;
    if (s->n < s->threshold)
        return 0;
    uint64_t oldest = s->ts[s->head]; /* threshold-1 occurrences before this one */
    if (ts_ns - oldest > s->window_ns)
        return 0;
    if (s->fired && ts_ns - s->last_fire_ns < s->cooldown_ns)
        return 0;
    s->fired = 1;
    s->last_fire_ns = ts_ns;
    return 1;
}
