/* capture_union.c - several live sources read as one (see capture_union.h). */
#include "capture_union.h"

#include "coalesce.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define UNION_BURST_MAX 256 /* frames per call at most */

struct union_source {
    int n;
    int next; /* the source asked first at the next call: each gets its turn */
    uint64_t ordinal;
    const struct capture_ops *ops[CAPTURE_UNION_MAX];
    struct capture *caps[CAPTURE_UNION_MAX];
    struct frame taken[UNION_BURST_MAX]; /* this call's bursts, before they are merged */
    uint8_t ended[CAPTURE_UNION_MAX];    /* sources that said 0: ended (a replayed file) */
    int nended;                          /* when all have, so has the union */
    int failed;                          /* an error to report at the next call */
    char failed_err[256];
    struct coalesce coalesce;
    struct pollfd bells[CAPTURE_UNION_MAX]; /* the sources' doorbells (coalesce.h) */
    int bell_src[CAPTURE_UNION_MAX];        /* a source that drains each */
    int nbells;
};

/* Sleeps ns, or less when a source's doorbell rings. */
static void union_nap(void *ctx, uint64_t ns)
{
    struct union_source *u = ctx;
    struct timespec d = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    int rang = ppoll(u->bells, (nfds_t)u->nbells, &d, NULL) > 0;
    for (int b = 0; rang && b < u->nbells; b++)
        if (u->bells[b].revents) u->ops[u->bell_src[b]]->bell_drain(u->caps[u->bell_src[b]]);
    int fullest = 0;
    for (int i = 0; i < u->n; i++) {
        int f = u->ops[i]->ring_fill ? u->ops[i]->ring_fill(u->caps[i]) : 0;
        if (f > fullest) fullest = f;
    }
    coalesce_slept(&u->coalesce, fullest);
}

/* The sources' doorbells, each once (the queues of one interface share theirs). */
static void find_bells(struct union_source *u)
{
    for (int i = 0; i < u->n; i++) {
        int fd = u->ops[i]->bell_fd && u->ops[i]->bell_drain ? u->ops[i]->bell_fd(u->caps[i]) : -1;
        int known = fd < 0;
        for (int b = 0; b < u->nbells && !known; b++)
            known = u->bells[b].fd == fd;
        if (known) continue;
        u->bells[u->nbells] = (struct pollfd){.fd = fd, .events = POLLIN};
        u->bell_src[u->nbells++] = i;
    }
    if (u->nbells) coalesce_use_bell(&u->coalesce, union_nap, u);
}

struct capture *capture_union_new(const struct capture_ops *const *ops, struct capture *const *caps,
                                  int n, uint64_t coalesce_ns)
{
    if (n < 1 || n > CAPTURE_UNION_MAX) return NULL;
    for (int i = 0; i < n; i++)
        if (!ops[i]->rx_nowait || !ops[i]->wait_fd) return NULL;
    struct union_source *u = calloc(1, sizeof(*u));
    if (!u) return NULL;
    u->n = n;
    u->coalesce.sleep_ns = coalesce_ns;
    for (int i = 0; i < n; i++) {
        u->ops[i] = ops[i];
        u->caps[i] = caps[i];
    }
    if (coalesce_ns) find_bells(u);
    return (struct capture *)u;
}

/* A burst from every source that has frames (an equal share of max each), merged into frames
 * by timestamp: a queue's frames are in order, and what has arrived on all of them by now
 * comes out in the order it arrived (ties: the source asked first). -EAGAIN when none has. */
static int take(struct union_source *u, struct frame *frames, int max, char *err, size_t errlen)
{
    if (max > UNION_BURST_MAX) max = UNION_BURST_MAX;
    int share = max / u->n > 0 ? max / u->n : 1;
    int run_start[CAPTURE_UNION_MAX], run_end[CAPTURE_UNION_MAX], run_src[CAPTURE_UNION_MAX];
    int nruns = 0, total = 0;
    for (int k = 0; k < u->n && total < max; k++) {
        int i = (u->next + k) % u->n;
        if (u->ended[i]) continue;
        int want = share < max - total ? share : max - total;
        int got = u->ops[i]->rx_nowait(u->caps[i], u->taken + total, want, err, errlen);
        if (got == 0) {
            u->ended[i] = 1;
            u->nended++;
        }
        if (got == -EAGAIN || got == 0) continue;
        if (got < 0) {
            if (!total) return got;
            /* the frames already taken go out first; the error comes with the next call */
            u->failed = got;
            snprintf(u->failed_err, sizeof(u->failed_err), "%s", err);
            break;
        }
        run_start[nruns] = total;
        run_end[nruns] = total + got;
        run_src[nruns++] = i;
        total += got;
    }
    u->next = (u->next + 1) % u->n;
    if (!total) return u->nended == u->n ? 0 : -EAGAIN;
    for (int out = 0; out < total; out++) {
        int best = -1;
        for (int r = 0; r < nruns; r++)
            if (run_start[r] < run_end[r] &&
                (best < 0 || u->taken[run_start[r]].ts_ns < u->taken[run_start[best]].ts_ns))
                best = r;
        frames[out] = u->taken[run_start[best]++];
        frames[out].ordinal = ++u->ordinal;
        frames[out].input = (uint8_t)run_src[best];
    }
    return total;
}

/* What the sources hold now, without waiting or napping (an error kept from the last call
 * comes first). */
static int union_rx_nowait(struct capture *c, struct frame *frames, int max, char *err,
                           size_t errlen)
{
    struct union_source *u = (struct union_source *)c;
    if (u->failed) {
        int rc = u->failed;
        u->failed = 0;
        snprintf(err, errlen, "%s", u->failed_err);
        return rc;
    }
    int got = take(u, frames, max, err, errlen);
    coalesce_count(&u->coalesce, got);
    return got;
}

static int union_rx_burst(struct capture *c, struct frame *frames, int max, char *err,
                          size_t errlen)
{
    struct union_source *u = (struct union_source *)c;
    int got = union_rx_nowait(c, frames, max, err, errlen);
    if (got == -EAGAIN && coalesce_nap(&u->coalesce))
        got = union_rx_nowait(c, frames, max, err, errlen);
    if (got != -EAGAIN) return got;
    struct pollfd p[CAPTURE_UNION_MAX];
    for (int i = 0; i < u->n; i++)
        p[i] = (struct pollfd){.fd = u->ops[i]->wait_fd(u->caps[i]), .events = POLLIN};
    if (poll(p, (nfds_t)u->n, 10) <= 0) return -EAGAIN;
    coalesce_woken(&u->coalesce);
    return union_rx_nowait(c, frames, max, err, errlen);
}

static void union_stats(struct capture *c, struct capture_stats *st)
{
    struct union_source *u = (struct union_source *)c;
    struct capture_stats one;
    *st = (struct capture_stats){0};
    for (int i = 0; i < u->n; i++) {
        u->ops[i]->stats(u->caps[i], &one);
        st->frames += one.frames;
        st->bytes += one.bytes;
        st->hw_stamped += one.hw_stamped;
    }
}

static void union_close(struct capture *c)
{
    free(c);
}

const struct capture_ops capture_union_ops = {
    .name = "union",
    .rx_burst = union_rx_burst,
    .rx_nowait = union_rx_nowait,
    .stats = union_stats,
    .close = union_close,
};
