// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ticktap.bpf.c - the in-kernel half of live capture: classify, timestamp, hand over.
 *
 *   tt_xdp (ingress, XDP)   tap mode:  matched -> AF_XDP socket of the rx queue (xsks),
 *                                      with a tt_xdp_meta block in front of the frame;
 *                                      unmatched -> XDP_PASS or XDP_DROP (tt_pass_unmatched)
 *                           host mode: matched -> copy (snaplen) into ring, always XDP_PASS
 *   tt_tc_egress (TC)       host mode: the node's outgoing frames, same copy, always TC_ACT_OK
 *
 * Rules and the bit-vector classification are described in ticktap_bpf.h. One instance of
 * this object is loaded per interface, so maps and counters are per interface.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ticktap_bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The NIC's receive timestamp (6.3+, device-bound programs only: tt_xdp_hwts). Weak, so the
 * object still loads where the kernel lacks it. */
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym __weak;

/* Set by the agent before load. */
const volatile __u32 tt_mode = TT_MODE_HOST;
const volatile __u32 tt_snaplen = 256;
const volatile __u32 tt_pass_unmatched = 1;

#define LPM_ENTRIES 4096

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __type(key, struct tt_lpm4);
    __type(value, __u64);
    __uint(max_entries, LPM_ENTRIES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} src4 SEC(".maps"), dst4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __type(key, struct tt_lpm6);
    __type(value, __u64);
    __uint(max_entries, LPM_ENTRIES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} src6 SEC(".maps"), dst6 SEC(".maps");

/* [gen * 65536 + port], [gen * 4096 + vlan], [gen * 256 + protocol]: rule bits. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2 * 65536);
} port_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2 * 4096);
} vlan_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2 * 256);
} proto_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct tt_rule_set);
    __uint(max_entries, 2);
} rule_sets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct tt_ctl);
    __uint(max_entries, 1);
} ctl SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, struct tt_counters);
    __uint(max_entries, 1);
} counters SEC(".maps");

/* Matched frames per rule id. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, TT_MAX_RULE_ID + 1);
} rule_hits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, TT_MAX_QUEUES);
} xsks SEC(".maps");

/* Tap mode's doorbell. Under light traffic the agent sleeps between reads so that each
 * wakeup takes a batch; a burst must not overflow a queue's ring meanwhile. Each queue counts
 * the frames redirected since the agent last emptied it (tt_fill, in .bss: the agent resets a
 * count with a plain store), and at tt_bell_at (0: never) a record here wakes the agent. One
 * count per cache line (struct tt_queue_fill): the queues' cores do not share a line. */
struct tt_queue_fill tt_fill[TT_MAX_QUEUES];
__u32 tt_bell_at;
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} bell SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 << 20); /* resized by the agent before load */
} ring SEC(".maps");

/* A record is assembled here (per CPU) so that ring entries take only caplen bytes. */
struct scratch {
    struct tt_rec hdr;
    __u8 data[TT_SNAP_MAX];
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, struct scratch);
    __uint(max_entries, 1);
} scratch SEC(".maps");

struct vlan_hdr {
    __be16 tci;
    __be16 proto;
};

struct frame_info {
    __u16 vlan;     /* outer VLAN id, TT_VLAN_UNTAGGED when none */
    __u8 rule_id;   /* the match */
};

static __always_inline __u64 u64_at(void *map, __u32 idx)
{
    __u64 *v = bpf_map_lookup_elem(map, &idx);
    return v ? *v : 0;
}

/* Index of the lowest set bit of a non-zero mask (BPF has no ctz instruction). */
static __always_inline __u32 lowest_bit(__u64 m)
{
    __u32 n = 0;
    m &= -m;
    if (m & 0xffffffff00000000ull) n += 32;
    if (m & 0xffff0000ffff0000ull) n += 16;
    if (m & 0xff00ff00ff00ff00ull) n += 8;
    if (m & 0xf0f0f0f0f0f0f0f0ull) n += 4;
    if (m & 0xccccccccccccccccull) n += 2;
    if (m & 0xaaaaaaaaaaaaaaaaull) n += 1;
    return n;
}

/* Classifies the frame in [data, data_end). Returns 1 and fills fi->rule_id on a match,
 * 0 when no rule matches, -1 when the headers are cut short. vlan_hw: a tag the device
 * took off the frame (TC sees it in the skb), 0 if none. */
static __always_inline int classify(void *data, void *data_end, __u16 vlan_hw,
                                    struct frame_info *fi)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return -1;
    __u16 proto = eth->h_proto;
    void *p = eth + 1;
    fi->vlan = vlan_hw;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
            break;
        struct vlan_hdr *vh = p;
        if ((void *)(vh + 1) > data_end)
            return -1;
        if (!fi->vlan)
            fi->vlan = bpf_ntohs(vh->tci) & 0x0fff;
        proto = vh->proto;
        p = vh + 1;
    }

    __u32 zero = 0;
    struct tt_ctl *c = bpf_map_lookup_elem(&ctl, &zero);
    if (!c)
        return 0;
    __u32 gen = c->gen & 1;
    struct tt_rule_set *rs = bpf_map_lookup_elem(&rule_sets, &gen);
    if (!rs)
        return 0;
    __u64 m = rs->active;
    if (!m)
        return 0;

    /* The cheap checks first (arrays indexed by protocol, port and VLAN), and the address
     * tries only for rules still in the running that name an address: most frames a node
     * sees match no rule, and are settled without walking a trie. */
    __u8 l4 = 0;
    int have_ports = 0, later_fragment = 0;
    void *l4p = 0, *saddr = 0, *daddr = 0;
    int ip6 = 0;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = p;
        if ((void *)(ip + 1) > data_end)
            return -1;
        __u32 ihl = (ip->ihl & 0xf) * 4;
        if (ihl < sizeof(*ip))
            return -1;
        saddr = &ip->saddr;
        daddr = &ip->daddr;
        l4 = ip->protocol;
        later_fragment = (bpf_ntohs(ip->frag_off) & 0x1fff) != 0;
        l4p = p + ihl;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6h = p;
        if ((void *)(ip6h + 1) > data_end)
            return -1;
        ip6 = 1;
        saddr = &ip6h->saddr;
        daddr = &ip6h->daddr;
        l4 = ip6h->nexthdr;
        l4p = ip6h + 1;
        if (l4 == 44) { /* fragment header: ports only in the first fragment */
            __u8 *fh = l4p;
            if ((void *)(fh + 8) > data_end)
                return -1;
            l4 = fh[0];
            later_fragment = ((fh[2] << 8 | fh[3]) & 0xfff8) != 0;
            l4p = fh + 8;
        }
    } else {
        /* Not IP: only rules that name no address, port or protocol (e.g. a VLAN) */
        m &= rs->any_src & rs->any_dst & rs->any_port & rs->any_proto;
    }
    if (!m)
        return 0;
    if (l4p) {
        m &= u64_at(&proto_rules, gen * 256 + l4) | rs->any_proto;
        if ((l4 == IPPROTO_TCP || l4 == IPPROTO_UDP) && !later_fragment) {
            __be16 *ports = l4p;
            if ((void *)(ports + 2) > data_end)
                return -1;
            have_ports = 1;
            if (m & ~rs->any_port)
                m &= u64_at(&port_rules, gen * 65536 + bpf_ntohs(ports[0])) |
                     u64_at(&port_rules, gen * 65536 + bpf_ntohs(ports[1])) | rs->any_port;
        }
        /* A later fragment carries no ports: its addresses decide, so the datagram can be
         * reassembled by the agent. Other protocols have none: only port-less rules. */
        if (!have_ports && !later_fragment)
            m &= rs->any_port;
    }
    if (m & ~rs->any_vlan)
        m &= u64_at(&vlan_rules, gen * 4096 + (fi->vlan & 0x0fff)) | rs->any_vlan;
    if (!m)
        return 0;
    if (ip6) {
        struct tt_lpm6 k = {.prefixlen = 160, .gen = gen};
        __u64 *v;
        if (m & ~rs->any_src) {
            __builtin_memcpy(k.addr, saddr, 16);
            v = bpf_map_lookup_elem(&src6, &k);
            m &= (v ? *v : 0) | rs->any_src;
        }
        if (m & ~rs->any_dst) {
            __builtin_memcpy(k.addr, daddr, 16);
            v = bpf_map_lookup_elem(&dst6, &k);
            m &= (v ? *v : 0) | rs->any_dst;
        }
    } else if (saddr) {
        struct tt_lpm4 k = {.prefixlen = 64, .gen = gen};
        __u64 *v;
        if (m & ~rs->any_src) {
            __builtin_memcpy(k.addr, saddr, 4);
            v = bpf_map_lookup_elem(&src4, &k);
            m &= (v ? *v : 0) | rs->any_src;
        }
        if (m & ~rs->any_dst) {
            __builtin_memcpy(k.addr, daddr, 4);
            v = bpf_map_lookup_elem(&dst4, &k);
            m &= (v ? *v : 0) | rs->any_dst;
        }
    }
    if (!m)
        return 0;
    fi->rule_id = rs->id[lowest_bit(m) & (TT_MAX_RULES - 1)];
    return 1;
}

static __always_inline struct tt_counters *counters_get(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline void count_rule(__u8 id)
{
    __u32 k = id;
    __u64 *v = bpf_map_lookup_elem(&rule_hits, &k);
    if (v)
        (*v)++;
}

/* Host mode: copies up to tt_snaplen bytes and a header into the ring. */
static __always_inline void copy_to_ring(void *ctx, int is_xdp, __u32 wirelen,
                                         const struct frame_info *fi, __u32 vlan_hw,
                                         __u64 hw_ts, struct tt_counters *cnt)
{
    __u32 zero = 0;
    struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    if (!s)
        return;
    __u32 caplen = wirelen < tt_snaplen ? wirelen : tt_snaplen;
    if (caplen > TT_SNAP_MAX)
        caplen = TT_SNAP_MAX;
    if (caplen < 1)
        return;
    long rc = is_xdp ? bpf_xdp_load_bytes(ctx, 0, s->data, caplen)
                     : bpf_skb_load_bytes(ctx, 0, s->data, caplen);
    if (rc)
        return;
    s->hdr.ts_ns = bpf_ktime_get_tai_ns();
    s->hdr.hw_ts_ns = hw_ts;
    s->hdr.wirelen = wirelen;
    s->hdr.caplen = (__u16)caplen;
    s->hdr.rule_id = fi->rule_id;
    s->hdr.egress = !is_xdp;
    s->hdr.vlan_tci = (__u16)vlan_hw;
    s->hdr.vlan_present = vlan_hw >> 16;
    s->hdr.pad = 0;
    /* Waking the reader costs more than the copy: only as the waiting bytes cross a batch,
     * or a quarter of a small ring (the agent also polls every 4 ms, so a quiet link is not
     * held back for long). Not on every record above it: those come while the reader drains
     * the batch, and each wakeup would cost here and bring the reader back for a record. */
    __u64 wake = bpf_ringbuf_query(&ring, BPF_RB_RING_SIZE) / 4;
    if (wake > TT_RING_WAKE_BYTES)
        wake = TT_RING_WAKE_BYTES;
    __u64 waiting = bpf_ringbuf_query(&ring, BPF_RB_AVAIL_DATA);
    __u64 flags = waiting < wake && waiting + sizeof(s->hdr) + caplen >= wake
                      ? BPF_RB_FORCE_WAKEUP
                      : BPF_RB_NO_WAKEUP;
    if (bpf_ringbuf_output(&ring, s, sizeof(s->hdr) + caplen, flags))
        cnt->copy_fail++;
    else
        cnt->copied++;
}

static __always_inline int xdp_main(struct xdp_md *ctx, int hw_ts)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct tt_counters *cnt = counters_get();
    if (!cnt)
        return XDP_PASS;
    cnt->seen++;
    struct frame_info fi = {0};
    int r = classify(data, data_end, 0, &fi);
    if (r < 0)
        cnt->parse_errors++;
    if (r <= 0) {
        if (tt_mode == TT_MODE_TAP && !tt_pass_unmatched) {
            cnt->dropped++;
            return XDP_DROP;
        }
        cnt->passed++;
        return XDP_PASS;
    }
    cnt->matched++;
    count_rule(fi.rule_id);
    __u64 hw = 0;
    if (hw_ts && bpf_xdp_metadata_rx_timestamp(ctx, &hw))
        hw = 0; /* the driver has none for this frame */
    if (tt_mode == TT_MODE_HOST) {
        copy_to_ring(ctx, 1, (__u32)bpf_xdp_get_buff_len(ctx), &fi, 0, hw, cnt);
        cnt->passed++;
        return XDP_PASS;
    }

    __u64 now = bpf_ktime_get_tai_ns();
    if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct tt_xdp_meta)) == 0) {
        struct tt_xdp_meta *meta = (void *)(long)ctx->data_meta;
        void *start = (void *)(long)ctx->data;
        if ((void *)(meta + 1) <= start) {
            meta->ts_ns = now;
            meta->hw_ts_ns = hw;
            meta->rule_id = fi.rule_id;
            meta->magic = TT_META_MAGIC;
        }
    }
    long act = bpf_redirect_map(&xsks, ctx->rx_queue_index, 0);
    if (act == XDP_REDIRECT) {
        cnt->redirected++;
        if (tt_bell_at) {
            __u32 q = ctx->rx_queue_index & (TT_MAX_QUEUES - 1);
            if (++tt_fill[q].n == tt_bell_at &&
                !bpf_ringbuf_output(&bell, &q, sizeof(q), BPF_RB_FORCE_WAKEUP))
                cnt->bells++;
        }
        return XDP_REDIRECT;
    }
    cnt->redirect_fail++;
    if (tt_pass_unmatched) {
        cnt->passed++;
        return XDP_PASS;
    }
    cnt->dropped++;
    return XDP_DROP;
}

SEC("xdp")
int tt_xdp(struct xdp_md *ctx)
{
    return xdp_main(ctx, 0);
}

/* The same, loaded bound to one device so that it may read the NIC's timestamp. */
SEC("xdp")
int tt_xdp_hwts(struct xdp_md *ctx)
{
    return xdp_main(ctx, 1);
}

SEC("tc")
int tt_tc_egress(struct __sk_buff *skb)
{
    struct tt_counters *cnt = counters_get();
    if (!cnt)
        return TC_ACT_OK;
    cnt->seen++;
    cnt->egress_seen++;
    /* Headers must be in the linear part for direct access. */
    if (skb->data + 128 > skb->data_end && skb->len > skb->data_end - skb->data)
        bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128);
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u16 vlan_hw = skb->vlan_present ? (skb->vlan_tci & 0x0fff) : 0;
    struct frame_info fi = {0};
    int r = classify(data, data_end, vlan_hw, &fi);
    if (r < 0)
        cnt->parse_errors++;
    if (r > 0) {
        cnt->matched++;
        count_rule(fi.rule_id);
        copy_to_ring(skb, 0, skb->len, &fi,
                     skb->vlan_present ? (0x10000u | (skb->vlan_tci & 0xffff)) : 0, 0, cnt);
    }
    cnt->passed++;
    return TC_ACT_OK;
}
