/* detect_burst.c - microburst detection over a sliding byte window (see detect_burst.h). */
#include "detect_burst.h"

#include <stdio.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "../util/table_mem.h"

void burst_init(struct burst_detector *d, uint64_t window_ns, uint64_t link_bps, double fraction)
{
    memset(d, 0, offsetof(struct burst_detector, ts));
    d->window_ns = window_ns;
    /* bytes a link of link_bps carries in window_ns, times the fraction */
    d->threshold_bytes =
        link_bps ? (uint64_t)((double)link_bps / 8.0 * (double)window_ns / 1e9 * fraction)
                 : UINT64_MAX;
}

/* A burst begins with the window ending at the frame at head - 1 (cold: once per burst). */
void burst_begin(struct burst_detector *d)
{
    d->in_burst = 1;
    memset(&d->cur, 0, sizeof(d->cur));
    d->cur.start_ns = d->ts[d->tail & BURST_RING_MASK];
    d->cur.bytes = d->sum;
    d->cur.frames = d->head - d->tail;
}

int burst_finish(struct burst_detector *d, struct burst *out)
{
    if (!d->in_burst) return 0;
    *out = d->cur;
    d->in_burst = 0;
    d->bursts++;
    return 1;
}

void burst_totals_merge(struct burst_totals *into, const struct burst_totals *from)
{
    into->bursts += from->bursts;
    into->bytes += from->bytes;
    if (from->peak_bps > into->peak_bps) into->peak_bps = from->peak_bps;
    if (from->longest_ns > into->longest_ns) into->longest_ns = from->longest_ns;
}

void burst_describe(const struct burst_detector *d, const struct burst *b, const char *ifname,
                    struct event *e, struct burst_totals *tot)
{
    uint64_t peak_bps = b->peak_bytes * 8ull * 1000000000ull / d->window_ns;
    struct burst_totals one = {1, b->bytes, peak_bps, b->end_ns - b->start_ns};
    burst_totals_merge(tot, &one);
    e->ts_ns = b->start_ns;
    snprintf(e->u.burst.ifname, sizeof(e->u.burst.ifname), "%s", ifname);
    e->u.burst.start_ns = b->start_ns;
    e->u.burst.duration_ns = b->end_ns - b->start_ns;
    e->u.burst.bytes = b->bytes;
    e->u.burst.frames = b->frames;
    e->u.burst.peak_bps = peak_bps;
    e->u.burst.threshold_bps = d->threshold_bytes * 8ull * 1000000000ull / d->window_ns;
    e->u.burst.window_ns = d->window_ns;
}

int burst_set_init(struct burst_set *s, uint32_t n, const char *const *ifnames, uint64_t window_ns,
                   uint64_t link_bps, double fraction)
{
    memset(s, 0, sizeof(*s));
    if (!link_bps || !n) return 0;
    s->det = table_malloc(n, sizeof(*s->det));
    s->ifname = table_zalloc(n, sizeof(*s->ifname));
    if (!s->det || !s->ifname) {
        burst_set_fini(s);
        return -ENOMEM;
    }
    s->n = n;
    s->window_ns = window_ns;
    s->link_bps = link_bps;
    s->fraction = fraction;
    for (uint32_t i = 0; i < n; i++)
        snprintf(s->ifname[i], sizeof(s->ifname[i]), "%s", ifnames[i]);
    burst_set_reset(s);
    return 0;
}

void burst_set_reset(struct burst_set *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        burst_init(&s->det[i], s->window_ns, s->link_bps, s->fraction);
}

void burst_set_fini(struct burst_set *s)
{
    table_release(s->det);
    table_release(s->ifname);
    memset(s, 0, sizeof(*s));
}
