/* capture_xsk.c - tap mode: one AF_XDP socket on one rx queue (libxdp's xsk API).
 *
 * The UMEM is ours: every frame buffer starts in the fill ring, the kernel hands filled
 * ones back through the rx ring, and a burst's buffers return to the fill ring at the next
 * rx_burst (so frames stay valid until then, as capture.h promises). The XDP program in
 * front of the socket is ticktap's (libxdp is told not to load its own); it puts a
 * tt_xdp_meta block before each frame with the receive time and the rule that matched.
 */
#include <errno.h>
#include <linux/if_xdp.h>
#include <pcap/dlt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <xdp/xsk.h>

#include "capture_live.h"

#define XSK_FRAME_SIZE 4096
#define XSK_BURST 64

struct xsk_source {
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    struct xsk_ring_cons rx;
    void *area;
    size_t area_size;
    uint64_t held[XSK_BURST]; /* buffers of the last burst, refilled at the next one */
    uint32_t nheld;
    uint64_t ordinal, frames, bytes, no_meta, hw_stamped;
    int64_t tai_offset;
    int zerocopy;
};

/* Gives buffers back to the kernel; they are only ever ours or the kernel's. */
static void refill(struct xsk_source *s, const uint64_t *addrs, uint32_t n)
{
    uint32_t idx = 0;
    while (n && xsk_ring_prod__reserve(&s->fill, n, &idx) != n)
        ; /* the fill ring is sized for every frame: room appears as the kernel takes some */
    for (uint32_t i = 0; i < n; i++)
        *xsk_ring_prod__fill_addr(&s->fill, idx + i) = addrs[i];
    if (n)
        xsk_ring_prod__submit(&s->fill, n);
}

struct capture *capture_xsk_open(struct xdp_iface *x, uint32_t queue, uint32_t frames,
                                 uint32_t ring, char *err, size_t errlen)
{
    struct xsk_source *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->area_size = (size_t)frames * XSK_FRAME_SIZE;
    s->area = mmap(NULL, s->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->area == MAP_FAILED) {
        snprintf(err, errlen, "%s queue %u: cannot allocate %zu bytes of UMEM (lower "
                 "capture.xsk_frames)", xdp_iface_name(x), queue, s->area_size);
        s->area = NULL;
        goto fail;
    }
    struct xsk_umem_config ucfg = {
        .fill_size = frames, /* every buffer can sit in the fill ring */
        .comp_size = 64,
        .frame_size = XSK_FRAME_SIZE,
        .frame_headroom = 0,
        .flags = 0,
    };
    int rc = xsk_umem__create(&s->umem, s->area, s->area_size, &s->fill, &s->comp, &ucfg);
    if (rc) {
        snprintf(err, errlen, "%s queue %u: cannot register the UMEM: %s", xdp_iface_name(x),
                 queue, strerror(-rc));
        goto fail;
    }
    struct xsk_socket_config scfg = {
        .rx_size = ring,
        .tx_size = 0,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .xdp_flags = 0,
        .bind_flags = XDP_USE_NEED_WAKEUP | XDP_ZEROCOPY,
    };
    rc = xsk_socket__create(&s->xsk, xdp_iface_name(x), queue, s->umem, &s->rx, NULL, &scfg);
    s->zerocopy = rc == 0;
    if (rc) { /* the driver cannot map our memory: copy mode */
        scfg.bind_flags = XDP_USE_NEED_WAKEUP | XDP_COPY;
        rc = xsk_socket__create(&s->xsk, xdp_iface_name(x), queue, s->umem, &s->rx, NULL, &scfg);
    }
    if (rc) {
        snprintf(err, errlen, "%s queue %u: cannot open an AF_XDP socket: %s%s", xdp_iface_name(x),
                 queue, strerror(-rc),
                 rc == -EINVAL ? " (does the device have that many queues? see ethtool -l)" : "");
        goto fail;
    }
    if ((rc = xsk_socket__update_xskmap(s->xsk, xdp_iface_xsks_fd(x)))) {
        snprintf(err, errlen, "%s queue %u: cannot register the socket: %s", xdp_iface_name(x),
                 queue, strerror(-rc));
        goto fail;
    }
    uint64_t *all = malloc(frames * sizeof(*all));
    if (!all) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < frames; i++)
        all[i] = (uint64_t)i * XSK_FRAME_SIZE;
    refill(s, all, frames);
    free(all);
    s->tai_offset = live_tai_to_realtime();
    return (struct capture *)s;
fail:
    capture_xsk_ops.close((struct capture *)s);
    return NULL;
}

static int xsk_rx_burst(struct capture *c, struct frame *frames, int max, char *err,
                        size_t errlen)
{
    (void)err;
    (void)errlen;
    struct xsk_source *s = (struct xsk_source *)c;
    refill(s, s->held, s->nheld);
    s->nheld = 0;
    if (max > XSK_BURST)
        max = XSK_BURST;
    uint32_t idx = 0, n = xsk_ring_cons__peek(&s->rx, (uint32_t)max, &idx);
    if (!n) {
        int fd = xsk_socket__fd(s->xsk);
        if (xsk_ring_prod__needs_wakeup(&s->fill))
            recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 10);
        n = xsk_ring_cons__peek(&s->rx, (uint32_t)max, &idx);
        if (!n)
            return -EAGAIN;
    }
    s->tai_offset = live_tai_to_realtime();
    for (uint32_t i = 0; i < n; i++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&s->rx, idx + i);
        uint64_t addr = xsk_umem__extract_addr(d->addr);
        const uint8_t *data = xsk_umem__get_data(s->area, addr);
        struct frame *f = &frames[i];
        uint64_t off = addr % XSK_FRAME_SIZE;
        const struct tt_xdp_meta *m = (const struct tt_xdp_meta *)(data - sizeof(*m));
        if (off >= sizeof(*m) && m->magic == TT_META_MAGIC && m->hw_ts_ns) {
            f->ts_ns = m->hw_ts_ns; /* the NIC's clock */
            s->hw_stamped++;
        } else if (off >= sizeof(*m) && m->magic == TT_META_MAGIC) {
            f->ts_ns = (uint64_t)((int64_t)m->ts_ns + s->tai_offset);
        } else { /* no block (the driver gave no headroom): stamp it on arrival here */
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            s->no_meta++;
            f->ts_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
        }
        f->ordinal = ++s->ordinal;
        f->data = data;
        f->caplen = d->len;
        f->wirelen = d->len;
        f->linktype = DLT_EN10MB;
        s->held[s->nheld++] = addr - off;
        s->frames++;
        s->bytes += d->len;
    }
    xsk_ring_cons__release(&s->rx, n);
    return (int)n;
}

int capture_xsk_stats(struct capture *c, struct xsk_queue_stats *st)
{
    struct xsk_source *s = (struct xsk_source *)c;
    struct xdp_statistics xs;
    socklen_t len = sizeof(xs);
    memset(st, 0, sizeof(*st));
    if (getsockopt(xsk_socket__fd(s->xsk), SOL_XDP, XDP_STATISTICS, &xs, &len))
        return -errno;
    st->rx_dropped = xs.rx_dropped;
    st->rx_invalid_descs = xs.rx_invalid_descs;
    st->rx_ring_full = xs.rx_ring_full;
    st->rx_fill_empty = xs.rx_fill_ring_empty_descs;
    return 0;
}

int capture_xsk_zerocopy(struct capture *c)
{
    return ((struct xsk_source *)c)->zerocopy;
}

static void xsk_stats(struct capture *c, struct capture_stats *st)
{
    struct xsk_source *s = (struct xsk_source *)c;
    memset(st, 0, sizeof(*st));
    st->frames = s->frames;
    st->bytes = s->bytes;
    st->hw_stamped = s->hw_stamped;
}

static void xsk_close(struct capture *c)
{
    struct xsk_source *s = (struct xsk_source *)c;
    if (!s)
        return;
    if (s->xsk)
        xsk_socket__delete(s->xsk);
    if (s->umem)
        xsk_umem__delete(s->umem);
    if (s->area)
        munmap(s->area, s->area_size);
    free(s);
}

const struct capture_ops capture_xsk_ops = {
    .name = "af-xdp",
    .rx_burst = xsk_rx_burst,
    .stats = xsk_stats,
    .close = xsk_close,
};
