/* flow_recall.h - the TCP analysis state of recently ended flows, for connections that resume.
 *
 * A flow's record ends on an idle timeout, after its FIN/RST linger or when the table evicts
 * it; if its connection then sends again, Wireshark (which never forgets a conversation) goes
 * on judging its segments against what came before, and a fresh state would disagree: every
 * retransmission after the gap would look new. The worker stores the ended flow's TCP state
 * here and, when a flow with the same key starts, continues from it (tcp_conv_resume).
 *
 * Fixed size, set-associative (4 entries per set, chosen by the flow hash): storing into a full
 * set forgets its oldest entry, and flow_recall_put() says so for the caller to count. Memory
 * is allocated once (calloc: pages are touched as entries are used). One per worker, no locks.
 */
#ifndef TT_FLOW_RECALL_H
#define TT_FLOW_RECALL_H

#include <stdint.h>

#include "flow_table.h"

struct flow_recalled {
    struct flow_key key;
    uint32_t hash;
    uint32_t stamp; /* order of storing, for forgetting the oldest; 0: empty */
    struct tcp_conv tcp;
};

struct flow_recall {
    struct flow_recalled *entries;
    uint32_t set_mask; /* sets - 1; 0 entries: recall disabled */
    uint32_t stamp;
};

/* capacity: entries, rounded up to a power of two (at least one set); 0 disables recall.
 * Returns 0 or -ENOMEM. */
int flow_recall_init(struct flow_recall *r, uint32_t capacity);
void flow_recall_fini(struct flow_recall *r);
/* Forgets every ended flow, keeping the memory (writes the whole table). */
void flow_recall_reset(struct flow_recall *r);

/* Stores the TCP state of ended flow f (its unACKed segment lists already released).
 * Returns 1 when an older entry had to be forgotten to make room, else 0. */
int flow_recall_put(struct flow_recall *r, const struct flow *f);

/* If the state of an ended flow with f's key is stored, continues it in new flow f (either
 * direction may come first) and forgets the entry. Returns 1 if so, 0 when none is stored. */
int flow_recall_take(struct flow_recall *r, struct flow *f);

#endif
