/* xdp_iface.c - loads bpf/ticktap.bpf.c on one interface through its bpftool skeleton. */
#include "xdp_iface.h"

#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ticktap.skel.h"

/* Newer than Debian 12's headers: tcx (kernel 6.6), device-bound programs (6.3). */
#define TT_BPF_TCX_EGRESS 47
#define TT_BPF_F_XDP_DEV_BOUND_ONLY (1u << 6)
/* Handle and priority of the fallback clsact filter: fixed, so a run replaces a filter a
 * crashed run left behind instead of stacking a second one. */
#define TT_TC_HANDLE 0x7474
#define TT_TC_PRIORITY 0x7474

struct xdp_iface {
    struct ticktap_bpf *skel;
    char name[IF_NAMESIZE];
    int ifindex;
    int mode;
    int xdp_link_fd;
    int tcx_link_fd; /* host mode on 6.6+ */
    int tc_filter;   /* host mode fallback: our clsact filter is attached */
    int tc_hook_created;
    uint32_t gen; /* generation the programs read */
    int hw_ts;    /* the device-bound program that reads NIC timestamps is the one attached */
    const char *attach_mode;
    struct ring_buffer *bell; /* tap mode's doorbell, once armed */
    _Atomic uint64_t bell_wakeups;
};

/* libbpf's own messages only with TICKTAP_DEBUG=1: errors are reported by the caller. */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    static int debug = -1;
    if (debug < 0) debug = getenv("TICKTAP_DEBUG") != NULL;
    return debug ? vfprintf(stderr, fmt, ap) : 0;
}

static void lpm_key(const struct cidr *c, uint32_t gen, struct tt_lpm4 *k4, struct tt_lpm6 *k6)
{
    if (c->family == 4) {
        memset(k4, 0, sizeof(*k4));
        k4->prefixlen = 32 + c->plen;
        k4->gen = gen;
        memcpy(k4->addr, c->addr, 4);
    } else {
        memset(k6, 0, sizeof(*k6));
        k6->prefixlen = 32 + c->plen;
        k6->gen = gen;
        memcpy(k6->addr, c->addr, 16);
    }
}

/* Removes every entry of one generation from an LPM trie. */
static int lpm_clear_gen(int fd, size_t key_size, uint32_t gen)
{
    uint8_t key[sizeof(struct tt_lpm6)], next[sizeof(struct tt_lpm6)];
    uint8_t(*doomed)[sizeof(struct tt_lpm6)] = malloc(4096 * sizeof(*doomed));
    if (!doomed) return -ENOMEM;
    uint32_t n = 0;
    void *prev = NULL;
    while (n < 4096 && bpf_map_get_next_key(fd, prev, next) == 0) {
        uint32_t g;
        memcpy(&g, next + 4, 4);
        if (g == gen) memcpy(doomed[n++], next, key_size);
        memcpy(key, next, key_size);
        prev = key;
    }
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++)
        if (bpf_map_delete_elem(fd, doomed[i]) && errno != ENOENT) rc = -errno;
    free(doomed);
    return rc;
}

static int array_fill(int fd, uint32_t base, const uint64_t *vals, uint32_t n)
{
    uint32_t *keys = malloc(n * sizeof(*keys));
    if (!keys) return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        keys[i] = base + i;
    uint32_t count = n;
    int rc = bpf_map_update_batch(fd, keys, vals, &count, NULL);
    if (rc) { /* kernels without batch operations on arrays: one by one */
        rc = 0;
        for (uint32_t i = 0; i < n && !rc; i++)
            if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY)) rc = -errno;
    }
    free(keys);
    return rc;
}

static int write_gen(struct xdp_iface *x, const struct compiled_rules *c, uint32_t gen)
{
    struct ticktap_bpf *s = x->skel;
    int rc;
    if ((rc = lpm_clear_gen(bpf_map__fd(s->maps.src4), sizeof(struct tt_lpm4), gen)) ||
        (rc = lpm_clear_gen(bpf_map__fd(s->maps.dst4), sizeof(struct tt_lpm4), gen)) ||
        (rc = lpm_clear_gen(bpf_map__fd(s->maps.src6), sizeof(struct tt_lpm6), gen)) ||
        (rc = lpm_clear_gen(bpf_map__fd(s->maps.dst6), sizeof(struct tt_lpm6), gen)))
        return rc;
    for (int dst = 0; dst < 2; dst++) {
        const struct lpm_entry *e = dst ? c->dst : c->src;
        uint32_t n = dst ? c->ndst : c->nsrc;
        for (uint32_t i = 0; i < n; i++) {
            struct tt_lpm4 k4;
            struct tt_lpm6 k6;
            lpm_key(&e[i].net, gen, &k4, &k6);
            int fd = e[i].net.family == 4 ? bpf_map__fd(dst ? s->maps.dst4 : s->maps.src4)
                                          : bpf_map__fd(dst ? s->maps.dst6 : s->maps.src6);
            if (bpf_map_update_elem(fd, e[i].net.family == 4 ? (void *)&k4 : (void *)&k6,
                                    &e[i].rules, BPF_ANY))
                return -errno;
        }
    }
    if ((rc = array_fill(bpf_map__fd(s->maps.port_rules), gen * 65536, c->port, 65536)) ||
        (rc = array_fill(bpf_map__fd(s->maps.vlan_rules), gen * 4096, c->vlan, 4096)) ||
        (rc = array_fill(bpf_map__fd(s->maps.proto_rules), gen * 256, c->proto, 256)))
        return rc;
    struct tt_rule_set rs = {
        .active = c->active,
        .any_src = c->any_src,
        .any_dst = c->any_dst,
        .any_port = c->any_port,
        .any_vlan = c->any_vlan,
        .any_proto = c->any_proto,
    };
    memcpy(rs.id, c->id, sizeof(rs.id));
    if (bpf_map_update_elem(bpf_map__fd(s->maps.rule_sets), &gen, &rs, BPF_ANY)) return -errno;
    return 0;
}

int xdp_iface_set_rules(struct xdp_iface *x, const struct compiled_rules *rules)
{
    uint32_t next = x->gen ^ 1, zero = 0;
    int rc = write_gen(x, rules, next);
    if (rc) return rc;
    struct tt_ctl ctl = {.gen = next};
    if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.ctl), &zero, &ctl, BPF_ANY)) return -errno;
    x->gen = next;
    return 0;
}

static int attach_egress(struct xdp_iface *x, char *err, size_t errlen)
{
    int prog_fd = bpf_program__fd(x->skel->progs.tt_tc_egress);
    x->tcx_link_fd = bpf_link_create(prog_fd, x->ifindex, TT_BPF_TCX_EGRESS, NULL);
    if (x->tcx_link_fd >= 0) return 0;
    /* Before 6.6: a clsact filter (not bound to our lifetime; see TT_TC_HANDLE). */
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = x->ifindex, .attach_point = BPF_TC_EGRESS);
    int rc = bpf_tc_hook_create(&hook);
    if (rc && rc != -EEXIST) {
        snprintf(err, errlen, "%s: cannot add a clsact qdisc for egress capture: %s", x->name,
                 strerror(-rc));
        return rc;
    }
    x->tc_hook_created = rc == 0;
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = TT_TC_HANDLE,
                .priority = TT_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
    rc = bpf_tc_attach(&hook, &opts);
    if (rc) {
        snprintf(err, errlen, "%s: cannot attach the TC egress program: %s", x->name,
                 strerror(-rc));
        return rc;
    }
    x->tc_filter = 1;
    return 0;
}

static int attach_xdp(struct xdp_iface *x, int attach, char *err, size_t errlen)
{
    LIBBPF_OPTS(bpf_link_create_opts, lo);
    lo.flags = attach == XDP_ATTACH_NATIVE    ? XDP_FLAGS_DRV_MODE
               : attach == XDP_ATTACH_GENERIC ? XDP_FLAGS_SKB_MODE
                                              : 0;
    int prog_fd = bpf_program__fd(x->hw_ts ? x->skel->progs.tt_xdp_hwts : x->skel->progs.tt_xdp);
    x->xdp_link_fd = bpf_link_create(prog_fd, x->ifindex, BPF_XDP, &lo);
    if (x->xdp_link_fd < 0) {
        int e = errno;
        if (e == EBUSY || e == EEXIST)
            snprintf(err, errlen,
                     "%s: another XDP program is attached (see 'ip link show %s'; detach it "
                     "or use pcap mode)",
                     x->name, x->name);
        else if (e == ERANGE)
            snprintf(err, errlen,
                     "%s: the MTU is too large for XDP on this device (lower it, or use pcap "
                     "mode)",
                     x->name);
        else if (e == EOPNOTSUPP || e == EINVAL)
            snprintf(err, errlen,
                     "%s: XDP %s mode is not supported by this device (set xdp_mode: %s)", x->name,
                     attach == XDP_ATTACH_NATIVE ? "native" : "generic",
                     attach == XDP_ATTACH_NATIVE ? "generic" : "auto");
        else
            snprintf(err, errlen, "%s: cannot attach XDP: %s", x->name, strerror(e));
        return -e;
    }
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    x->attach_mode = "native";
    if (bpf_xdp_query(x->ifindex, 0, &q) == 0 && q.attach_mode == XDP_ATTACHED_SKB)
        x->attach_mode = "generic";
    return 0;
}

int xdp_iface_open(struct xdp_iface **out, const struct xdp_iface_opts *o,
                   const struct compiled_rules *rules, char *err, size_t errlen)
{
    libbpf_set_print(libbpf_quiet);
    *out = NULL;
    struct xdp_iface *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    x->xdp_link_fd = x->tcx_link_fd = -1;
    x->mode = o->mode;
    snprintf(x->name, sizeof(x->name), "%s", o->ifname);
    x->ifindex = (int)if_nametoindex(o->ifname);
    if (!x->ifindex) {
        snprintf(err, errlen, "no such interface '%s' (see 'ip link')", o->ifname);
        free(x);
        return -ENODEV;
    }
    int rc;
    /* With hardware timestamps wanted, first the device-bound program; a kernel or driver
     * that refuses it gets the plain one (stamped by the kernel clock). */
    for (x->hw_ts = o->hw_timestamps;; x->hw_ts = 0) {
        x->skel = ticktap_bpf__open();
        if (!x->skel) {
            rc = -errno;
            snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
            goto fail;
        }
        x->skel->rodata->tt_mode = o->mode == LIVE_TAP ? TT_MODE_TAP : TT_MODE_HOST;
        x->skel->rodata->tt_snaplen = o->snaplen;
        x->skel->rodata->tt_pass_unmatched = (uint32_t)o->pass_unmatched;
        if (o->mode == LIVE_TAP) { /* no ring, no egress program */
            bpf_map__set_max_entries(x->skel->maps.ring, 4096);
            bpf_program__set_autoload(x->skel->progs.tt_tc_egress, false);
        } else {
            bpf_map__set_max_entries(x->skel->maps.ring, (uint32_t)o->ring_bytes);
        }
        bpf_program__set_autoload(x->hw_ts ? x->skel->progs.tt_xdp : x->skel->progs.tt_xdp_hwts,
                                  false);
        /* Multi-buffer aware (kernel 5.18+): frames larger than a page (jumbo MTUs) reach it
         * in fragments, and a driver refuses a program without this flag on such a link. */
        struct bpf_program *xdp_prog =
            x->hw_ts ? x->skel->progs.tt_xdp_hwts : x->skel->progs.tt_xdp;
        uint32_t flags = BPF_F_XDP_HAS_FRAGS;
        if (x->hw_ts) {
            bpf_program__set_ifindex(xdp_prog, (__u32)x->ifindex);
            flags |= TT_BPF_F_XDP_DEV_BOUND_ONLY;
        }
        bpf_program__set_flags(xdp_prog, flags);
        rc = ticktap_bpf__load(x->skel);
        if (!rc || !x->hw_ts || rc == -EPERM || rc == -EACCES) break;
        ticktap_bpf__destroy(x->skel);
        x->skel = NULL;
    }
    if (rc) {
        if (rc == -EPERM || rc == -EACCES)
            snprintf(err, errlen,
                     "loading the XDP program was refused: ticktap run needs root (or "
                     "CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON): run it with sudo");
        else
            snprintf(err, errlen,
                     "the kernel refused the XDP program: %s (TICKTAP_DEBUG=1 shows the "
                     "verifier log; capture.ring_size must be a power of 2)",
                     strerror(-rc));
        goto fail;
    }
    if ((rc = xdp_iface_set_rules(x, rules))) {
        snprintf(err, errlen, "%s: cannot write the capture rules: %s", x->name, strerror(-rc));
        goto fail;
    }
    if ((rc = attach_xdp(x, o->attach, err, errlen))) goto fail;
    if (o->mode == LIVE_HOST && (rc = attach_egress(x, err, errlen))) goto fail;
    *out = x;
    return 0;
fail:
    xdp_iface_close(x);
    return rc ? rc : -EINVAL;
}

int xdp_iface_counters(struct xdp_iface *x, struct tt_counters *sum,
                       uint64_t hits[TT_MAX_RULE_ID + 1])
{
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return -EINVAL;
    struct tt_counters *per = calloc((size_t)ncpu, sizeof(*per));
    uint64_t *vals = calloc((size_t)ncpu, sizeof(uint64_t));
    if (!per || !vals) {
        free(per);
        free(vals);
        return -ENOMEM;
    }
    uint32_t zero = 0;
    memset(sum, 0, sizeof(*sum));
    int rc = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.counters), &zero, per)) {
        rc = -errno;
    } else {
        for (int c = 0; c < ncpu; c++) {
            const uint64_t *src = (const uint64_t *)&per[c];
            uint64_t *dst = (uint64_t *)sum;
            for (size_t k = 0; k < sizeof(*sum) / sizeof(uint64_t); k++)
                dst[k] += src[k];
        }
    }
    for (uint32_t id = 0; hits && id <= TT_MAX_RULE_ID; id++) {
        hits[id] = 0;
        if (bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.rule_hits), &id, vals) == 0)
            for (int c = 0; c < ncpu; c++)
                hits[id] += vals[c];
    }
    free(per);
    free(vals);
    return rc;
}

int xdp_iface_ring_fd(const struct xdp_iface *x)
{
    return bpf_map__fd(x->skel->maps.ring);
}

int xdp_iface_xsks_fd(const struct xdp_iface *x)
{
    return bpf_map__fd(x->skel->maps.xsks);
}

int xdp_iface_ifindex(const struct xdp_iface *x)
{
    return x->ifindex;
}

const char *xdp_iface_name(const struct xdp_iface *x)
{
    return x->name;
}

const char *xdp_iface_attach_mode(const struct xdp_iface *x)
{
    return x->attach_mode ? x->attach_mode : "none";
}

int xdp_iface_hw_timestamps(const struct xdp_iface *x)
{
    return x->hw_ts;
}

const char *xdp_iface_egress_hook(const struct xdp_iface *x)
{
    return x->tcx_link_fd >= 0 ? "tcx link" : x->tc_filter ? "clsact filter" : NULL;
}

int xdp_iface_clear(const char *ifname)
{
    int ifindex = (int)if_nametoindex(ifname);
    if (!ifindex) return -ENODEV;
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    if (bpf_xdp_query(ifindex, 0, &q) || !q.prog_id) return 0;
    int flags = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    return bpf_xdp_detach(ifindex, flags, NULL);
}

void xdp_iface_detach(struct xdp_iface *x)
{
    if (!x) return;
    if (x->xdp_link_fd >= 0) close(x->xdp_link_fd);
    if (x->tcx_link_fd >= 0) close(x->tcx_link_fd);
    x->xdp_link_fd = x->tcx_link_fd = -1;
}

static int bell_rang(void *ctx, void *data, size_t size)
{
    (void)ctx;
    (void)data;
    (void)size;
    return 0; /* the record only woke the reader */
}

int xdp_iface_bell_arm(struct xdp_iface *x, uint32_t frames)
{
    if (!x->bell) {
        x->bell = ring_buffer__new(bpf_map__fd(x->skel->maps.bell), bell_rang, NULL, NULL);
        if (!x->bell) return -errno;
    }
    x->skel->bss->tt_bell_at = frames;
    return ring_buffer__epoll_fd(x->bell);
}

void xdp_iface_bell_drain(struct xdp_iface *x)
{
    if (x->bell && ring_buffer__consume(x->bell) > 0)
        atomic_fetch_add_explicit(&x->bell_wakeups, 1, memory_order_relaxed);
}

uint64_t xdp_iface_bell_wakeups(const struct xdp_iface *x)
{
    return atomic_load_explicit(&x->bell_wakeups, memory_order_relaxed);
}

void xdp_iface_queue_emptied(struct xdp_iface *x, uint32_t queue)
{
    /* A plain store racing the program's increments: a few frames counted late only ring
     * the bell a few frames later. */
    ((volatile struct tt_queue_fill *)x->skel->bss->tt_fill)[queue & (TT_MAX_QUEUES - 1)].n = 0;
}

void xdp_iface_close(struct xdp_iface *x)
{
    if (!x) return;
    xdp_iface_detach(x);
    ring_buffer__free(x->bell);
    if (x->tc_filter) {
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = x->ifindex, .attach_point = BPF_TC_EGRESS);
        LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TT_TC_HANDLE, .priority = TT_TC_PRIORITY);
        bpf_tc_detach(&hook, &opts);
        if (x->tc_hook_created) bpf_tc_hook_destroy(&hook);
    }
    ticktap_bpf__destroy(x->skel);
    free(x);
}
