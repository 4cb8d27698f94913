/* dpdk_ring.c - DPDK at full speed, without a NIC: a capture's frames, loaded once, are copied
 * into mbufs of a pool as a NIC would (a few thousand mbufs going round, one reference each)
 * and put into an rte_ring over and over by a feeder thread on the second core; the ring is a
 * DPDK port (net_ring, rte_eth_from_ring) opened as ticktap opens a port, and read by one
 * reader through the whole pipeline (one worker: it reads the queue itself). Prints Mpps over
 * the run and the reader's CPU seconds, so the figure is per reader lcore.
 *   dpdk_ring CAPTURE FRAMES [QUEUES]
 * With QUEUES (2 or more) the port has that many rx rings, fed as symmetric RSS would (by the
 * IPv4 address pair), read by a reader thread each for as many workers (reader_order.h); it
 * prints what each kind of thread spent per frame: the readers' steering and the workers'
 * analysis, each as Mpps per lcore.
 * Frames carry the host clock (the TSC per burst), as on a NIC that does not stamp. */
#define ALLOW_EXPERIMENTAL_API
#include <pcap/pcap.h>
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "../../agent/config/config.h"
#include "../../agent/pipeline/pipeline.h"
#include "../../dpdk/capture_dpdk.h"

#define FEED_BURST 32
#define QUEUES_MAX 8

/* The capture's frames, each copied into a fresh mbuf as it is fed: the frames' bytes, their
 * length and rx ring. */
static uint8_t *blob;
static struct tmpl {
    uint32_t off, len;
    uint8_t queue; /* symmetric in the address pair, as RSS */
} * tmpls;
static uint32_t nframes, nqueues = 1;
static struct rte_mempool *nic_pool;
static struct rte_ring *rings[QUEUES_MAX];
static _Atomic uint64_t fed[QUEUES_MAX];
static _Atomic int fed_all;
static uint64_t total;
static _Atomic int stop_feed;
static double feeder_cpu; /* the feeder's CPU seconds, read as it ends */

/* Loads the capture's frames (up to 64 K of them) and makes the pool the "NIC" fills. */
static int load(const char *path)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, ebuf);
    if (!p) {
        fprintf(stderr, "dpdk_ring: %s\n", ebuf);
        return -1;
    }
    uint32_t cap = 1 << 16;
    tmpls = calloc(cap, sizeof(*tmpls));
    blob = malloc((size_t)cap * 2048);
    struct pcap_pkthdr *h;
    const u_char *d;
    uint32_t at = 0;
    while (tmpls && blob && nframes < cap && pcap_next_ex(p, &h, &d) == 1) {
        uint32_t len = h->caplen < 2048 ? h->caplen : 2048;
        memcpy(blob + at, d, len);
        uint32_t pair = 0; /* IPv4 src ^ dst: both directions hash alike */
        if (len >= 34 && d[12] == 0x08 && d[13] == 0x00)
            for (int k = 0; k < 4; k++)
                pair = pair * 31 + (uint32_t)(d[26 + k] ^ d[30 + k]);
        tmpls[nframes++] = (struct tmpl){at, len, (uint8_t)(pair % nqueues)};
        at += (len + 63) & ~63u;
    }
    pcap_close(p);
    /* as a NIC's: a few thousand mbufs going round through the rings and the per-lcore caches */
    nic_pool =
        rte_pktmbuf_pool_create("nic", 16384, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    return nframes && nic_pool ? 0 : -1;
}

/* Trip t of the capture is new traffic, not a replay of the first (which would be one long
 * storm of retransmissions, duplicates and sequence gaps): the second octet of both IPv4
 * addresses is xored with t and the MoldUDP64 session renamed, so the flows, FIX sessions and
 * feeds are new ones. Written into the frame's fresh copy. */
static void retrip(struct rte_mbuf *m, uint32_t trip)
{
    uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *);
    if (rte_pktmbuf_data_len(m) < 34 || eth[12] != 0x08 || eth[13] != 0x00) return;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 14);
    ((uint8_t *)&ip->src_addr)[1] ^= (uint8_t)trip;
    ((uint8_t *)&ip->dst_addr)[1] ^= (uint8_t)trip;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    /* market data is keyed by its MoldUDP64 session name (10 characters): a new one per trip,
     * its characters 7 and 8 replaced (the generator's sessions differ in the last two) */
    size_t ihl = (size_t)(ip->version_ihl & 0xf) * 4, name = 14 + ihl + 8;
    if (ip->next_proto_id == IPPROTO_UDP && rte_pktmbuf_data_len(m) >= name + 10) {
        eth[name + 6] = (uint8_t)('a' + trip / 26 % 26);
        eth[name + 7] = (uint8_t)('a' + trip % 26);
    }
}

/* Puts total frames into the rings, the capture's over and over, as a NIC would: each into an
 * mbuf taken from the pool (the reader's frees bring them back), its bytes copied in. */
static void *feed(void *arg)
{
    (void)arg;
    rte_thread_register(); /* a per-lcore cache of the pool, as the reader has */
    struct rte_mbuf *burst[QUEUES_MAX][FEED_BURST], *fresh[FEED_BURST];
    uint32_t nb[QUEUES_MAX] = {0};
    uint64_t sent = 0;
    uint32_t at = 0, trip = 0;
    while (sent < total && !stop_feed) {
        uint32_t n = total - sent < FEED_BURST ? (uint32_t)(total - sent) : FEED_BURST;
        while (rte_pktmbuf_alloc_bulk(nic_pool, fresh, n) && !stop_feed)
            ; /* every mbuf is in a ring or a cache: the readers free them soon */
        for (uint32_t i = 0; i < n; i++) {
            const struct tmpl *t = &tmpls[at];
            struct rte_mbuf *m = fresh[i];
            memcpy(rte_pktmbuf_append(m, (uint16_t)t->len), blob + t->off, t->len);
            if (trip) retrip(m, trip);
            burst[t->queue][nb[t->queue]++] = m;
            if (++at == nframes) {
                at = 0;
                trip++;
            }
        }
        for (uint32_t q = 0; q < nqueues; q++) {
            uint32_t done = 0;
            while (done < nb[q] && !stop_feed)
                done +=
                    rte_ring_enqueue_burst(rings[q], (void **)burst[q] + done, nb[q] - done, NULL);
            atomic_fetch_add(&fed[q], nb[q]);
            nb[q] = 0;
        }
        sent += n;
    }
    atomic_store(&fed_all, 1);
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    feeder_cpu = (double)t.tv_sec + (double)t.tv_nsec / 1e9;
    rte_thread_unregister();
    return NULL;
}

/* The port's queues, each ended after what the feeder put into its ring (a ring never ends by
 * itself). The source handed to the pipeline is the queue's index in qs. */
static struct ring_queue {
    struct capture *dpdk;
    uint64_t got;
} qs[QUEUES_MAX];
static int ring_rx(struct capture *c, struct frame *f, int max, char *err, size_t errlen)
{
    struct ring_queue *q = (struct ring_queue *)c;
    if (atomic_load(&fed_all) && q->got >= atomic_load(&fed[q - qs])) return 0;
    int n = capture_dpdk_ops.rx_burst(q->dpdk, f, max, err, errlen);
    if (n > 0) q->got += (uint64_t)n;
    return n;
}
static int ring_nowait(struct capture *c, struct frame *f, int max, char *err, size_t errlen)
{
    return ring_rx(c, f, max, err, errlen);
}
static void ring_stats(struct capture *c, struct capture_stats *st)
{
    capture_dpdk_ops.stats(((struct ring_queue *)c)->dpdk, st);
}
static void ring_close(struct capture *c)
{
    (void)c;
}

static double cpu_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds of this process's threads whose name starts with prefix (from /proc, whose
 * threads are still there: read before the pipeline joins them, by the sink's tick). */
static double threads_cpu(const char *prefix)
{
    double sum = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], comm[32] = "", stat[1024];
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int named = fgets(comm, sizeof(comm), f) && !strncmp(comm, prefix, strlen(prefix));
        fclose(f);
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        if (!named || !(f = fopen(path, "r"))) continue;
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = 0;
        const char *p = strrchr(stat, ')'); /* fields after the name: utime is the 14th */
        unsigned long long ut = 0, st = 0;
        if (p &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
            sum += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    if (d) closedir(d);
    return sum;
}

/* The readers' and workers' CPU, sampled by the run's tick until they end. */
static double readers_cpu, workers_cpu;
static int sample_threads(void *arg, struct event *out, int max)
{
    (void)arg, (void)out, (void)max;
    double r = threads_cpu("tt-reader"), w = threads_cpu("tt-worker");
    if (r > readers_cpu) readers_cpu = r;
    if (w > workers_cpu) workers_cpu = w;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: dpdk_ring CAPTURE FRAMES [QUEUES]\n");
        return 2;
    }
    total = strtoull(argv[2], NULL, 10);
    if (argc == 4) nqueues = (uint32_t)strtoul(argv[3], NULL, 10);
    if (nqueues < 1 || nqueues > QUEUES_MAX) {
        fprintf(stderr, "dpdk_ring: 1 to %d queues\n", QUEUES_MAX);
        return 2;
    }
    const char *eal[] = {"--no-huge",     "-m", "1024", "--no-pci", "--log-level=lib.eal:error",
                         "--no-telemetry"};
    char err[512];
    if (dpdk_eal_start(eal, 6, err, sizeof(err)) || load(argv[1])) {
        fprintf(stderr, "dpdk_ring: %s\n", err);
        return 1;
    }
    int made = 1;
    for (uint32_t q = 0; q < nqueues; q++) {
        char rn[32];
        snprintf(rn, sizeof(rn), "tt_bench%u", q);
        rings[q] = rte_ring_create(rn, 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        made &= rings[q] != NULL;
    }
    int port_id = !made          ? -1
                  : nqueues == 1 ? rte_eth_from_ring(rings[0])
                                 : rte_eth_from_rings("tt_bench", rings, nqueues, rings, nqueues,
                                                      SOCKET_ID_ANY);
    char name[RTE_ETH_NAME_MAX_LEN];
    if (port_id < 0 || rte_eth_dev_get_name_by_port((uint16_t)port_id, name)) {
        fprintf(stderr, "dpdk_ring: no ring port\n");
        return 1;
    }
    struct dpdk_port *port;
    struct dpdk_port_opts o = {.dev = name, .queues = nqueues, .snaplen = 65535};
    if (dpdk_port_open(&port, &o, err, sizeof(err))) {
        fprintf(stderr, "dpdk_ring: %s\n", err);
        return 1;
    }
    struct live_source src[QUEUES_MAX];
    const struct capture_ops ops = {.name = "dpdk",
                                    .rx_burst = ring_rx,
                                    .rx_nowait = ring_nowait,
                                    .stats = ring_stats,
                                    .close = ring_close};
    struct tt_config cfg;
    config_defaults(&cfg);
    cfg.workers = nqueues;
    cfg.trading.md_sessions = 1024; /* a site with many feeds: each trip brings 8 sessions */
    _Atomic int stop = 0;
    for (uint32_t q = 0; q < nqueues; q++) {
        qs[q].dpdk = dpdk_port_queue(port, q);
        src[q] = (struct live_source){&ops, (struct capture *)&qs[q], "tt_bench", (int)q, 1};
    }
    struct run_options opt = {.live = src,
                              .nlive = (int)nqueues,
                              .stop = &stop,
                              .tick = sample_threads,
                              .tick_interval_ns = 20000000};
    struct run_result res;
    pthread_t feeder;
    /* the reader's CPU: the process's, less the feeder's and the sink's (this thread) */
    double c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_s(CLOCK_THREAD_CPUTIME_ID);
    pthread_create(&feeder, NULL, feed, NULL);
    double t0 = cpu_s(CLOCK_MONOTONIC);
    int rc = pipeline_run(&cfg, &opt, &res, err, sizeof(err));
    double t1 = cpu_s(CLOCK_MONOTONIC);
    stop_feed = 1;
    pthread_join(feeder, NULL);
    double c1 = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_s(CLOCK_THREAD_CPUTIME_ID) - feeder_cpu;
    if (rc) {
        fprintf(stderr, "dpdk_ring: %s\n", err);
        return 1;
    }
    uint64_t events = 0;
    for (int i = 0; i < EV_MAX; i++) {
        events += res.events[i];
        if (res.events[i] >
            (getenv("TT_EVENTS") ? 0 : total / 100)) /* a trip: traffic, not a storm */
            fprintf(stderr, "dpdk_ring: %llu %s events\n", (unsigned long long)res.events[i],
                    event_type_name((enum event_type)i));
    }
    if (nqueues == 1)
        printf("%llu frames analysed in %.3f s (%.2f Mpps); reader CPU %.3f s: %.2f Mpps per "
               "reader lcore; %llu flows, %llu events\n",
               (unsigned long long)res.st.packets, t1 - t0,
               (double)res.st.packets / (t1 - t0) / 1e6, c1 - c0,
               (double)res.st.packets / (c1 - c0) / 1e6, (unsigned long long)res.st.flows_created,
               (unsigned long long)events);
    else /* the CPU a frame took in each kind of thread, as the rate one core would reach */
        printf("%llu frames analysed in %.3f s (%.2f Mpps) by %u queue readers and %u workers; "
               "readers' CPU %.2f s: %.2f Mpps per reader lcore (steering); workers' CPU %.2f s: "
               "%.2f Mpps per worker lcore; %llu flows, %llu events\n",
               (unsigned long long)res.st.packets, t1 - t0,
               (double)res.st.packets / (t1 - t0) / 1e6, nqueues, nqueues, readers_cpu,
               (double)res.st.packets / readers_cpu / 1e6, workers_cpu,
               (double)res.st.packets / workers_cpu / 1e6, (unsigned long long)res.st.flows_created,
               (unsigned long long)events);
    run_result_fini(&res);
    dpdk_port_close(port);
    dpdk_eal_stop();
    return res.st.packets == total ? 0 : 1;
}
