/* trading_stats.c - session table and merging of trading counters (see trading_stats.h). */
#include "trading_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/table_mem.h"

const char *trading_kind_name(enum trading_kind k)
{
    switch (k) {
    case TK_FIX:
        return "fix";
    case TK_MOLD:
        return "moldudp64";
    case TK_MDP3:
        return "mdp3";
    case TK_SOUP:
        return "soupbintcp";
    default:
        return "unknown";
    }
}

const char *order_pair_name(enum order_pair p)
{
    static const char *const names[OP_MAX] = {"new_order", "cancel", "replace"};
    return (unsigned)p < OP_MAX ? names[p] : "unknown";
}

int trading_stats_init(struct trading_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->sessions = table_calloc(TRADING_SESSIONS_MAX, sizeof(*s->sessions)); /* counters: x++ */
    if (!s->sessions) return -ENOMEM;
    for (int i = 0; i < OP_MAX; i++) {
        hist_init(&s->order_latency[i]);
        hist_init(&s->ouch_latency[i]);
    }
    hist_init(&s->itch_latency);
    hist_init(&s->mdp3_latency);
    return 0;
}

void trading_stats_reset(struct trading_stats *s)
{
    struct trading_session_stats *sessions = s->sessions;
    struct timeline *tl = s->tl;
    memset(sessions, 0, (size_t)s->nsessions * sizeof(*sessions));
    memset(s, 0, sizeof(*s));
    s->sessions = sessions;
    s->tl = tl;
    for (int i = 0; i < OP_MAX; i++) {
        hist_init(&s->order_latency[i]);
        hist_init(&s->ouch_latency[i]);
    }
    hist_init(&s->itch_latency);
    hist_init(&s->mdp3_latency);
}

void trading_stats_fini(struct trading_stats *s)
{
    table_free(s->sessions);
    s->sessions = NULL;
}

uint32_t trading_session_get(struct trading_stats *s, uint64_t key, enum trading_kind kind,
                             const char *name)
{
    for (uint32_t i = 0; i < s->nsessions; i++)
        if (s->sessions[i].key == key) return i;
    if (s->nsessions == TRADING_SESSIONS_MAX) {
        s->sessions_untracked++;
        return TRADING_NONE;
    }
    struct trading_session_stats *e = &s->sessions[s->nsessions];
    e->used = 1;
    e->key = key;
    e->kind = (uint8_t)kind;
    snprintf(e->name, sizeof(e->name), "%s", name);
    return s->nsessions++; /* its histograms are zero (never reused): left untouched */
}

static void fix_type_add(struct trading_stats *s, const uint8_t *type, size_t len, uint64_t n)
{
    if (!len || len > 3) {
        s->fix_types_other += n;
        return;
    }
    /* a type is at most three characters: compared as one NUL-padded word */
    char key[4] = {0};
    memcpy(key, type, len);
    for (int i = 0; i < FIX_TYPES_MAX; i++) {
        if (!s->fix_types[i].n) {
            memcpy(s->fix_types[i].type, key, sizeof(key));
            s->fix_types[i].n = n;
            return;
        }
        if (!memcmp(s->fix_types[i].type, key, sizeof(key))) {
            s->fix_types[i].n += n;
            return;
        }
    }
    s->fix_types_other += n;
}

void trading_count_fix_type(struct trading_stats *s, const uint8_t *type, uint16_t len)
{
    fix_type_add(s, type, len, 1);
}

static void merge_feed(struct trading_session_stats *into, const struct md_feed_stats *f)
{
    struct md_feed_stats *t = NULL;
    for (uint32_t i = 0; i < into->nfeeds; i++)
        if (!strcmp(into->feed[i].name, f->name)) t = &into->feed[i];
    if (!t) {
        if (into->nfeeds == MD_FEEDS_MAX) return;
        t = &into->feed[into->nfeeds++];
        memset(t, 0, sizeof(*t));
        memcpy(t->name, f->name, sizeof(t->name));
    }
    t->packets += f->packets;
    t->messages += f->messages;
    t->heartbeats += f->heartbeats;
    t->gaps += f->gaps;
    t->lost += f->lost;
    t->duplicates += f->duplicates;
    t->trailed += f->trailed;
    if (f->trail_max_ns > t->trail_max_ns) t->trail_max_ns = f->trail_max_ns;
}

static void merge_session(struct trading_session_stats *t, const struct trading_session_stats *f)
{
    uint64_t *dst = &t->messages[0];
    const uint64_t *src = &f->messages[0];
    /* every counter from messages[0] up to latency_negative is a plain sum */
    size_t n = (size_t)((const uint64_t *)&f->latency_negative - src) + 1;
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
    for (uint32_t i = 0; i < f->nfeeds; i++)
        merge_feed(t, &f->feed[i]);
    hist_merge(&t->latency, &f->latency);
    hist_merge(&t->skew, &f->skew);
}

void trading_stats_merge(struct trading_stats *into, const struct trading_stats *from)
{
    for (uint32_t i = 0; i < from->nsessions; i++) {
        const struct trading_session_stats *f = &from->sessions[i];
        uint32_t k = trading_session_get(into, f->key, (enum trading_kind)f->kind, f->name);
        if (k != TRADING_NONE) merge_session(&into->sessions[k], f);
    }
    into->sessions_untracked += from->sessions_untracked;
    uint64_t *d = &into->stream.segments;
    const uint64_t *s = &from->stream.segments;
    for (size_t i = 0; i < sizeof(from->stream) / sizeof(uint64_t); i++)
        d[i] += s[i];
    into->fix_messages += from->fix_messages;
    into->fix_garbage_bytes += from->fix_garbage_bytes;
    for (int i = 0; i < FIX_TYPES_MAX && from->fix_types[i].n; i++)
        fix_type_add(into, (const uint8_t *)from->fix_types[i].type,
                     strlen(from->fix_types[i].type), from->fix_types[i].n);
    into->fix_types_other += from->fix_types_other;
    for (int i = 0; i < OP_MAX; i++) {
        hist_merge(&into->order_latency[i], &from->order_latency[i]);
        hist_merge(&into->ouch_latency[i], &from->ouch_latency[i]);
    }
    into->soup_packets += from->soup_packets;
    into->soup_garbage_bytes += from->soup_garbage_bytes;
    for (int i = 0; i < 256; i++) {
        into->ouch_client_types[i] += from->ouch_client_types[i];
        into->ouch_server_types[i] += from->ouch_server_types[i];
    }
    into->mold_packets += from->mold_packets;
    into->mold_messages += from->mold_messages;
    into->mold_heartbeats += from->mold_heartbeats;
    for (int i = 0; i < 256; i++) {
        into->itch_types[i] += from->itch_types[i];
        into->mdp3_templates[i] += from->mdp3_templates[i];
    }
    into->mdp3_packets += from->mdp3_packets;
    into->mdp3_messages += from->mdp3_messages;
    into->mdp3_templates_other += from->mdp3_templates_other;
    hist_merge(&into->itch_latency, &from->itch_latency);
    for (int i = 0; i < 3; i++)
        into->hw_ts_frames[i] += from->hw_ts_frames[i];
    if (from->hw_ts_frames[1] + from->hw_ts_frames[2]) {
        int first = into->hw_ts_frames[1] + into->hw_ts_frames[2] ==
                    from->hw_ts_frames[1] + from->hw_ts_frames[2];
        if (first || from->hw_ts_offset_min_ns < into->hw_ts_offset_min_ns)
            into->hw_ts_offset_min_ns = from->hw_ts_offset_min_ns;
        if (first || from->hw_ts_offset_max_ns > into->hw_ts_offset_max_ns)
            into->hw_ts_offset_max_ns = from->hw_ts_offset_max_ns;
    }
    burst_totals_merge(&into->bursts, &from->bursts);
    hist_merge(&into->mdp3_latency, &from->mdp3_latency);
}
