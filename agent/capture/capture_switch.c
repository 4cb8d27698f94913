/* capture_switch.c - a source replaced while the run goes on (see capture_switch.h). */
#include "capture_switch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct capture {
    const struct capture_ops *ops; /* the source read now; NULL between two */
    struct capture *cap;
    uint64_t ordinal;
    struct capture_stats before; /* what the retired sources delivered */
    _Atomic int retire;          /* owner -> reader: let go of the current source */
    _Atomic int retired;         /* reader -> owner: done with it */
    _Atomic int pending;         /* owner -> reader: next_ops/next_cap are set */
    const struct capture_ops *next_ops;
    struct capture *next_cap;
};

struct capture *capture_switch_new(const struct capture_ops *ops, struct capture *cap)
{
    struct capture *sw = calloc(1, sizeof(*sw));
    if (!sw) return NULL;
    sw->ops = ops;
    sw->cap = cap;
    return sw;
}

void capture_switch_retire(struct capture *sw)
{
    atomic_store_explicit(&sw->retired, 0, memory_order_relaxed);
    atomic_store_explicit(&sw->retire, 1, memory_order_release);
}

int capture_switch_retired(struct capture *sw)
{
    return atomic_load_explicit(&sw->retired, memory_order_acquire);
}

void capture_switch_set(struct capture *sw, const struct capture_ops *ops, struct capture *cap)
{
    sw->next_ops = ops;
    sw->next_cap = cap;
    atomic_store_explicit(&sw->pending, 1, memory_order_release);
}

/* The reader's side of a retire and of a new source; returns 0 when there is a source to read
 * (frames of the retired one may come first: n > 0 in *n). */
static int turn(struct capture *sw, struct frame *frames, int max, char *err, size_t errlen, int *n)
{
    *n = 0;
    if (sw->ops && atomic_load_explicit(&sw->retire, memory_order_acquire)) {
        int got = sw->ops->rx_nowait(sw->cap, frames, max, err, errlen);
        if (got > 0) { /* drain first: they stay valid until the next call */
            *n = got;
            return 0;
        }
        struct capture_stats st;
        sw->ops->stats(sw->cap, &st);
        sw->before.frames += st.frames;
        sw->before.bytes += st.bytes;
        sw->before.hw_stamped += st.hw_stamped;
        sw->ops = NULL;
        sw->cap = NULL;
        atomic_store_explicit(&sw->retire, 0, memory_order_relaxed);
        atomic_store_explicit(&sw->retired, 1, memory_order_release);
    }
    if (!sw->ops && atomic_load_explicit(&sw->pending, memory_order_acquire)) {
        sw->ops = sw->next_ops;
        sw->cap = sw->next_cap;
        atomic_store_explicit(&sw->pending, 0, memory_order_relaxed);
    }
    return sw->ops ? 0 : -EAGAIN;
}

static int renumber(struct capture *sw, struct frame *frames, int n)
{
    for (int i = 0; i < n; i++)
        frames[i].ordinal = ++sw->ordinal;
    return n;
}

static int switch_rx(struct capture *sw, struct frame *frames, int max, char *err, size_t errlen,
                     int wait)
{
    int n;
    if (turn(sw, frames, max, err, errlen, &n)) {
        if (wait) { /* between two sources: idle, briefly */
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
        return -EAGAIN;
    }
    if (n > 0) return renumber(sw, frames, n);
    n = wait ? sw->ops->rx_burst(sw->cap, frames, max, err, errlen)
             : sw->ops->rx_nowait(sw->cap, frames, max, err, errlen);
    return n > 0 ? renumber(sw, frames, n) : n;
}

static int switch_rx_burst(struct capture *sw, struct frame *frames, int max, char *err,
                           size_t errlen)
{
    return switch_rx(sw, frames, max, err, errlen, 1);
}

static int switch_rx_nowait(struct capture *sw, struct frame *frames, int max, char *err,
                            size_t errlen)
{
    return switch_rx(sw, frames, max, err, errlen, 0);
}

static int switch_wait_fd(struct capture *sw)
{
    return sw->ops && sw->ops->wait_fd ? sw->ops->wait_fd(sw->cap) : -1;
}

static void switch_stats(struct capture *sw, struct capture_stats *st)
{
    *st = sw->before;
    if (!sw->ops) return;
    struct capture_stats now;
    sw->ops->stats(sw->cap, &now);
    st->frames += now.frames;
    st->bytes += now.bytes;
    st->hw_stamped += now.hw_stamped;
}

static void switch_close(struct capture *sw)
{
    free(sw);
}

const struct capture_ops capture_switch_ops = {
    .name = "switch",
    .rx_burst = switch_rx_burst,
    .rx_nowait = switch_rx_nowait,
    .wait_fd = switch_wait_fd,
    .stats = switch_stats,
    .close = switch_close,
};
