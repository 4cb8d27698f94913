/* capture_live.h - live capture sources: the XDP ring buffer (host mode), AF_XDP sockets
 * (tap mode) and libpcap (pcap mode).
 *
 * Each yields bursts of frames through struct capture_ops like a file does, with wall-clock
 * nanosecond timestamps, and returns -EAGAIN from rx_burst after a short wait without
 * traffic. Frame ordinals count the frames of that source. A source belongs to one worker;
 * the *_stats functions may be called from another thread (they read kernel counters).
 */
#ifndef TT_CAPTURE_LIVE_H
#define TT_CAPTURE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "xdp_iface.h"

extern const struct capture_ops capture_ring_ops;
extern const struct capture_ops capture_xsk_ops;
extern const struct capture_ops capture_pcap_live_ops;

/* Host mode: reads the ring buffer of an attached xdp_iface. */
struct capture *capture_ring_open(struct xdp_iface *x, uint32_t snaplen, char *err, size_t errlen);

/* Tap mode: one AF_XDP socket on queue of the attached xdp_iface, registered in its socket
 * map. Zero-copy when the driver allows it, else copy mode. */
struct capture *capture_xsk_open(struct xdp_iface *x, uint32_t queue, uint32_t frames,
                                 uint32_t ring, uint64_t coalesce_ns, char *err, size_t errlen);

struct xsk_queue_stats {
    uint64_t rx_dropped;    /* frames the kernel dropped for this socket (no buffer) */
    uint64_t rx_ring_full;  /* ... because the rx ring was full: the agent is behind */
    uint64_t rx_fill_empty; /* times the fill ring had no buffer for the driver */
    uint64_t rx_invalid_descs;
    uint64_t multi_buffer_frames; /* frames that came in several buffers */
};
int capture_xsk_stats(struct capture *c, struct xsk_queue_stats *st);
int capture_xsk_zerocopy(struct capture *c);
/* 1 when the socket is bound with XDP_USE_SG (kernel 6.6+): frames over a buffer arrive whole. */
int capture_xsk_multi_buffer(struct capture *c);

/* pcap mode: libpcap live capture with nanosecond timestamps and an optional filter. */
struct capture *capture_pcap_live_open(const char *ifname, uint32_t snaplen, uint64_t buffer,
                                       const char *filter, char *err, size_t errlen);
/* Replaces the filter (rule reload). Returns 0 or -1 with a reason. */
int capture_pcap_live_set_filter(struct capture *c, const char *filter, char *err, size_t errlen);
/* Frames the kernel dropped before libpcap read them (ps_drop + ps_ifdrop). */
uint64_t capture_pcap_live_dropped(struct capture *c);

/* Follows a growing classic pcap file (tcpdump -w, dumpcap -P) until stopped; filter is a
 * tcpdump expression or NULL. */
extern const struct capture_ops capture_follow_ops;
struct capture *capture_follow_open(const char *path, const char *filter, char *err, size_t errlen);

/* CLOCK_REALTIME - CLOCK_TAI in ns: turns the programs' bpf_ktime_get_tai_ns() stamps into
 * wall-clock time. */
int64_t live_tai_to_realtime(void);

#endif
