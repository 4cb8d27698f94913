/* stats.c - merging worker statistics, top talkers and worst flows. */
#include "stats.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../util/table_mem.h"

int stats_init(struct tt_stats *s, uint32_t talkers_max, uint32_t top_n)
{
    memset(s, 0, sizeof(*s));
    hist_init(&s->rtt);
    hist_init(&s->handshake);
    s->top_n = top_n > TT_TOP_MAX ? TT_TOP_MAX : top_n;
    uint32_t cap = 16;
    while (cap < 2 * talkers_max)
        cap <<= 1;
    s->talkers.hosts = table_zalloc(talkers_max ? talkers_max : 1, sizeof(struct talker));
    s->talkers.index = table_calloc(cap, sizeof(uint32_t)); /* probed before written */
    if (!s->talkers.hosts || !s->talkers.index) return -ENOMEM;
    s->talkers.cap = cap;
    s->talkers.max = talkers_max;
    if (timeline_init(&s->timeline)) return -ENOMEM;
    int rc = trading_stats_init(&s->trading);
    s->trading.tl = &s->timeline;
    return rc;
}

int stats_track_inputs(struct tt_stats *s, uint32_t n)
{
    if (n > TT_INPUTS_MAX) n = TT_INPUTS_MAX;
    if (!(s->inputs = calloc(n, sizeof(*s->inputs)))) return -ENOMEM;
    s->ninputs = n;
    s->cur_input = 0;
    s->settled.packets = s->packets;
    s->settled.bytes = s->bytes;
    memcpy(s->settled.counters, s->counters, sizeof(s->counters));
    return 0;
}

void stats_inputs_settle(struct tt_stats *s)
{
    if (!s->inputs) return;
    struct tt_input_stats *in = &s->inputs[s->cur_input];
    in->packets += s->packets - s->settled.packets;
    in->bytes += s->bytes - s->settled.bytes;
    s->settled.packets = s->packets;
    s->settled.bytes = s->bytes;
    /* inputs may take turns every frame: the counters rarely move, so compare first */
    if (!memcmp(s->settled.counters, s->counters, sizeof(s->counters))) return;
    for (int i = 0; i < TT_C_MAX; i++)
        in->counters[i] += s->counters[i] - s->settled.counters[i];
    memcpy(s->settled.counters, s->counters, sizeof(s->counters));
}

void stats_mixes_settle(struct tt_stats *s)
{
    for (int i = 0; i < 4; i++) {
        stats_mix_add(s->protos, s->mixes[i].mix, s->mixes[i].n);
        s->mixes[i].n = 0;
    }
}

void stats_reset(struct tt_stats *s)
{
    struct talker_table t = s->talkers;
    uint32_t top_n = s->top_n;
    free(s->inputs);
    memset(t.hosts, 0, (size_t)t.n * sizeof(*t.hosts));
    memset(t.index, 0, (size_t)t.cap * sizeof(*t.index));
    t.n = 0;
    t.untracked = 0;
    trading_stats_reset(&s->trading);
    struct trading_stats trading = s->trading;
    struct timeline tl = s->timeline;
    timeline_reset(&tl);
    memset(s, 0, sizeof(*s));
    s->timeline = tl;
    hist_init(&s->rtt);
    hist_init(&s->handshake);
    s->talkers = t;
    s->trading = trading;
    s->top_n = top_n;
}

void stats_fini(struct tt_stats *s)
{
    free(s->inputs);
    s->inputs = NULL;
    table_release(s->talkers.hosts);
    table_free(s->talkers.index);
    s->talkers.hosts = NULL;
    s->talkers.index = NULL;
    trading_stats_fini(&s->trading);
    timeline_fini(&s->timeline);
}

void talker_add(struct talker_table *t, const uint8_t addr[16], uint64_t bytes, uint64_t pkts)
{
    uint32_t i = (uint32_t)XXH3_64bits(addr, 16) & (t->cap - 1);
    struct talker *e;
    for (;; i = (i + 1) & (t->cap - 1)) {
        if (!t->index[i]) {
            if (t->n >= t->max) {
                t->untracked++;
                return;
            }
            e = &t->hosts[t->n++];
            memcpy(e->addr, addr, 16);
            t->index[i] = t->n;
            break;
        }
        e = &t->hosts[t->index[i] - 1];
        if (!memcmp(e->addr, addr, 16)) break;
    }
    e->bytes += bytes;
    e->pkts += pkts;
}

int stats_worst_cmp(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    if (x->u.flow.anomalies != y->u.flow.anomalies)
        return x->u.flow.anomalies < y->u.flow.anomalies ? 1 : -1;
    return x->flow_id < y->flow_id ? -1 : x->flow_id > y->flow_id;
}

void stats_offer_worst(struct tt_stats *s, const struct event *rec)
{
    if (rec->u.flow.anomalies == 0 || s->top_n == 0) return;
    if (s->nworst < s->top_n) {
        s->worst[s->nworst++] = *rec;
        return;
    }
    /* A total order (ties by flow id), so the same flows are kept whatever order they are
     * offered in: by one worker, or by several and then merged. */
    uint32_t least = 0;
    for (uint32_t i = 1; i < s->nworst; i++)
        if (stats_worst_cmp(&s->worst[i], &s->worst[least]) > 0) least = i;
    if (stats_worst_cmp(rec, &s->worst[least]) < 0) s->worst[least] = *rec;
}

void stats_merge(struct tt_stats *into, const struct tt_stats *from)
{
    if (from->packets) {
        if (!into->packets || from->first_ts_ns < into->first_ts_ns)
            into->first_ts_ns = from->first_ts_ns;
        if (from->last_ts_ns > into->last_ts_ns) into->last_ts_ns = from->last_ts_ns;
    }
    into->packets += from->packets;
    into->bytes += from->bytes;
    for (int i = 0; i < TT_C_MAX; i++)
        into->counters[i] += from->counters[i];
    if (from->counters[TT_C_LINKTYPE_UNSUPPORTED])
        into->unsupported_linktype = from->unsupported_linktype;
    for (int i = 0; i < 32; i++)
        into->protos[i] += from->protos[i];
    for (int i = 0; i < 4; i++) /* not settled yet: counted all the same */
        stats_mix_add(into->protos, from->mixes[i].mix, from->mixes[i].n);
    for (int i = 0; i < TA_BIT_MAX; i++)
        into->tcp_flags[i] += from->tcp_flags[i];
    into->resets += from->resets;
    into->flows_created += from->flows_created;
    into->flows_ended += from->flows_ended;
    into->flows_evicted += from->flows_evicted;
    into->flows_resumed += from->flows_resumed;
    into->dup_frames += from->dup_frames;
    into->dup_bytes += from->dup_bytes;
    into->dup_payloads += from->dup_payloads;
    into->latency_spikes += from->latency_spikes;
    hist_merge(&into->rtt, &from->rtt);
    hist_merge(&into->handshake, &from->handshake);
    trading_stats_merge(&into->trading, &from->trading);
    timeline_merge(&into->timeline, &from->timeline);
    for (uint32_t i = 0; i < from->talkers.n; i++) {
        const struct talker *h = &from->talkers.hosts[i];
        talker_add(&into->talkers, h->addr, h->bytes, h->pkts);
    }
    into->talkers.untracked += from->talkers.untracked;
    for (uint32_t i = 0; i < from->nworst; i++)
        stats_offer_worst(into, &from->worst[i]);
}

uint32_t stats_top_talkers(const struct tt_stats *s, struct talker *out, uint32_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->talkers.n; i++) {
        const struct talker *e = &s->talkers.hosts[i];
        /* insertion into a sorted top-n array; ties broken by address for stable output */
        uint32_t pos = k < n ? k : n;
        while (pos > 0 &&
               (out[pos - 1].bytes < e->bytes ||
                (out[pos - 1].bytes == e->bytes && memcmp(out[pos - 1].addr, e->addr, 16) > 0))) {
            if (pos < n) out[pos] = out[pos - 1];
            pos--;
        }
        if (pos < n) out[pos] = *e;
        if (k < n) k++;
    }
    return k;
}

void stats_counts_json(json_t *root, const uint64_t counters[TT_C_MAX],
                       const uint64_t protos[TT_P_MAX])
{
    json_t *de = json_object(), *drops = json_object(), *pr = json_object();
    for (int i = 0; i < TT_C_MAX; i++)
        if (counters[i])
            json_object_set_new(tt_counter_is_decode_error((enum tt_counter)i) ? de : drops,
                                tt_counter_name((enum tt_counter)i),
                                json_integer((json_int_t)counters[i]));
    for (int i = 0; i < TT_P_MAX; i++)
        if (protos[i])
            json_object_set_new(pr, tt_proto_name((enum tt_proto)i),
                                json_integer((json_int_t)protos[i]));
    json_object_set_new(root, "decode_errors", de);
    json_object_set_new(root, "drops", drops);
    json_object_set_new(root, "protocols", pr);
}
