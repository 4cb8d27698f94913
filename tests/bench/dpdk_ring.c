/* dpdk_ring.c - DPDK at full speed, without a NIC: a capture's frames, loaded once into mbufs,
 * are put into an rte_ring over and over by a feeder thread on the second core; the ring is a
 * DPDK port (net_ring, rte_eth_from_ring) opened as ticktap opens a port, and read by one
 * reader through the whole pipeline (one worker: it reads the queue itself). Prints Mpps over
 * the run and the reader's CPU seconds, so the figure is per reader lcore.
 *   dpdk_ring CAPTURE FRAMES
 * Frames carry the host clock (the TSC per burst), as on a NIC that does not stamp. */
#define ALLOW_EXPERIMENTAL_API
#include <pcap/pcap.h>
#include <pthread.h>
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

static struct rte_mbuf **frames;
static uint32_t nframes;
static struct rte_ring *ring;
static uint64_t total;
static _Atomic int stop_feed;
static double feeder_cpu; /* the feeder's CPU seconds, read as it ends */

/* Loads the capture's frames into mbufs of their own pool. */
static int load(const char *path)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, ebuf);
    if (!p) {
        fprintf(stderr, "dpdk_ring: %s\n", ebuf);
        return -1;
    }
    uint32_t cap = 1 << 16;
    frames = calloc(cap, sizeof(*frames));
    struct rte_mempool *pool =
        rte_pktmbuf_pool_create("feed", cap, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    struct pcap_pkthdr *h;
    const u_char *d;
    while (pool && nframes < cap && pcap_next_ex(p, &h, &d) == 1) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
        uint32_t len = h->caplen < 2048 ? h->caplen : 2048;
        char *to = m ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;
        if (!to) break;
        memcpy(to, d, len);
        /* references enough for every trip (the reader's free drops one each time): the
         * feeder never writes an mbuf, so no cache line goes back and forth for it */
        rte_mbuf_refcnt_set(m, UINT16_MAX);
        frames[nframes++] = m;
    }
    pcap_close(p);
    return nframes ? 0 : -1;
}

/* Trip t of the capture is new traffic, not a replay of the first (which would be one long
 * storm of retransmissions, duplicates and sequence gaps): the second octet of both IPv4
 * addresses is xored with t and the MoldUDP64 session renamed, so the flows, FIX sessions and
 * feeds are new ones. The frame is written in
 * place: the reader is done with it, the ring holding far fewer frames than a trip. */
static void retrip(struct rte_mbuf *m, uint32_t trip)
{
    uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *);
    if (rte_pktmbuf_data_len(m) < 34 || eth[12] != 0x08 || eth[13] != 0x00) return;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 14);
    uint8_t flip = (uint8_t)(trip ^ (trip - 1)); /* from the previous trip's to this one's */
    ((uint8_t *)&ip->src_addr)[1] ^= flip;
    ((uint8_t *)&ip->dst_addr)[1] ^= flip;
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

/* Puts total frames into the ring, the capture's over and over (at most UINT16_MAX trips each:
 * the references they were given). */
static void *feed(void *arg)
{
    (void)arg;
    struct rte_mbuf *burst[FEED_BURST];
    uint64_t sent = 0;
    uint32_t at = 0, trip = 0;
    while (sent < total && !stop_feed) {
        uint32_t n = total - sent < FEED_BURST ? (uint32_t)(total - sent) : FEED_BURST;
        for (uint32_t i = 0; i < n; i++) {
            burst[i] = frames[at];
            if (trip) retrip(burst[i], trip);
            if (++at == nframes) {
                at = 0;
                trip++;
            }
        }
        uint32_t done = 0;
        while (done < n && !stop_feed)
            done += rte_ring_enqueue_burst(ring, (void **)burst + done, n - done, NULL);
        sent += n;
    }
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    feeder_cpu = (double)t.tv_sec + (double)t.tv_nsec / 1e9;
    return NULL;
}

/* The port's queue, ended after total frames (the ring never ends by itself). */
static struct capture *queue;
static uint64_t got;
static int ring_rx(struct capture *c, struct frame *f, int max, char *err, size_t errlen)
{
    (void)c;
    if (got >= total) return 0;
    int n = capture_dpdk_ops.rx_burst(queue, f, max, err, errlen);
    if (n > 0) got += (uint64_t)n;
    return n;
}
static int ring_nowait(struct capture *c, struct frame *f, int max, char *err, size_t errlen)
{
    return ring_rx(c, f, max, err, errlen);
}
static void ring_stats(struct capture *c, struct capture_stats *st)
{
    (void)c;
    capture_dpdk_ops.stats(queue, st);
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

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: dpdk_ring CAPTURE FRAMES\n");
        return 2;
    }
    total = strtoull(argv[2], NULL, 10);
    /* checked once the frames are loaded: each goes round at most UINT16_MAX times */
    const char *eal[] = {"--no-huge",     "-m", "1024", "--no-pci", "--log-level=lib.eal:error",
                         "--no-telemetry"};
    char err[512];
    if (dpdk_eal_start(eal, 6, err, sizeof(err)) || load(argv[1])) {
        fprintf(stderr, "dpdk_ring: %s\n", err);
        return 1;
    }
    if (total / nframes >= UINT16_MAX) {
        fprintf(stderr, "dpdk_ring: %llu frames are too many trips for %u frames\n",
                (unsigned long long)total, nframes);
        return 2;
    }
    ring = rte_ring_create("tt_bench", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    int port_id = ring ? rte_eth_from_ring(ring) : -1;
    char name[RTE_ETH_NAME_MAX_LEN];
    if (port_id < 0 || rte_eth_dev_get_name_by_port((uint16_t)port_id, name)) {
        fprintf(stderr, "dpdk_ring: no ring port\n");
        return 1;
    }
    struct dpdk_port *port;
    struct dpdk_port_opts o = {.dev = name, .queues = 1, .snaplen = 65535};
    if (dpdk_port_open(&port, &o, err, sizeof(err))) {
        fprintf(stderr, "dpdk_ring: %s\n", err);
        return 1;
    }
    queue = dpdk_port_queue(port, 0);
    const struct capture_ops ops = {.name = "dpdk",
                                    .rx_burst = ring_rx,
                                    .rx_nowait = ring_nowait,
                                    .stats = ring_stats,
                                    .close = ring_close};
    struct tt_config cfg;
    config_defaults(&cfg);
    cfg.workers = 1;
    cfg.trading.md_sessions = 1024; /* a site with many feeds: each trip brings 8 sessions */
    _Atomic int stop = 0;
    struct live_source src = {&ops, (struct capture *)&ops, "tt_bench", 0};
    struct run_options opt = {.live = &src, .nlive = 1, .stop = &stop};
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
        if (res.events[i] > total / 100) /* a trip should look like traffic, not a storm */
            fprintf(stderr, "dpdk_ring: %llu %s events\n", (unsigned long long)res.events[i],
                    event_type_name((enum event_type)i));
    }
    printf("%llu frames analysed in %.3f s (%.2f Mpps); reader CPU %.3f s: %.2f Mpps per reader "
           "lcore; %llu flows, %llu events\n",
           (unsigned long long)res.st.packets, t1 - t0, (double)res.st.packets / (t1 - t0) / 1e6,
           c1 - c0, (double)res.st.packets / (c1 - c0) / 1e6,
           (unsigned long long)res.st.flows_created, (unsigned long long)events);
    run_result_fini(&res);
    dpdk_port_close(port);
    dpdk_eal_stop();
    return res.st.packets == total ? 0 : 1;
}
