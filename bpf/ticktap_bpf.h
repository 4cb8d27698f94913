/* ticktap_bpf.h - what the XDP/TC programs and the agent agree on: maps, records, counters.
 *
 * Included by bpf/ticktap.bpf.c (clang -target bpf) and by the agent (agent/capture/xdp_*.c).
 * Rules are classified with bit vectors: every rule is one bit (at most TT_MAX_RULES); each
 * field's map returns the rules that accept a value, and a frame matches the rules left after
 * AND-ing the fields (a rule that does not constrain a field accepts any value there). The
 * lowest matching bit wins. Every rule map is keyed by a generation (0 or 1): the agent writes
 * the idle generation, then flips tt_ctl.gen, so a reload never shows a packet half a rule set.
 */
#ifndef TT_BPF_H
#define TT_BPF_H

#include <linux/types.h>

#define TT_MAX_RULES 64
#define TT_MAX_QUEUES 64 /* tap mode: AF_XDP sockets (xsks) and queue fill counts */
#define TT_MAX_RULE_ID 255 /* rule ids are 1..255: counters are indexed by id */
#define TT_SNAP_MAX 9216   /* largest host-mode copy (snaplen): a 9000-byte MTU's frame */
#define TT_VLAN_UNTAGGED 0
#define TT_RING_WAKE_BYTES (64 << 10) /* host mode: wake the agent once this much waits (at most) */ /* vlan_rules index for frames without a tag */

enum tt_mode { TT_MODE_HOST = 0, TT_MODE_TAP = 1 };

/* LPM-trie keys: prefixlen counts the generation's 32 bits plus the address prefix. */
struct tt_lpm4 {
    __u32 prefixlen;
    __u32 gen;
    __u8 addr[4];
};
struct tt_lpm6 {
    __u32 prefixlen;
    __u32 gen;
    __u8 addr[16];
};

/* One generation of the rule set (rule_sets[gen]). */
struct tt_rule_set {
    __u64 active;    /* bits of the rules in use */
    __u64 any_src;   /* rules without a source CIDR */
    __u64 any_dst;   /* ... destination CIDR or multicast group */
    __u64 any_port;  /* ... port or port range */
    __u64 any_vlan;  /* ... VLAN id */
    __u64 any_proto; /* ... IP protocol */
    __u8 id[TT_MAX_RULES]; /* rule bit -> rule id (1..255) */
};

struct tt_ctl {
    __u32 gen; /* generation the programs read */
    __u32 pad;
};

/* Per-CPU counters of one program instance (one interface). */
struct tt_counters {
    __u64 seen;          /* frames the programs looked at (ingress + egress) */
    __u64 egress_seen;   /* ... of which egress (TC, host mode) */
    __u64 matched;       /* frames some rule matched */
    __u64 redirected;    /* tap: handed to an AF_XDP socket */
    __u64 redirect_fail; /* tap: no socket on the queue or redirect refused */
    __u64 copied;        /* host: copied to the ring buffer */
    __u64 copy_fail;     /* host: ring buffer full (the agent is behind: frames lost to it) */
    __u64 passed;        /* let through to the kernel stack */
    __u64 dropped;       /* tap: unmatched frames dropped by config */
    __u64 parse_errors;  /* headers cut short: passed, not classified */
    __u64 bells;         /* tap: doorbells rung (a queue filled a quarter of its ring) */
};

/* Host mode: a ring-buffer record is this header and then caplen bytes of the frame. */
struct tt_rec {
    __u64 ts_ns;    /* CLOCK_TAI when the program ran */
    __u64 hw_ts_ns; /* NIC timestamp, 0 when none */
    __u32 wirelen;
    __u16 caplen;
    __u8 rule_id;
    __u8 egress;       /* 1: seen by the TC egress program */
    __u16 vlan_tci;    /* a tag the device held outside the frame (vlan_present) */
    __u16 vlan_present;
    __u32 pad;
};

/* Tap mode: the metadata block in front of each frame handed to an AF_XDP socket. */
struct tt_xdp_meta {
    __u64 ts_ns;
    __u64 hw_ts_ns;
    __u32 rule_id;
    __u32 magic; /* TT_META_MAGIC: tells a ticktap block from no metadata */
};
#define TT_META_MAGIC 0x74747031u /* "ttp1" */

/* The kernel and the agent must agree byte for byte: no hidden padding, no drift. */
_Static_assert(sizeof(struct tt_lpm4) == 12, "tt_lpm4 layout");
_Static_assert(sizeof(struct tt_lpm6) == 24, "tt_lpm6 layout");
_Static_assert(sizeof(struct tt_rule_set) == 48 + TT_MAX_RULES, "tt_rule_set layout");
_Static_assert(sizeof(struct tt_ctl) == 8, "tt_ctl layout");
_Static_assert(sizeof(struct tt_counters) == 88, "tt_counters layout");
_Static_assert(sizeof(struct tt_rec) == 32, "tt_rec layout");
_Static_assert(sizeof(struct tt_xdp_meta) == 24, "tt_xdp_meta layout");

/* Tap mode: frames a queue received since the agent last emptied it (the doorbell). */
struct tt_queue_fill {
    __u32 n;
    __u32 pad[15];
};
_Static_assert(sizeof(struct tt_queue_fill) == 64, "tt_queue_fill layout");

#endif
