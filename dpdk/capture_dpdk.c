/* capture_dpdk.c - DPDK ports as capture sources (see capture_dpdk.h). */
/* rte_eth_read_clock is still marked experimental in 22.11 (stable in use since 19.02) */
#define ALLOW_EXPERIMENTAL_API
#include "capture_dpdk.h"
#include "tick_clock.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#define RX_BURST 64
#define IDLE_PAUSE_MAX_NS 1000000L /* an idle queue is polled at least every millisecond */
#define JUMBO_MAX 16384            /* a frame in several mbufs is copied whole up to this */

/* The symmetric RSS key (0x6D5A repeated): a connection's two directions hash alike. */
static uint8_t symmetric_rss_key[40] = {0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

static int eal_started;
static char **eal_argv; /* the EAL's arguments, kept until it is cleaned up */
static int eal_argc;
static int ts_offset = -1; /* the mbuf rx-timestamp dynfield, when registered */
static uint64_t ts_flag;

/* One rx queue: a capture source. */
struct capture {
    struct dpdk_port *port;
    uint16_t port_id, queue;
    struct rte_mbuf *held[RX_BURST]; /* the last burst's mbufs: its frames point into them */
    uint16_t nheld;
    uint64_t frames, bytes, nic_stamped;
    uint64_t expected;        /* finite vdev: the frames its file holds; UINT64_MAX: endless */
    long idle_ns;             /* the pause before the next poll of an idle queue */
    struct tick_clock host;   /* the TSC as wall-clock time */
    struct tick_clock device; /* the NIC's clock as wall-clock time (clock == CLOCK_NIC) */
    uint64_t next_sync;       /* TSC at which both are resynced next */
    uint8_t *jumbo;           /* frames in several mbufs, copied whole (one per burst slot) */
};

struct dpdk_port {
    uint16_t port_id;
    int found;     /* port_id is the port (stopped and closed at the end) */
    char vdev[64]; /* a vdev made here (removed at the end) */
    uint32_t nqueues;
    enum { CLOCK_HOST, CLOCK_PCAP, CLOCK_NIC } clock; /* what stamps the frames */
    int busy_poll;                                    /* no pause on an idle queue */
    int finite;                                       /* every queue replays a file */
    uint64_t device_hz; /* the NIC clock's measured rate (CLOCK_NIC) */
    uint32_t snaplen;
    struct rte_mempool *pool;
    struct capture q[DPDK_QUEUES_MAX];
};

static void host_hint(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen,
             "%s: %s (no hugepages? reserve them, e.g. echo 512 > "
             "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages, or add --no-huge and "
             "-m 512 to dpdk.eal)",
             what, rte_strerror(rte_errno));
}

int dpdk_eal_start(const char *const *args, int nargs, char *err, size_t errlen)
{
    if (eal_started) return 0;
    char **argv = calloc((size_t)nargs + 2, sizeof(*argv));
    if (!argv) {
        snprintf(err, errlen, "out of memory for the EAL arguments");
        return -1;
    }
    argv[0] = strdup("ticktap");
    for (int i = 0; i < nargs; i++)
        argv[i + 1] = strdup(args[i]);
    /* The strings, kept apart: rte_eal_init rewrites argv (its program name lands in a second
     * slot), so the array no longer lists each once. Freed when the EAL is cleaned up. */
    eal_argv = calloc((size_t)nargs + 2, sizeof(*eal_argv));
    if (eal_argv) memcpy(eal_argv, argv, ((size_t)nargs + 1) * sizeof(*argv));
    eal_argc = eal_argv ? nargs + 1 : 0;
    /* rte_eal_init pins the calling thread to the main lcore, and every thread made after
     * would inherit that one core: workers and the sink keep the affinity the agent had. */
    cpu_set_t before;
    int have_before = !pthread_getaffinity_np(pthread_self(), sizeof(before), &before);
    if (rte_eal_init(nargs + 1, argv) < 0) {
        if (rte_errno == EINVAL) /* the EAL printed its usage above */
            snprintf(err, errlen,
                     "DPDK EAL did not start: dpdk.eal has an argument it does not "
                     "take, or cores this machine lacks (-l: 0-%ld here)",
                     sysconf(_SC_NPROCESSORS_ONLN) - 1);
        else if (rte_errno == 0) /* its config lock: the EAL sets no error for it */
            snprintf(err, errlen,
                     "DPDK EAL did not start: another DPDK process holds its runtime directory "
                     "(/var/run/dpdk/rte): stop it, or give dpdk.eal a --file-prefix of its own");
        else
            host_hint(err, errlen, "DPDK EAL did not start with dpdk.eal");
        for (int i = 0; i < eal_argc; i++)
            free(eal_argv[i]);
        free(eal_argv);
        free(argv);
        eal_argv = NULL;
        return -1;
    }
    free(argv); /* the array; the strings stay with the EAL */
    if (have_before) pthread_setaffinity_np(pthread_self(), sizeof(before), &before);
    eal_started = 1;
    if (rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag)) ts_offset = -1;
    return 0;
}

void dpdk_eal_stop(void)
{
    if (!eal_started) return;
    rte_eal_cleanup();
    eal_started = 0;
    for (int i = 0; eal_argv && i < eal_argc; i++)
        free(eal_argv[i]);
    free(eal_argv);
    eal_argv = NULL;
}

/* The frames a pcap file holds (a replay's end), or -1 when it cannot be read. */
static int64_t pcap_frames(const char *path)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, ebuf);
    if (!p) return -1;
    struct pcap_pkthdr *h;
    const u_char *d;
    int64_t n = 0;
    while (pcap_next_ex(p, &h, &d) == 1)
        n++;
    pcap_close(p);
    return n;
}

/* A vdev replaying files (net_pcap with rx_pcap=): each queue's frame count, in order. */
static int replay_counts(const char *dev, uint64_t *count, uint32_t max, char *err, size_t errlen)
{
    uint32_t n = 0;
    for (const char *p = strstr(dev, "rx_pcap="); p && n < max; p = strstr(p + 1, "rx_pcap=")) {
        char path[1024];
        size_t len = strcspn(p + 8, ",");
        snprintf(path, sizeof(path), "%.*s", (int)len, p + 8);
        int64_t frames = pcap_frames(path);
        if (frames < 0) {
            snprintf(err, errlen, "%s: cannot read the replay file %s", dev, path);
            return -1;
        }
        count[n++] = (uint64_t)frames;
    }
    return (int)n;
}

/* The port called dev: probed at EAL start (a PCI device, a --vdev), or now (a vdev, which
 * p->vdev then names: removed again at close, so that it can be made anew). */
static int find_port(struct dpdk_port *p, const char *dev, char *err, size_t errlen)
{
    char name[RTE_ETH_NAME_MAX_LEN];
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(dev, ","), dev);
    if (rte_eth_dev_get_port_by_name(name, &p->port_id) == 0) return 0;
    if (!strncmp(dev, "net_", 4) && rte_dev_probe(dev) == 0) {
        snprintf(p->vdev, sizeof(p->vdev), "%s", name);
        if (rte_eth_dev_get_port_by_name(name, &p->port_id) == 0) return 0;
    }
    if (!strncmp(dev, "net_", 4))
        snprintf(err, errlen,
                 "DPDK port %s: the vdev could not be created (%s): check its "
                 "arguments and that the PMD is installed",
                 dev, rte_strerror(rte_errno));
    else
        snprintf(err, errlen,
                 "DPDK port %s not found: bind it to vfio-pci (dpdk-devbind.py -b "
                 "vfio-pci %s) and keep --no-pci out of dpdk.eal",
                 dev, dev);
    return -1;
}

static uint64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The NIC clock's rate, measured against the wall clock over 100 ms. Returns 0, or -1 when the
 * PMD cannot read its clock (its stamps are then left unused). */
static int device_clock_rate(uint16_t port, uint64_t *hz)
{
    uint64_t t0, t1;
    if (rte_eth_read_clock(port, &t0)) return -1;
    uint64_t w0 = wall_ns();
    struct timespec pause = {0, 100000000L};
    nanosleep(&pause, NULL);
    if (rte_eth_read_clock(port, &t1)) return -1;
    uint64_t w1 = wall_ns();
    if (t1 <= t0 || w1 <= w0) return -1;
    *hz = (uint64_t)((double)(t1 - t0) * 1e9 / (double)(w1 - w0));
    return *hz ? 0 : -1;
}

static int configure(struct dpdk_port *p, const struct dpdk_port_opts *o, char *err, size_t errlen)
{
    struct rte_eth_dev_info info;
    if (rte_eth_dev_info_get(p->port_id, &info)) {
        snprintf(err, errlen, "DPDK port %s: no device information", o->dev);
        return -1;
    }
    if (p->nqueues > info.max_rx_queues) {
        snprintf(err, errlen,
                 "DPDK port %s: %u queues asked, the port has %u (net_pcap: one "
                 "rx_pcap= per queue)",
                 o->dev, p->nqueues, info.max_rx_queues);
        return -1;
    }
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.rxmode.offloads = info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP;
    if (p->nqueues > 1) {
        /* Addresses and ports by default: by addresses only, every session between one
         * gateway and one exchange would land on one queue. */
        uint64_t want = RTE_ETH_RSS_IP | (o->rss_l3 ? 0 : RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
        uint64_t have = want & info.flow_type_rss_offloads;
        if (!have)
            fprintf(stderr,
                    "ticktap: DPDK port %s offers no RSS hash: its %u queues are filled "
                    "as its driver chooses\n",
                    o->dev, p->nqueues);
        else if (have != want)
            fprintf(stderr,
                    "ticktap: DPDK port %s hashes only some of the asked fields (0x%llx "
                    "of 0x%llx): queues may be uneven\n",
                    o->dev, (unsigned long long)have, (unsigned long long)want);
        conf.rxmode.mq_mode = have ? RTE_ETH_MQ_RX_RSS : RTE_ETH_MQ_RX_NONE;
        conf.rx_adv_conf.rss_conf.rss_key = symmetric_rss_key;
        conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(symmetric_rss_key);
        conf.rx_adv_conf.rss_conf.rss_hf = have;
    }
    /* No tx queue is needed, but some PMDs want rx and tx paired (net_af_xdp) */
    uint16_t ntx = 0;
    int rc = rte_eth_dev_configure(p->port_id, (uint16_t)p->nqueues, 0, &conf);
    if (rc == -EINVAL) {
        ntx = (uint16_t)p->nqueues;
        rc = rte_eth_dev_configure(p->port_id, (uint16_t)p->nqueues, ntx, &conf);
    }
    if (rc) {
        snprintf(err, errlen, "DPDK port %s: configure: %s", o->dev, rte_strerror(-rc));
        return -1;
    }
    uint16_t desc = (uint16_t)(o->rx_descriptors ? o->rx_descriptors : 1024);
    rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &desc, NULL);
    uint32_t need = 2 * p->nqueues * desc + p->nqueues * RX_BURST;
    uint32_t size = o->mempool_size ? o->mempool_size : need;
    if (size < p->nqueues * desc + p->nqueues * RX_BURST) {
        snprintf(err, errlen,
                 "DPDK port %s: mempool_size %u is too small: %u queues of %u "
                 "descriptors need at least %u mbufs",
                 o->dev, size, p->nqueues, desc, p->nqueues * desc + p->nqueues * RX_BURST);
        return -1;
    }
    char pool[RTE_MEMPOOL_NAMESIZE];
    snprintf(pool, sizeof(pool), "tt_rx%u", p->port_id);
    int socket = rte_eth_dev_socket_id(p->port_id);
    if (socket >= 0 && (unsigned)socket != rte_socket_id()) /* every mbuf would cross nodes */
        fprintf(stderr,
                "ticktap: DPDK port %s is on NUMA node %d and its reader on node %u: "
                "give dpdk.eal cores of node %d (-l)\n",
                o->dev, socket, rte_socket_id(), socket);
    p->pool = rte_pktmbuf_pool_create(pool, size, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                      socket < 0 ? (int)rte_socket_id() : socket);
    if (!p->pool) {
        char what[256];
        snprintf(what, sizeof(what), "DPDK port %s: a pool of %u mbufs", o->dev, size);
        host_hint(err, errlen, what);
        return -1;
    }
    for (uint32_t q = 0; q < p->nqueues; q++)
        if ((rc = rte_eth_rx_queue_setup(p->port_id, (uint16_t)q, desc, (unsigned)socket, NULL,
                                         p->pool))) {
            snprintf(err, errlen, "DPDK port %s: rx queue %u: %s", o->dev, q, rte_strerror(-rc));
            return -1;
        }
    for (uint16_t q = 0; q < ntx; q++)
        if ((rc = rte_eth_tx_queue_setup(p->port_id, q, 0, (unsigned)socket, NULL))) {
            snprintf(err, errlen, "DPDK port %s: tx queue %u: %s", o->dev, q, rte_strerror(-rc));
            return -1;
        }
    if ((rc = rte_eth_dev_start(p->port_id))) {
        snprintf(err, errlen, "DPDK port %s: start: %s", o->dev, rte_strerror(-rc));
        return -1;
    }
    rte_eth_promiscuous_enable(p->port_id); /* a capture port takes every frame */
    if (!strcmp(info.driver_name, "net_pcap"))
        p->clock = CLOCK_PCAP;
    else if (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TIMESTAMP)
        p->clock = device_clock_rate(p->port_id, &p->device_hz) ? CLOCK_HOST : CLOCK_NIC;
    return 0;
}

int dpdk_port_open(struct dpdk_port **out, const struct dpdk_port_opts *o, char *err, size_t errlen)
{
    *out = NULL;
    if (!eal_started) {
        snprintf(err, errlen, "DPDK port %s: the EAL is not started", o->dev);
        return -1;
    }
    struct dpdk_port *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory for DPDK port %s", o->dev);
        return -1;
    }
    p->nqueues = o->queues ? o->queues : 1;
    p->snaplen = o->snaplen;
    p->busy_poll = o->busy_poll;
    if (p->nqueues > DPDK_QUEUES_MAX) {
        snprintf(err, errlen, "DPDK port %s: %u queues, at most %d", o->dev, p->nqueues,
                 DPDK_QUEUES_MAX);
        free(p);
        return -1;
    }
    uint64_t counts[DPDK_QUEUES_MAX];
    int nfiles = replay_counts(o->dev, counts, DPDK_QUEUES_MAX, err, errlen);
    if (nfiles < 0 || find_port(p, o->dev, err, errlen)) {
        dpdk_port_close(p);
        return -1;
    }
    p->found = 1;
    p->finite = nfiles > 0 && (uint32_t)nfiles >= p->nqueues;
    for (uint32_t q = 0; q < p->nqueues; q++) {
        p->q[q] = (struct capture){.port = p,
                                   .port_id = p->port_id,
                                   .queue = (uint16_t)q,
                                   .expected = p->finite ? counts[q] : UINT64_MAX};
        if (!(p->q[q].jumbo = malloc((size_t)RX_BURST * JUMBO_MAX))) {
            snprintf(err, errlen, "out of memory for DPDK port %s", o->dev);
            dpdk_port_close(p);
            return -1;
        }
    }
    if (configure(p, o, err, errlen)) {
        dpdk_port_close(p);
        return -1;
    }
    *out = p;
    return 0;
}

struct capture *dpdk_port_queue(struct dpdk_port *p, uint32_t q)
{
    return q < p->nqueues ? &p->q[q] : NULL;
}

uint32_t dpdk_port_queues(const struct dpdk_port *p)
{
    return p->nqueues;
}

int dpdk_port_finite(const struct dpdk_port *p)
{
    return p->finite;
}

const char *dpdk_port_clock(const struct dpdk_port *p)
{
    switch (p->clock) {
    case CLOCK_PCAP:
        return "pcap (the replayed file's microseconds, as ns)";
    case CLOCK_NIC:
        return "nic (the device clock's stamps, as wall-clock ns by rte_eth_read_clock)";
    default:
        return "host (the TSC at each burst, resynced to CLOCK_REALTIME each second)";
    }
}

void dpdk_port_stats(struct dpdk_port *p, struct dpdk_port_stats *st)
{
    struct rte_eth_stats s;
    memset(st, 0, sizeof(*st));
    if (rte_eth_stats_get(p->port_id, &s)) return;
    st->ipackets = s.ipackets;
    st->imissed = s.imissed;
    st->rx_nombuf = s.rx_nombuf;
    st->ierrors = s.ierrors;
}

int dpdk_port_xstats(struct dpdk_port *p, void (*each)(void *ctx, const char *name, uint64_t v),
                     void *ctx)
{
    int n = rte_eth_xstats_get(p->port_id, NULL, 0);
    if (n <= 0) return 0;
    struct rte_eth_xstat *xs = calloc((size_t)n, sizeof(*xs));
    struct rte_eth_xstat_name *names = calloc((size_t)n, sizeof(*names));
    int got = 0;
    if (xs && names && rte_eth_xstats_get_names(p->port_id, names, (unsigned)n) == n &&
        rte_eth_xstats_get(p->port_id, xs, (unsigned)n) == n) {
        for (int i = 0; i < n; i++)
            if (xs[i].value && xs[i].id < (uint64_t)n) each(ctx, names[xs[i].id].name, xs[i].value);
        got = n;
    }
    free(xs);
    free(names);
    return got;
}

void dpdk_port_close(struct dpdk_port *p)
{
    if (!p) return;
    for (uint32_t q = 0; q < p->nqueues; q++) {
        struct capture *c = &p->q[q];
        for (uint16_t i = 0; i < c->nheld; i++)
            rte_pktmbuf_free(c->held[i]);
        c->nheld = 0;
        free(c->jumbo);
    }
    if (p->found) {
        rte_eth_dev_stop(p->port_id);
        rte_eth_dev_close(p->port_id);
    }
    rte_mempool_free(p->pool);
    if (p->vdev[0]) rte_eal_hotplug_remove("vdev", p->vdev);
    free(p);
}

/* The queue's clocks, started at the port's start and resynced about once a second. */
static void clocks_sync(struct capture *c, uint64_t tsc)
{
    struct dpdk_port *p = c->port;
    uint64_t device = 0;
    int have_device = p->clock == CLOCK_NIC && !rte_eth_read_clock(c->port_id, &device);
    uint64_t wall = wall_ns();
    if (!c->next_sync) {
        tick_clock_init(&c->host, rte_get_tsc_hz(), tsc, wall);
        if (have_device) tick_clock_init(&c->device, p->device_hz, device, wall);
    } else {
        tick_clock_resync(&c->host, tsc, wall);
        if (have_device) tick_clock_resync(&c->device, device, wall);
    }
    c->next_sync = tsc + rte_get_tsc_hz();
}

static pthread_key_t reader_key;
static pthread_once_t reader_key_once = PTHREAD_ONCE_INIT;

static void reader_gone(void *unused)
{
    (void)unused;
    rte_thread_unregister();
}

static void reader_key_make(void)
{
    pthread_key_create(&reader_key, reader_gone);
}

/* The thread reading queue q runs on the cores of the EAL's lcore q (modulo their number, in
 * the order of dpdk.eal's -l): where the user isolated cores for the readers. Once per thread
 * (one reading several queues stays on the first's). It is registered with the EAL too (an
 * lcore id of its own until it ends): the PMD's refills and the frees of its mbufs then go
 * through the pool's per-lcore cache, not its shared ring with an atomic operation each. */
static void pin_reader(uint16_t queue)
{
    static _Thread_local int pinned;
    if (pinned) return;
    pinned = 1;
    unsigned lcores[RTE_MAX_LCORE], n = 0, lcore;
    RTE_LCORE_FOREACH(lcore)
    lcores[n++] = lcore;
    if (!n) return;
    rte_cpuset_t set = rte_lcore_cpuset(lcores[queue % n]);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    /* after pinning: the lcore takes the thread's cpuset */
    pthread_once(&reader_key_once, reader_key_make);
    if (rte_lcore_id() == LCORE_ID_ANY && rte_thread_register() == 0)
        pthread_setspecific(reader_key, &reader_key); /* unregistered as the thread ends */
}

/* One burst without waiting: -EAGAIN when nothing came, 0 when a replay has ended. */
static int dpdk_rx_nowait(struct capture *c, struct frame *frames, int max, char *err,
                          size_t errlen)
{
    (void)err;
    (void)errlen;
    if (c->nheld) rte_pktmbuf_free_bulk(c->held, c->nheld); /* the last burst's are done with */
    c->nheld = 0;
    if (max > RX_BURST) max = RX_BURST;
    pin_reader(c->queue);
    uint16_t n = rte_eth_rx_burst(c->port_id, c->queue, c->held, (uint16_t)max);
    if (!n) return c->frames >= c->expected ? 0 : -EAGAIN;
    c->nheld = n;
    struct dpdk_port *p = c->port;
    uint64_t tsc = rte_rdtsc();
    if (tsc >= c->next_sync) clocks_sync(c, tsc);
    uint64_t now = tick_clock_ns(&c->host, tsc); /* one reading serves the burst */
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = c->held[i];
        struct frame *f = &frames[i];
        uint32_t len = rte_pktmbuf_pkt_len(m);
        f->wirelen = len;
        f->caplen = len < p->snaplen ? len : p->snaplen;
        if (m->nb_segs == 1) {
            f->data = rte_pktmbuf_mtod(m, const uint8_t *);
        } else { /* a jumbo frame over several mbufs: copied whole */
            uint8_t *to = c->jumbo + (size_t)i * JUMBO_MAX;
            if (f->caplen > JUMBO_MAX) f->caplen = JUMBO_MAX;
            f->data = rte_pktmbuf_read(m, 0, f->caplen, to);
        }
        if (p->clock != CLOCK_HOST && ts_offset >= 0 && (m->ol_flags & ts_flag)) {
            /* net_pcap: the file's time in microseconds; a NIC: its clock's ticks */
            uint64_t stamp = *RTE_MBUF_DYNFIELD(m, ts_offset, uint64_t *);
            f->ts_ns = p->clock == CLOCK_PCAP ? stamp * 1000 : tick_clock_ns(&c->device, stamp);
            c->nic_stamped++;
        } else {
            f->ts_ns = now;
        }
        f->ordinal = ++c->frames;
        f->linktype = 1; /* Ethernet */
        f->key_hashed = 0;
        c->bytes += len;
    }
    c->idle_ns = 0;
    return n;
}

static int dpdk_rx_burst(struct capture *c, struct frame *frames, int max, char *err, size_t errlen)
{
    int n = dpdk_rx_nowait(c, frames, max, err, errlen);
    if (n != -EAGAIN || c->port->busy_poll) return n;
    /* idle: pause before the next poll, longer the longer it stays idle */
    c->idle_ns = c->idle_ns ? c->idle_ns * 2 : 1000;
    if (c->idle_ns > IDLE_PAUSE_MAX_NS) c->idle_ns = IDLE_PAUSE_MAX_NS;
    struct timespec pause = {0, c->idle_ns};
    nanosleep(&pause, NULL);
    return -EAGAIN;
}

static int dpdk_wait_fd(struct capture *c)
{
    (void)c;
    return -1; /* no descriptor: a union of queues polls them on its timeout */
}

static void dpdk_stats(struct capture *c, struct capture_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->frames = c->frames;
    st->bytes = c->bytes;
    st->hw_stamped = c->nic_stamped;
}

static void dpdk_queue_close(struct capture *c)
{
    (void)c; /* the port owns its queues */
}

const struct capture_ops capture_dpdk_ops = {
    .name = "dpdk",
    .rx_burst = dpdk_rx_burst,
    .stats = dpdk_stats,
    .rx_nowait = dpdk_rx_nowait,
    .wait_fd = dpdk_wait_fd,
    .close = dpdk_queue_close,
};
