/* capture_pcap_live.c - pcap mode: libpcap live capture, for machines without XDP.
 *
 * Immediate mode, nanosecond timestamps where the kernel gives them, non-blocking reads with
 * a short poll on the selectable descriptor. libpcap's packet pointers live only until the
 * next read, so a burst copies them into the source's slots. A pcap_t belongs to one thread:
 * a new filter is compiled aside and handed over, and the drop counters are read by the
 * reading thread and published.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_live.h"

#define PCAP_BURST 64

struct pcap_live {
    pcap_t *p;
    int nano;
    int linktype;
    uint8_t *slots;
    uint32_t slot_size;
    struct frame *out;
    int n;
    uint64_t ordinal, frames, bytes;
    uint32_t bursts;
    _Atomic uint64_t dropped;                   /* kernel drops, read every 256 bursts */
    struct bpf_program *_Atomic pending_filter; /* installed by the reading thread */
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct pcap_live *s = (struct pcap_live *)user;
    uint32_t caplen = h->caplen < s->slot_size ? h->caplen : s->slot_size;
    uint8_t *slot = s->slots + (size_t)s->n * s->slot_size;
    memcpy(slot, bytes, caplen);
    struct frame *f = &s->out[s->n++];
    f->ts_ns =
        (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * (s->nano ? 1u : 1000u);
    f->ordinal = ++s->ordinal;
    f->data = slot;
    f->caplen = caplen;
    f->wirelen = h->len;
    f->linktype = s->linktype;
    s->frames++;
    s->bytes += h->len;
}

int capture_pcap_live_set_filter(struct capture *c, const char *filter, char *err, size_t errlen)
{
    struct pcap_live *s = (struct pcap_live *)c;
    pcap_t *dead = pcap_open_dead(s->linktype, (int)s->slot_size);
    struct bpf_program *prog = calloc(1, sizeof(*prog));
    if (!dead || !prog) {
        snprintf(err, errlen, "out of memory");
        if (dead) pcap_close(dead);
        free(prog);
        return -1;
    }
    if (pcap_compile(dead, prog, filter ? filter : "", 1, PCAP_NETMASK_UNKNOWN)) {
        snprintf(err, errlen, "filter '%s': %s", filter, pcap_geterr(dead));
        pcap_close(dead);
        free(prog);
        return -1;
    }
    pcap_close(dead);
    struct bpf_program *old = atomic_exchange(&s->pending_filter, prog);
    if (old) { /* never installed: replaced before the reader came round */
        pcap_freecode(old);
        free(old);
    }
    return 0;
}

static void install_pending_filter(struct pcap_live *s)
{
    struct bpf_program *prog = atomic_exchange(&s->pending_filter, NULL);
    if (!prog) return;
    if (pcap_setfilter(s->p, prog))
        fprintf(stderr, "ticktap: cannot set the capture filter: %s\n", pcap_geterr(s->p));
    pcap_freecode(prog);
    free(prog);
}

struct capture *capture_pcap_live_open(const char *ifname, uint32_t snaplen, uint64_t buffer,
                                       const char *filter, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct pcap_live *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->slot_size = snaplen;
    s->slots = malloc((size_t)PCAP_BURST * snaplen);
    s->p = pcap_create(ifname, perr);
    if (!s->slots || !s->p) {
        snprintf(err, errlen, "%s: %s", ifname, perr[0] ? perr : "out of memory");
        goto fail;
    }
    pcap_set_snaplen(s->p, (int)snaplen);
    pcap_set_immediate_mode(s->p, 1);
    pcap_set_buffer_size(s->p, (int)(buffer > (1u << 30) ? (1u << 30) : buffer));
    s->nano = pcap_set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_NANO) == 0;
    int rc = pcap_activate(s->p);
    if (rc < 0) {
        if (rc == PCAP_ERROR_PERM_DENIED)
            snprintf(err, errlen,
                     "%s: capturing needs root or CAP_NET_RAW: run ticktap run with sudo", ifname);
        else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            snprintf(err, errlen, "no such interface '%s' (see 'ip link')", ifname);
        else
            snprintf(err, errlen, "%s: cannot capture: %s", ifname, pcap_geterr(s->p));
        goto fail;
    }
    s->linktype = pcap_datalink(s->p);
    if (pcap_setnonblock(s->p, 1, perr)) {
        snprintf(err, errlen, "%s: %s", ifname, perr);
        goto fail;
    }
    if (filter && *filter) {
        if (capture_pcap_live_set_filter((struct capture *)s, filter, err, errlen)) goto fail;
        install_pending_filter(s);
    }
    return (struct capture *)s;
fail:
    capture_pcap_live_ops.close((struct capture *)s);
    return NULL;
}

/* The packets waiting; when none is, waits for some (up to 10 ms) only if asked to. */
static int pcap_live_rx(struct capture *c, struct frame *frames, int max, int wait, char *err,
                        size_t errlen)
{
    struct pcap_live *s = (struct pcap_live *)c;
    s->out = frames;
    s->n = 0;
    if (max > PCAP_BURST) max = PCAP_BURST;
    install_pending_filter(s);
    if ((s->bursts++ & 255) == 0) {
        struct pcap_stat ps;
        if (pcap_stats(s->p, &ps) == 0)
            atomic_store(&s->dropped, (uint64_t)ps.ps_drop + ps.ps_ifdrop);
    }
    int rc = pcap_dispatch(s->p, max, on_packet, (u_char *)s);
    if (rc == 0 && wait) {
        struct pollfd p = {.fd = pcap_get_selectable_fd(s->p), .events = POLLIN};
        if (p.fd >= 0) poll(&p, 1, 10);
        rc = pcap_dispatch(s->p, max, on_packet, (u_char *)s);
    }
    if (rc < 0 && rc != PCAP_ERROR_BREAK) {
        snprintf(err, errlen, "live capture: %s", pcap_geterr(s->p));
        return s->n ? s->n : -EIO;
    }
    return s->n ? s->n : -EAGAIN;
}

static int pcap_live_rx_burst(struct capture *c, struct frame *frames, int max, char *err,
                              size_t errlen)
{
    return pcap_live_rx(c, frames, max, 1, err, errlen);
}

static int pcap_live_rx_nowait(struct capture *c, struct frame *frames, int max, char *err,
                               size_t errlen)
{
    return pcap_live_rx(c, frames, max, 0, err, errlen);
}

static int pcap_live_wait_fd(struct capture *c)
{
    return pcap_get_selectable_fd(((struct pcap_live *)c)->p);
}

uint64_t capture_pcap_live_dropped(struct capture *c)
{
    return atomic_load(&((struct pcap_live *)c)->dropped);
}

static void pcap_live_stats(struct capture *c, struct capture_stats *st)
{
    struct pcap_live *s = (struct pcap_live *)c;
    memset(st, 0, sizeof(*st));
    st->frames = s->frames;
    st->bytes = s->bytes;
}

static void pcap_live_close(struct capture *c)
{
    struct pcap_live *s = (struct pcap_live *)c;
    if (!s) return;
    if (s->p) pcap_close(s->p);
    struct bpf_program *prog = atomic_exchange(&s->pending_filter, NULL);
    if (prog) {
        pcap_freecode(prog);
        free(prog);
    }
    free(s->slots);
    free(s);
}

const struct capture_ops capture_pcap_live_ops = {
    .name = "pcap-live",
    .rx_burst = pcap_live_rx_burst,
    .rx_nowait = pcap_live_rx_nowait,
    .wait_fd = pcap_live_wait_fd,
    .stats = pcap_live_stats,
    .close = pcap_live_close,
};
