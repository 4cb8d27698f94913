/* live_config.h - what `ticktap run` captures: interfaces with their mode, and the rules.
 *
 * Filled from the config file's `capture.interfaces` and `rules` lists (keys such as
 * "capture.interfaces.0.mode" or "rules.2.ports", see config.c) by live_config_set(), then
 * checked by live_config_finish(). Rules are also compiled here into the bit-vector tables
 * the XDP program reads (ticktap_bpf.h), which keeps the compilation testable without BPF.
 */
#ifndef TT_LIVE_CONFIG_H
#define TT_LIVE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../util/netparse.h"

#define LIVE_MAX_IFACES 8
#define LIVE_MAX_RULES 64 /* = TT_MAX_RULES */
#define RULE_MAX_ITEMS 16 /* CIDRs, port ranges, VLANs or protocols per rule field */

enum live_mode { LIVE_HOST = 0, LIVE_TAP = 1, LIVE_PCAP = 2, LIVE_DPDK = 3 };
enum xdp_attach { XDP_ATTACH_AUTO = 0, XDP_ATTACH_NATIVE = 1, XDP_ATTACH_GENERIC = 2 };

struct capture_rule {
    uint32_t id; /* 1..255: the id in events and metrics */
    char name[48];
    struct cidr src[RULE_MAX_ITEMS], dst[RULE_MAX_ITEMS]; /* dst includes multicast groups */
    struct port_range ports[RULE_MAX_ITEMS];              /* source or destination port */
    uint16_t vlans[RULE_MAX_ITEMS];                       /* 0: untagged */
    uint8_t protos[RULE_MAX_ITEMS];
    uint8_t nsrc, ndst, nports, nvlans, nprotos;
    uint8_t used;
};

struct live_iface {
    char name[16];  /* dpdk: the device's name (a vdev's up to its first comma, a PCI address) */
    char dev[256];  /* as given: dpdk mode's vdev string or PCI address */
    uint8_t mode;   /* enum live_mode */
    uint8_t attach; /* enum xdp_attach */
    uint8_t pass_unmatched; /* tap: unmatched frames go to the kernel (1) or are dropped (0) */
    uint8_t used;
    uint32_t queues;         /* tap: rx queues to open (0: all the device has); dpdk: RSS queues */
    uint32_t rx_descriptors; /* dpdk: per queue (0: 1024) */
    uint32_t mempool_size;   /* dpdk: mbufs (0, "auto": twice the rx rings) */
    uint8_t rss_l3;          /* dpdk: RSS over addresses only (rss: l3); 0: and ports (l3l4) */
    uint8_t busy_poll;       /* dpdk: poll an idle queue without pausing (a core at 100%) */
    /* mode auto: tap mode (mode says LIVE_TAP), handed to a DPDK reader in the same agent
     * when capture.saturated persists, and back when the rate stays low (if asked) */
    uint8_t handoff;
    uint32_t handoff_after;  /* saturated stats intervals in a row (default 3) */
    char handoff_to[256];    /* the DPDK device ("": net_af_xdp on the interface's queues) */
    uint64_t handback_below; /* frames per second under which it goes back (0: never) */
    uint32_t handback_after; /* ... for this many intervals in a row (default 10) */
};

struct live_config {
    struct live_iface ifaces[LIVE_MAX_IFACES];
    struct capture_rule rules[LIVE_MAX_RULES];
    uint32_t nifaces, nrules;
};

/* Applies "capture.interfaces.N.FIELD" or "rules.N.FIELD" = value. A list field (src, dst,
 * group, ports, vlan, proto) appends: give it several times, as a YAML list, or comma
 * separated. Returns 0, or -1 with a reason in err. */
int live_config_set(struct live_config *lc, const char *key, const char *value, char *err,
                    size_t errlen);

/* Numbers the lists densely, gives rules without an id one (their position + 1) and checks
 * ids are unique. Returns 0 or -1 with a reason. */
int live_config_finish(struct live_config *lc, char *err, size_t errlen);

/* Parses "10.1.0.0/16", "ff02::1", "233.54.12.1" (a host when no /len). */
/* The compiled form of one rule generation, ready to be written into the program's maps. */
struct lpm_entry {
    struct cidr net;
    uint64_t rules;
};
struct compiled_rules {
    uint64_t active, any_src, any_dst, any_port, any_vlan, any_proto;
    uint8_t id[LIVE_MAX_RULES];
    struct lpm_entry *src, *dst; /* every prefix with the rules of all prefixes covering it */
    uint32_t nsrc, ndst;
    uint64_t *port; /* [65536] */
    uint64_t *vlan; /* [4096] */
    uint64_t proto[256];
};

/* The rules as a tcpdump filter expression, for pcap mode ("" when a rule takes everything).
 * VLAN rules are refused there. Returns 0 or -1 with a reason. */
int rules_pcap_filter(const struct live_config *lc, char *out, size_t len, char *err,
                      size_t errlen);

int rules_compile(const struct live_config *lc, struct compiled_rules *out);
void rules_compiled_free(struct compiled_rules *c);

#endif
