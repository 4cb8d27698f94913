/* counters.c - names of the counter ids declared in counters.h. */
#include "counters.h"

static const char *const counter_names[TT_C_MAX] = {
#define TT_X(id, name) [TT_C_##id] = name,
    TT_COUNTER_LIST(TT_X)
#undef TT_X
};

const char *tt_counter_name(enum tt_counter id)
{
    return (unsigned)id < TT_C_MAX ? counter_names[id] : "unknown";
}

int tt_counter_is_decode_error(enum tt_counter id)
{
    switch (id) {
    case TT_C_FLOW_TABLE_FULL:
    case TT_C_DEDUP_TABLE_FULL:
    case TT_C_FLOW_EVICTED:
    case TT_C_TCP_UNACKED_POOL_FULL:
    case TT_C_TCP_RECALL_FORGOTTEN:
    case TT_C_EVENT_RING_FULL:
    case TT_C_TALKERS_FULL:
    case TT_C_ALERT_KEYS_EVICTED:
    case TT_C_FRAG_TABLE_FULL:
    case TT_C_FRAG_BUFFER_FULL:
    case TT_C_FRAG_TIMEOUT:
    case TT_C_DISPATCH_RING_FULL:
    case TT_C_DISPATCH_UNSTEERED:
    case TT_C_TRADING_SESSIONS_FULL:
    case TT_C_TRADING_ORDERS_EVICTED:
    case TT_C_TRADING_FEEDS_FULL:
    case TT_C_TRADING_FEED_LOSSES_DROPPED:
    case TT_C_BURST_RING_FULL:
        return 0;
    default:
        return 1;
    }
}
