/* live_handoff.c - mode auto: a tap-mode port handed to a DPDK reader in the same agent when
 * capture.saturated persists, and back when its rate stays low (see live_capture.h).
 *
 * A switch, on the sink thread: the XDP program is detached first (nothing more is redirected
 * into the sockets), the readers drain their AF_XDP queues and let go of them (capture_switch),
 * the sockets are closed, the DPDK port (net_af_xdp on the same queues unless handoff_to names
 * another device: a bifurcated NIC's PCI address) is opened and handed to the readers. Frames
 * that arrive between the detach and the DPDK port's start reach no one: the gap is the
 * port's probe and start (tens of ms on veth). A switch that fails goes back where it came
 * from and says why; it is not tried again.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../capture/capture_switch.h"
#include "live_internal.h"

#define LET_GO_WAIT_MS 2000 /* a reader answers within one burst or one 10 ms wait */
#define QUEUE_FREE_WAIT_MS 2000

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static uint64_t sources_frames(struct live_capture *lc, struct live_capture_iface *ri)
{
    uint64_t n = 0;
    for (uint32_t k = 0; k < ri->nsrc; k++) {
        struct capture_stats st;
        lc->src[ri->first + k].ops->stats(lc->src[ri->first + k].cap, &st);
        n += st.frames;
    }
    return n;
}

static uint64_t sources_lost(struct live_capture *lc, struct live_capture_iface *ri)
{
    uint64_t lost[LIVE_CAPTURE_SOURCES_MAX + 1], n = 0;
    int why;
    live_lost_now(lc, ri, lost, &why);
    for (uint32_t k = 0; k <= ri->nsrc && k <= LIVE_CAPTURE_SOURCES_MAX; k++)
        n += lost[k];
    return n;
}

/* The readers let go of the interface's sources (drained). Returns 0, or -1 when one did not
 * within LET_GO_WAIT_MS (its sources must then stay open). */
static int readers_let_go(struct live_capture *lc, struct live_capture_iface *ri)
{
    for (uint32_t k = 0; k < ri->nsrc; k++)
        capture_switch_retire(lc->pipe[ri->first + k].cap);
    for (int ms = 0; ms < LET_GO_WAIT_MS; ms++) {
        uint32_t done = 0;
        for (uint32_t k = 0; k < ri->nsrc; k++)
            done += (uint32_t)capture_switch_retired(lc->pipe[ri->first + k].cap);
        if (done == ri->nsrc) return 0;
        pause_ms(1);
    }
    return -1;
}

static void readers_take(struct live_capture *lc, struct live_capture_iface *ri)
{
    for (uint32_t k = 0; k < ri->nsrc; k++)
        capture_switch_set(lc->pipe[ri->first + k].cap, lc->src[ri->first + k].ops,
                           lc->src[ri->first + k].cap);
}

/* The counters of the sources going away, kept for the totals; the new ones start at 0. */
static void bank_counters(struct live_capture *lc, struct live_capture_iface *ri)
{
    ri->frames_before += sources_frames(lc, ri);
    ri->lost_before += sources_lost(lc, ri);
    memset(ri->lost_prev, 0, sizeof(ri->lost_prev));
}

static void close_tap(struct live_capture *lc, struct live_capture_iface *ri)
{
    for (uint32_t k = 0; k < ri->nsrc; k++)
        lc->src[ri->first + k].ops->close(lc->src[ri->first + k].cap);
    xdp_iface_close(ri->xdp); /* already detached; frees the rest */
    ri->xdp = NULL;
}

#ifndef AF_XDP
#define AF_XDP 44
#endif

/* The inode of fd when it is an AF_XDP socket, else 0. */
static unsigned long xsk_inode(int fd)
{
    struct stat st;
    int domain;
    socklen_t len = sizeof(domain);
    if (fstat(fd, &st) || !S_ISSOCK(st.st_mode)) return 0;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) || domain != AF_XDP) return 0;
    return (unsigned long)st.st_ino;
}

/* Calls fn on each AF_XDP socket the process holds. */
static void each_xsk(void (*fn)(struct live_capture_iface *, int, unsigned long),
                     struct live_capture_iface *ri)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        unsigned long ino;
        if (fd > 2 && fd != dirfd(d) && (ino = xsk_inode(fd))) fn(ri, fd, ino);
    }
    closedir(d);
}

static void mark_old(struct live_capture_iface *ri, int fd, unsigned long ino)
{
    if (ri->npmd_xsk < LIVE_CAPTURE_SOURCES_MAX)
        ri->pmd_xsk[ri->npmd_xsk++] = (struct xsk_fd){fd, ino};
}

/* Keeps, of the sockets now open, those not open before (the marks): the port's own. */
static void keep_new(struct live_capture_iface *ri, int fd, unsigned long ino)
{
    for (uint32_t k = 0; k < ri->npmd_xsk; k++)
        if (ri->pmd_xsk[k].fd == fd && ri->pmd_xsk[k].ino == ino) {
            ri->pmd_xsk[k].fd = -1; /* was there before: not the port's */
            return;
        }
    mark_old(ri, fd, ino);
}

/* DPDK 22.11's net_af_xdp leaves its first socket (the UMEM's) open when the port closes,
 * and an open socket keeps the queue bound: tap mode again would find it busy. Those still
 * open after the close, the same sockets by inode, are closed here. */
static void close_leftovers(struct live_capture_iface *ri)
{
    for (uint32_t k = 0; k < ri->npmd_xsk; k++)
        if (ri->pmd_xsk[k].fd >= 0 && xsk_inode(ri->pmd_xsk[k].fd) == ri->pmd_xsk[k].ino)
            close(ri->pmd_xsk[k].fd);
    ri->npmd_xsk = 0;
}

/* Opens the DPDK port as live_open_dpdk does, noting the AF_XDP sockets it opened. */
static int open_dpdk(struct live_capture *lc, struct live_capture_iface *ri, const char *dev,
                     char *err, size_t errlen)
{
    ri->npmd_xsk = 0;
    each_xsk(mark_old, ri);
    uint32_t before = ri->npmd_xsk;
    int n = live_open_dpdk(lc, ri, dev, ri->nsrc, ri->first, err, errlen);
    each_xsk(keep_new, ri);
    /* the ones before were flagged -1; the new ones follow them */
    uint32_t k = 0;
    for (uint32_t i = before; i < ri->npmd_xsk; i++)
        ri->pmd_xsk[k++] = ri->pmd_xsk[i];
    ri->npmd_xsk = k;
    if (n <= 0) close_leftovers(ri); /* a failed queue set-up leaves its UMEM's socket too */
    return n;
}

static void close_dpdk(struct live_capture_iface *ri)
{
    dpdk_port_close(ri->dpdk); /* its queues with it */
    ri->dpdk = NULL;
    close_leftovers(ri);
}

/* A place-holder for the sources of an interface that both readers failed to open: no
 * frames, nothing to count. */
static int dark_rx(struct capture *c, struct frame *f, int max, char *err, size_t errlen)
{
    (void)c, (void)f, (void)max, (void)err, (void)errlen;
    return -EAGAIN;
}
static void dark_stats(struct capture *c, struct capture_stats *st)
{
    (void)c;
    memset(st, 0, sizeof(*st));
}
static void dark_close(struct capture *c)
{
    (void)c;
}
static const struct capture_ops dark_ops = {.name = "none",
                                            .rx_burst = dark_rx,
                                            .rx_nowait = dark_rx,
                                            .stats = dark_stats,
                                            .close = dark_close};

static void go_dark(struct live_capture *lc, struct live_capture_iface *ri)
{
    for (uint32_t k = 0; k < ri->nsrc; k++)
        lc->src[ri->first + k] = (struct live_source){&dark_ops, NULL, ri->cfg.name, (int)k, 0};
    ri->mode = LIVE_TAP; /* no program, no port: live_lost_now counts nothing */
    fprintf(stderr, "ticktap: %s: no reader left on this interface; restart the agent\n",
            ri->cfg.name);
}

/* Tap mode again on the interface's queues (the same count). Returns 0 or -1 with err. */
static int reopen_tap(struct live_capture *lc, struct live_capture_iface *ri, char *err,
                      size_t errlen)
{
    struct compiled_rules cr;
    if (rules_compile(&lc->cfg->live, &cr)) {
        snprintf(err, errlen, "out of memory compiling the rules");
        return -1;
    }
    int rc = live_attach_xdp(lc, ri, &cr, err, errlen);
    rules_compiled_free(&cr);
    if (rc) return -1;
    /* the kernel frees a closed socket's buffer pool from a work queue: until then the
     * queue is busy */
    int n = -1;
    for (int ms = 0; ms <= QUEUE_FREE_WAIT_MS && n < 0; ms += 10) {
        n = live_open_tap_queues(lc, ri, ri->first, err, errlen);
        if (n < 0 && !strstr(err, "busy")) break;
        if (n < 0) pause_ms(10);
    }
    if (n != (int)ri->nsrc) {
        if (n > 0) {
            for (int k = 0; k < n; k++)
                lc->src[ri->first + (uint32_t)k].ops->close(lc->src[ri->first + (uint32_t)k].cap);
            snprintf(err, errlen, "%s has %d queues now, %u before", ri->cfg.name, n, ri->nsrc);
        }
        xdp_iface_close(ri->xdp);
        ri->xdp = NULL;
        return -1;
    }
    ri->mode = LIVE_TAP;
    return 0;
}

static void handoff_event(struct event *e, const struct live_capture_iface *ri, const char *dev,
                          int to_dpdk, const char *reason, uint64_t frames_before, uint64_t rate)
{
    live_event_init(e, EV_CAPTURE_HANDOFF);
    snprintf(e->u.handoff.ifname, sizeof(e->u.handoff.ifname), "%s", ri->cfg.name);
    snprintf(e->u.handoff.device, sizeof(e->u.handoff.device), "%s", dev);
    snprintf(e->u.handoff.reason, sizeof(e->u.handoff.reason), "%s", reason ? reason : "");
    e->u.handoff.frames_before = frames_before;
    e->u.handoff.rate = rate;
    e->u.handoff.intervals = ri->streak;
    e->u.handoff.to_dpdk = (uint8_t)to_dpdk;
    e->u.handoff.ok = !reason;
}

/* Tap mode to a DPDK reader. Fills *e; returns 1 (an event). */
static int to_dpdk(struct live_capture *lc, struct live_capture_iface *ri, struct event *e)
{
    char dev[256], err[512] = "";
    live_handoff_device(ri, dev, sizeof(dev));
    fprintf(stderr, "ticktap: %s: saturated for %u interval(s): handing the port to DPDK (%s)\n",
            ri->cfg.name, ri->streak, dev);
    uint64_t lost = sources_lost(lc, ri); /* the program's counters go with it */
    xdp_iface_detach(ri->xdp);
    pause_ms(2); /* redirects already under way land in the sockets */
    if (readers_let_go(lc, ri)) {
        /* cannot close what a reader may still read: the port stays without a reader */
        snprintf(err, sizeof(err), "a reader did not let go of the AF_XDP queues within %d ms",
                 LET_GO_WAIT_MS);
        fprintf(stderr, "ticktap: %s: hand-off failed: %s\n", ri->cfg.name, err);
        ri->handoff_failures++;
        handoff_event(e, ri, dev, 1, err, ri->frames_before, 0);
        return 1;
    }
    uint64_t before = ri->frames_before + sources_frames(lc, ri);
    ri->frames_before = before;
    ri->lost_before += lost;
    memset(ri->lost_prev, 0, sizeof(ri->lost_prev));
    close_tap(lc, ri);
    /* the kernel frees the closed sockets' buffer pools from a work queue: until then the
     * queues are busy, and net_af_xdp's queue set-up fails (the port is removed again) */
    int n = -1;
    for (int ms = 0; ms <= QUEUE_FREE_WAIT_MS && n < 0; ms += 20) {
        n = open_dpdk(lc, ri, dev, err, sizeof(err));
        if (n < 0 && !strstr(err, "rx queue")) break;
        if (n < 0) pause_ms(20);
    }
    if (n != (int)ri->nsrc) {
        if (n > 0) {
            snprintf(err, sizeof(err), "%s gave %d queues, %u wanted", dev, n, ri->nsrc);
            close_dpdk(ri);
        }
        fprintf(stderr, "ticktap: %s: hand-off to DPDK failed (%s): back to tap mode\n",
                ri->cfg.name, err);
        ri->handoff_failures++;
        char again[512];
        if (reopen_tap(lc, ri, again, sizeof(again))) {
            fprintf(stderr, "ticktap: %s: tap mode again failed too: %s\n", ri->cfg.name, again);
            go_dark(lc, ri);
            handoff_event(e, ri, dev, 1, err, before, 0);
            return 1; /* the readers stay idle on this interface */
        }
        readers_take(lc, ri);
        handoff_event(e, ri, dev, 1, err, before, 0);
        return 1;
    }
    ri->mode = LIVE_DPDK;
    ri->handoffs++;
    readers_take(lc, ri);
    fprintf(stderr, "ticktap: %s: now read by DPDK (%s), %" PRIu64 " frames in tap mode before\n",
            ri->cfg.name, dev, before);
    handoff_event(e, ri, dev, 1, NULL, before, 0);
    return 1;
}

/* A DPDK reader back to tap mode. Fills *e; returns 1. */
static int to_tap(struct live_capture *lc, struct live_capture_iface *ri, uint64_t rate,
                  struct event *e)
{
    char dev[256], err[512] = "";
    live_handoff_device(ri, dev, sizeof(dev));
    fprintf(stderr, "ticktap: %s: %" PRIu64 " frames/s for %u interval(s): back to tap mode\n",
            ri->cfg.name, rate, ri->streak);
    if (readers_let_go(lc, ri)) {
        snprintf(err, sizeof(err), "a reader did not let go of the DPDK queues within %d ms",
                 LET_GO_WAIT_MS);
        ri->handoff_failures++;
        readers_take(lc, ri);
        handoff_event(e, ri, dev, 0, err, ri->frames_before, rate);
        return 1;
    }
    uint64_t before = ri->frames_before + sources_frames(lc, ri);
    bank_counters(lc, ri);
    close_dpdk(ri);
    xdp_iface_clear(ri->cfg.name); /* net_af_xdp may leave its program behind */
    if (reopen_tap(lc, ri, err, sizeof(err))) {
        fprintf(stderr, "ticktap: %s: tap mode failed (%s): staying with DPDK\n", ri->cfg.name,
                err);
        ri->handoff_failures++;
        char again[512];
        int n = open_dpdk(lc, ri, dev, again, sizeof(again));
        if (n == (int)ri->nsrc) {
            readers_take(lc, ri);
        } else {
            if (n > 0) close_dpdk(ri);
            fprintf(stderr, "ticktap: %s: DPDK again failed too: %s\n", ri->cfg.name, again);
            go_dark(lc, ri);
        }
        handoff_event(e, ri, dev, 0, err, before, rate);
        return 1;
    }
    ri->handbacks++;
    readers_take(lc, ri);
    fprintf(stderr, "ticktap: %s: in tap mode again, %" PRIu64 " frames before\n", ri->cfg.name,
            before);
    handoff_event(e, ri, dev, 0, NULL, before, rate);
    return 1;
}

int live_capture_handoff(struct live_capture *lc, uint64_t now_ns, struct event *out, int max)
{
    int n = 0;
    for (uint32_t i = 0; i < lc->nifs; i++) {
        struct live_capture_iface *ri = &lc->ifs[i];
        int saturated = ri->saturated_now;
        ri->saturated_now = 0;
        if (!ri->cfg.handoff || ri->handoff_failures) continue;
        uint64_t frames = sources_frames(lc, ri), rate = 0;
        if (ri->tick_ns && now_ns > ri->tick_ns && frames >= ri->frames_at_tick)
            rate = (frames - ri->frames_at_tick) * 1000000000ull / (now_ns - ri->tick_ns);
        ri->frames_at_tick = frames;
        ri->tick_ns = now_ns;
        if (n == max) continue; /* no room for its event: decided at the next interval */
        if (ri->mode == LIVE_TAP) {
            ri->streak = saturated ? ri->streak + 1 : 0;
            if (ri->streak < ri->cfg.handoff_after) continue;
            n += to_dpdk(lc, ri, &out[n]);
        } else {
            ri->streak = ri->cfg.handback_below && rate < ri->cfg.handback_below && !saturated
                             ? ri->streak + 1
                             : 0;
            if (!ri->cfg.handback_below || ri->streak < ri->cfg.handback_after) continue;
            n += to_tap(lc, ri, rate, &out[n]);
        }
        ri->streak = 0;
        ri->frames_at_tick = sources_frames(lc, ri); /* the new sources count from 0 */
    }
    return n;
}
