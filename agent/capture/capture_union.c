/* capture_union.c - several live sources read as one (see capture_union.h). */
#include "capture_union.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

struct union_source {
    int n;
    int next; /* the source asked first at the next call: each gets its turn */
    int last; /* the source of the last burst */
    uint64_t ordinal;
    const struct capture_ops *ops[CAPTURE_UNION_MAX];
    struct capture *caps[CAPTURE_UNION_MAX];
};

struct capture *capture_union_new(const struct capture_ops *const *ops, struct capture *const *caps,
                                  int n)
{
    if (n < 1 || n > CAPTURE_UNION_MAX) return NULL;
    for (int i = 0; i < n; i++)
        if (!ops[i]->rx_nowait || !ops[i]->wait_fd) return NULL;
    struct union_source *u = calloc(1, sizeof(*u));
    if (!u) return NULL;
    u->n = n;
    for (int i = 0; i < n; i++) {
        u->ops[i] = ops[i];
        u->caps[i] = caps[i];
    }
    return (struct capture *)u;
}

int capture_union_last_source(const struct capture *c)
{
    return ((const struct union_source *)c)->last;
}

/* One burst from the first source, in turn order, that has frames; -EAGAIN when none has. */
static int take(struct union_source *u, struct frame *frames, int max, char *err, size_t errlen)
{
    for (int k = 0; k < u->n; k++) {
        int i = (u->next + k) % u->n;
        int got = u->ops[i]->rx_nowait(u->caps[i], frames, max, err, errlen);
        if (got == -EAGAIN || got == 0) continue;
        u->next = (i + 1) % u->n;
        if (got < 0) return got;
        u->last = i;
        for (int f = 0; f < got; f++)
            frames[f].ordinal = ++u->ordinal;
        return got;
    }
    return -EAGAIN;
}

static int union_rx_burst(struct capture *c, struct frame *frames, int max, char *err,
                          size_t errlen)
{
    struct union_source *u = (struct union_source *)c;
    int got = take(u, frames, max, err, errlen);
    if (got != -EAGAIN) return got;
    struct pollfd p[CAPTURE_UNION_MAX];
    for (int i = 0; i < u->n; i++)
        p[i] = (struct pollfd){.fd = u->ops[i]->wait_fd(u->caps[i]), .events = POLLIN};
    if (poll(p, (nfds_t)u->n, 10) <= 0) return -EAGAIN;
    return take(u, frames, max, err, errlen);
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
    .stats = union_stats,
    .close = union_close,
};
