/* capture_xsk.c - tap mode: one AF_XDP socket on one rx queue (libxdp's xsk API).
 *
 * The UMEM is ours: every frame buffer starts in the fill ring, the kernel hands filled
 * ones back through the rx ring, and a burst's buffers return to the fill ring at the next
 * rx_burst (so frames stay valid until then, as capture.h promises). The XDP program in
 * front of the socket is ticktap's (libxdp is told not to load its own); it puts a
 * tt_xdp_meta block before each frame with the receive time and the rule that matched.
 *
 * Frames larger than a buffer (jumbo MTUs) come in several descriptors, all but the last
 * flagged XDP_PKT_CONTD, when the socket is bound with XDP_USE_SG (kernel 6.6+; without it
 * the kernel drops them and counts them in rx_dropped). Such a frame is copied into the
 * burst's arena to be contiguous; every other frame stays where the kernel wrote it.
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
#include "coalesce.h"

#define XSK_FRAME_SIZE 4096
/* Descriptors per burst. A frame has at most CONFIG_MAX_SKB_FRAGS + 1 of them (18 by default,
 * 46 at the most the kernel allows), so a whole frame always fits one peek. */
#define XSK_BURST 64

/* Newer than Debian 12's headers (kernel 6.6): multi-buffer binding and its descriptor flag. */
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

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
    uint64_t ordinal, frames, bytes, no_meta, hw_stamped, multi_buffer_frames;
    int64_t tai_offset;
    int zerocopy;
    int multi_buffer;         /* bound with XDP_USE_SG */
    uint8_t *arena;           /* multi-buffer frames of the last burst, made contiguous */
    struct coalesce coalesce; /* when read on its own (rx_burst waits) */
    struct xdp_iface *iface;
    uint32_t queue;
    int bell_fd; /* the interface's doorbell (-1: none) */
    uint32_t ring_size;
};

/* Gives buffers back to the kernel; they are only ever ours or the kernel's. */
static void refill(struct xsk_source *s, const uint64_t *addrs, uint32_t n)
{
    uint32_t idx = 0;
    while (n && xsk_ring_prod__reserve(&s->fill, n, &idx) != n)
        ; /* the fill ring is sized for every frame: room appears as the kernel takes some */
    for (uint32_t i = 0; i < n; i++)
        *xsk_ring_prod__fill_addr(&s->fill, idx + i) = addrs[i];
    if (n) xsk_ring_prod__submit(&s->fill, n);
}

static int xsk_ring_fill(struct xsk_source *s)
{
    return (int)(xsk_cons_nb_avail(&s->rx, s->ring_size) * 100 / s->ring_size);
}

/* Sleeps ns, or less when the doorbell rings. */
static void xsk_nap(void *ctx, uint64_t ns)
{
    struct xsk_source *s = ctx;
    struct pollfd p = {.fd = s->bell_fd, .events = POLLIN};
    struct timespec d = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    int rang = ppoll(&p, 1, &d, NULL) > 0;
    if (rang) xdp_iface_bell_drain(s->iface);
    coalesce_slept(&s->coalesce, xsk_ring_fill(s));
}

struct capture *capture_xsk_open(struct xdp_iface *x, uint32_t queue, uint32_t frames,
                                 uint32_t ring, uint64_t coalesce_ns, char *err, size_t errlen)
{
    struct xsk_source *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->coalesce.sleep_ns = coalesce_ns;
    s->iface = x;
    s->queue = queue;
    s->bell_fd = -1;
    s->ring_size = ring;
    s->area_size = (size_t)frames * XSK_FRAME_SIZE;
    s->area = mmap(NULL, s->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->area == MAP_FAILED) {
        snprintf(err, errlen,
                 "%s queue %u: cannot allocate %zu bytes of UMEM (lower "
                 "capture.xsk_frames)",
                 xdp_iface_name(x), queue, s->area_size);
        s->area = NULL;
        goto fail;
    }
    /* Each frame sits on its own 4 KiB page: reading them one after the other misses the TLB
     * on every frame. Huge pages where the kernel gives them (THP) cover 512 frames each. */
    madvise(s->area, s->area_size, MADV_HUGEPAGE);
    struct xsk_umem_config ucfg = {
        .fill_size = frames, /* every buffer can sit in the fill ring */
        .comp_size = 64,
        .frame_size = XSK_FRAME_SIZE,
        .frame_headroom = 0,
        .flags = 0,
    };
    int rc = xsk_umem__create(&s->umem, s->area, s->area_size, &s->fill, &s->comp, &ucfg);
    if (rc) {
        /* AF_XDP sockets need CAP_NET_RAW; pinning the UMEM needs CAP_IPC_LOCK or room under
         * the memlock limit */
        snprintf(err, errlen, "%s queue %u: cannot register the UMEM: %s%s", xdp_iface_name(x),
                 queue, strerror(-rc),
                 rc == -EPERM     ? " (tap mode needs CAP_NET_RAW)"
                 : rc == -ENOBUFS ? " (tap mode locks its buffers: give CAP_IPC_LOCK or raise the "
                                    "memlock limit, ulimit -l)"
                                  : "");
        goto fail;
    }
    /* The best binding the kernel and driver give: zero-copy before copy, and within each,
     * multi-buffer (jumbo frames whole) before single-buffer. */
    static const uint32_t binds[] = {XDP_ZEROCOPY | XDP_USE_SG, XDP_ZEROCOPY, XDP_COPY | XDP_USE_SG,
                                     XDP_COPY};
    struct xsk_socket_config scfg = {
        .rx_size = ring,
        .tx_size = 0,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .xdp_flags = 0,
    };
    for (size_t b = 0; b < sizeof(binds) / sizeof(binds[0]); b++) {
        scfg.bind_flags = (uint16_t)(XDP_USE_NEED_WAKEUP | binds[b]);
        rc = xsk_socket__create(&s->xsk, xdp_iface_name(x), queue, s->umem, &s->rx, NULL, &scfg);
        if (!rc) {
            s->zerocopy = (binds[b] & XDP_ZEROCOPY) != 0;
            s->multi_buffer = (binds[b] & XDP_USE_SG) != 0;
            break;
        }
    }
    if (rc) {
        snprintf(err, errlen, "%s queue %u: cannot open an AF_XDP socket: %s%s", xdp_iface_name(x),
                 queue, strerror(-rc),
                 rc == -EINVAL ? " (does the device have that many queues? see ethtool -l)" : "");
        goto fail;
    }
    /* a burst's descriptors hold at most XSK_BURST buffers' bytes */
    if (s->multi_buffer && !(s->arena = malloc((size_t)XSK_BURST * XSK_FRAME_SIZE))) {
        snprintf(err, errlen, "out of memory");
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
    /* The doorbell rings when a quarter of the ring waits: room for what comes before the
     * reader is up. Without one, coalescing keeps its short sleeps. */
    if (coalesce_ns && (s->bell_fd = xdp_iface_bell_arm(x, ring / 4)) >= 0) {
        coalesce_use_bell(&s->coalesce, xsk_nap, s);
    }
    return (struct capture *)s;
fail:
    capture_xsk_ops.close((struct capture *)s);
    return NULL;
}

/* A frame's time: from the metadata block in front of its first buffer's data (off: where
 * the data starts in that buffer), or the arrival time here when the driver left no room. */
static uint64_t frame_time(struct xsk_source *s, const uint8_t *data, uint64_t off)
{
    const struct tt_xdp_meta *m = (const struct tt_xdp_meta *)(data - sizeof(*m));
    if (off >= sizeof(*m) && m->magic == TT_META_MAGIC && m->hw_ts_ns) {
        s->hw_stamped++;
        return m->hw_ts_ns; /* the NIC's clock */
    }
    if (off >= sizeof(*m) && m->magic == TT_META_MAGIC)
        return (uint64_t)((int64_t)m->ts_ns + s->tai_offset);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    s->no_meta++;
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

/* A burst of frames; when none is there, waits for some (up to 10 ms) only if asked to. */
static int xsk_rx(struct xsk_source *s, struct frame *frames, int max, int wait)
{
    refill(s, s->held, s->nheld);
    s->nheld = 0;
    uint32_t idx = 0, n = xsk_ring_cons__peek(&s->rx, XSK_BURST, &idx);
    if (n < XSK_BURST && s->bell_fd >= 0) xdp_iface_queue_emptied(s->iface, s->queue);
    if (!n) {
        int fd = xsk_socket__fd(s->xsk);
        if (xsk_ring_prod__needs_wakeup(&s->fill)) recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
        if (!wait) return -EAGAIN;
        if (coalesce_nap(&s->coalesce)) n = xsk_ring_cons__peek(&s->rx, XSK_BURST, &idx);
    }
    if (!n) {
        struct pollfd p = {.fd = xsk_socket__fd(s->xsk), .events = POLLIN};
        if (poll(&p, 1, 10) > 0) coalesce_woken(&s->coalesce);
        n = xsk_ring_cons__peek(&s->rx, XSK_BURST, &idx);
        if (!n) return -EAGAIN;
    }
    s->tai_offset = live_tai_to_realtime();
    /* The kernel wrote these frames on another core: their first lines are not in this one's
     * cache. Asked for all at once, the misses overlap instead of stalling one by one on
     * each frame's metadata (most of this function's time without it). */
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *d =
            xsk_umem__get_data(s->area, xsk_ring_cons__rx_desc(&s->rx, idx + i)->addr);
        __builtin_prefetch(d - sizeof(struct tt_xdp_meta));
        __builtin_prefetch(d + 32);
    }
    uint32_t used = 0;
    size_t arena_used = 0;
    int nf = 0;
    while (used < n && nf < max) {
        uint32_t last = used; /* the frame's descriptors are used..last */
        while (last < n && (xsk_ring_cons__rx_desc(&s->rx, idx + last)->options & XDP_PKT_CONTD))
            last++;
        if (last == n) /* its last buffer is beyond this peek: taken at the next burst */
            break;
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&s->rx, idx + used);
        uint64_t addr = xsk_umem__extract_addr(d->addr), off = addr % XSK_FRAME_SIZE;
        const uint8_t *data = xsk_umem__get_data(s->area, addr);
        struct frame *f = &frames[nf++];
        f->ts_ns = frame_time(s, data, off);
        f->data = data;
        f->caplen = d->len;
        if (last > used) { /* one frame in several buffers: made contiguous in the arena */
            uint8_t *whole = s->arena + arena_used;
            uint32_t len = 0;
            for (uint32_t k = used; k <= last; k++) {
                const struct xdp_desc *p = xsk_ring_cons__rx_desc(&s->rx, idx + k);
                uint64_t a = xsk_umem__extract_addr(p->addr);
                memcpy(whole + len, xsk_umem__get_data(s->area, a), p->len);
                len += p->len;
                if (k > used) s->held[s->nheld++] = a - a % XSK_FRAME_SIZE;
            }
            arena_used += len;
            f->data = whole;
            f->caplen = len;
            s->multi_buffer_frames++;
        }
        f->ordinal = ++s->ordinal;
        f->wirelen = f->caplen;
        f->linktype = DLT_EN10MB;
        s->held[s->nheld++] = addr - off;
        s->frames++;
        s->bytes += f->caplen;
        used = last + 1;
    }
    if (used < n) xsk_ring_cons__cancel(&s->rx, n - used);
    xsk_ring_cons__release(&s->rx, used);
    coalesce_count(&s->coalesce, nf);
    return nf ? nf : -EAGAIN;
}

static int xsk_rx_burst(struct capture *c, struct frame *frames, int max, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return xsk_rx((struct xsk_source *)c, frames, max, 1);
}

static int xsk_rx_nowait(struct capture *c, struct frame *frames, int max, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return xsk_rx((struct xsk_source *)c, frames, max, 0);
}

static int xsk_wait_fd(struct capture *c)
{
    return xsk_socket__fd(((struct xsk_source *)c)->xsk);
}

int capture_xsk_stats(struct capture *c, struct xsk_queue_stats *st)
{
    struct xsk_source *s = (struct xsk_source *)c;
    struct xdp_statistics xs;
    socklen_t len = sizeof(xs);
    memset(st, 0, sizeof(*st));
    st->multi_buffer_frames = s->multi_buffer_frames;
    if (getsockopt(xsk_socket__fd(s->xsk), SOL_XDP, XDP_STATISTICS, &xs, &len)) return -errno;
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

int capture_xsk_multi_buffer(struct capture *c)
{
    return ((struct xsk_source *)c)->multi_buffer;
}

static int xsk_bell_fd(struct capture *c)
{
    return ((struct xsk_source *)c)->bell_fd;
}

static void xsk_bell_drain(struct capture *c)
{
    xdp_iface_bell_drain(((struct xsk_source *)c)->iface);
}

static int xsk_fill(struct capture *c)
{
    return xsk_ring_fill((struct xsk_source *)c);
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
    if (!s) return;
    if (s->xsk) xsk_socket__delete(s->xsk);
    if (s->umem) xsk_umem__delete(s->umem);
    if (s->area) munmap(s->area, s->area_size);
    free(s->arena);
    free(s);
}

const struct capture_ops capture_xsk_ops = {
    .name = "af-xdp",
    .rx_burst = xsk_rx_burst,
    .rx_nowait = xsk_rx_nowait,
    .wait_fd = xsk_wait_fd,
    .bell_fd = xsk_bell_fd,
    .bell_drain = xsk_bell_drain,
    .ring_fill = xsk_fill,
    .stats = xsk_stats,
    .close = xsk_close,
};
