/* capture_ring.c - host mode: frames the XDP and TC egress programs copied into the ring.
 *
 * libbpf consumes ring records through a callback and releases each one when it returns,
 * so a burst copies its records into the source's own slots (they then stay valid until the
 * next burst, as capture.h promises). A tag the device kept outside the frame (TC egress on
 * a VLAN with offload) is put back in, so the frame reads as it went on the wire.
 */
#include <errno.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "capture_live.h"

#define RING_BURST 64
/* An empty ring is waited on this long (ms): the programs wake the reader once a batch waits
 * (64 KiB, or a quarter of a small ring), so this bounds only how long a trickle waits.
 * The wait is edge-triggered: only the programs' wakeup ends it early, not a record that came
 * in between (level-triggered, a reader that had just read a batch came back for each record
 * that arrived as it looked, and woke a worker for it). */
#define RING_WAIT_MS 4

struct ring_source {
    struct ring_buffer *rb;
    int batch_ep;   /* epoll on the ring, edge-triggered: the programs' wakeups */
    uint8_t *slots; /* RING_BURST slots of slot_size bytes */
    uint32_t slot_size;
    struct frame *out; /* the burst being filled */
    int n, max;
    uint64_t ordinal;
    int64_t tai_offset;
    uint64_t frames, bytes, hw_stamped;
};

int64_t live_tai_to_realtime(void)
{
    struct timespec r, t;
    clock_gettime(CLOCK_REALTIME, &r);
    clock_gettime(CLOCK_TAI, &t);
    return ((int64_t)r.tv_sec - (int64_t)t.tv_sec) * 1000000000ll +
           ((int64_t)r.tv_nsec - (int64_t)t.tv_nsec);
}

static int on_record(void *ctx, void *data, size_t size)
{
    struct ring_source *rs = ctx;
    const struct tt_rec *h = data;
    if (size < sizeof(*h) || h->caplen > size - sizeof(*h))
        return 0; /* cannot happen with our programs; never trust a length though */
    uint8_t *slot = rs->slots + (size_t)rs->n * rs->slot_size;
    uint32_t caplen = h->caplen, wirelen = h->wirelen;
    const uint8_t *bytes = (const uint8_t *)(h + 1);
    if (caplen + 4 > rs->slot_size) caplen = rs->slot_size - 4;
    if (h->vlan_present && caplen >= 12) {
        memcpy(slot, bytes, 12);
        slot[12] = 0x81;
        slot[13] = 0x00;
        slot[14] = (uint8_t)(h->vlan_tci >> 8);
        slot[15] = (uint8_t)h->vlan_tci;
        memcpy(slot + 16, bytes + 12, caplen - 12);
        caplen += 4;
        wirelen += 4;
    } else {
        memcpy(slot, bytes, caplen);
    }
    struct frame *f = &rs->out[rs->n++];
    if (h->hw_ts_ns) { /* the NIC's clock (kept on UTC by phc2sys where it matters) */
        f->ts_ns = h->hw_ts_ns;
        rs->hw_stamped++;
    } else {
        f->ts_ns = (uint64_t)((int64_t)h->ts_ns + rs->tai_offset);
    }
    f->ordinal = ++rs->ordinal;
    f->data = slot;
    f->caplen = caplen;
    f->wirelen = wirelen;
    f->linktype = DLT_EN10MB;
    rs->frames++;
    rs->bytes += wirelen;
    /* A full burst stops libbpf's loop; this record is already consumed and kept. */
    return rs->n >= rs->max ? -ENOSPC : 0;
}

struct capture *capture_ring_open(struct xdp_iface *x, uint32_t snaplen, char *err, size_t errlen)
{
    struct ring_source *rs = calloc(1, sizeof(*rs));
    if (!rs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rs->batch_ep = -1;
    rs->slot_size = snaplen + 4;
    rs->slots = malloc((size_t)RING_BURST * rs->slot_size);
    rs->rb = ring_buffer__new(xdp_iface_ring_fd(x), on_record, rs, NULL);
    rs->batch_ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
    if (!rs->slots || !rs->rb || rs->batch_ep < 0 ||
        epoll_ctl(rs->batch_ep, EPOLL_CTL_ADD, xdp_iface_ring_fd(x), &ev)) {
        snprintf(err, errlen, "%s: cannot map the capture ring: %s", xdp_iface_name(x),
                 strerror(errno));
        capture_ring_ops.close((struct capture *)rs);
        return NULL;
    }
    rs->tai_offset = live_tai_to_realtime();
    return (struct capture *)rs;
}

/* The records waiting; when none is, waits for some (RING_WAIT_MS) only if asked to. */
static int ring_rx(struct capture *c, struct frame *frames, int max, int wait, char *err,
                   size_t errlen)
{
    struct ring_source *rs = (struct ring_source *)c;
    rs->out = frames;
    rs->n = 0;
    rs->max = max < RING_BURST ? max : RING_BURST;
    rs->tai_offset = live_tai_to_realtime(); /* follows clock steps (NTP) */
    int rc = ring_buffer__consume(rs->rb);
    if (rc >= 0 && rs->n == 0 && wait) {
        struct epoll_event ev;
        if (epoll_wait(rs->batch_ep, &ev, 1, RING_WAIT_MS) >= 0 || errno == EINTR)
            rc = ring_buffer__consume(rs->rb);
        else
            rc = -errno;
    }
    if (rc < 0 && rc != -ENOSPC && rc != -EINTR) {
        snprintf(err, errlen, "capture ring: %s", strerror(-rc));
        return rs->n ? rs->n : rc;
    }
    return rs->n ? rs->n : -EAGAIN;
}

static int ring_rx_burst(struct capture *c, struct frame *frames, int max, char *err, size_t errlen)
{
    return ring_rx(c, frames, max, 1, err, errlen);
}

static int ring_rx_nowait(struct capture *c, struct frame *frames, int max, char *err,
                          size_t errlen)
{
    return ring_rx(c, frames, max, 0, err, errlen);
}

static int ring_wait_fd(struct capture *c)
{
    return ring_buffer__epoll_fd(((struct ring_source *)c)->rb);
}

static void ring_stats(struct capture *c, struct capture_stats *st)
{
    struct ring_source *rs = (struct ring_source *)c;
    memset(st, 0, sizeof(*st));
    st->frames = rs->frames;
    st->bytes = rs->bytes;
    st->hw_stamped = rs->hw_stamped;
}

static void ring_close(struct capture *c)
{
    struct ring_source *rs = (struct ring_source *)c;
    if (!rs) return;
    ring_buffer__free(rs->rb);
    if (rs->batch_ep >= 0) close(rs->batch_ep);
    free(rs->slots);
    free(rs);
}

const struct capture_ops capture_ring_ops = {
    .name = "xdp-ring",
    .rx_burst = ring_rx_burst,
    .rx_nowait = ring_rx_nowait,
    .wait_fd = ring_wait_fd,
    .stats = ring_stats,
    .close = ring_close,
};
