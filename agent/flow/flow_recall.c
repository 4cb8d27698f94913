/* flow_recall.c - ended flows' TCP state, 4-way set-associative, oldest forgotten first. */
#include "flow_recall.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/table_mem.h"

#define RECALL_WAYS 4

int flow_recall_init(struct flow_recall *r, uint32_t capacity)
{
    memset(r, 0, sizeof(*r));
    if (capacity == 0) return 0;
    uint32_t sets = 1;
    while (sets * RECALL_WAYS < capacity && sets < (1u << 26))
        sets <<= 1;
    r->entries = table_calloc((size_t)sets * RECALL_WAYS, sizeof(*r->entries)); /* probed */
    if (!r->entries) return -ENOMEM;
    r->set_mask = sets - 1;
    return 0;
}

void flow_recall_fini(struct flow_recall *r)
{
    table_free(r->entries);
    memset(r, 0, sizeof(*r));
}

void flow_recall_reset(struct flow_recall *r)
{
    if (r->entries)
        memset(r->entries, 0, ((size_t)r->set_mask + 1) * RECALL_WAYS * sizeof(*r->entries));
    r->stamp = 0;
}

static struct flow_recalled *set_of(const struct flow_recall *r, uint32_t hash)
{
    return &r->entries[(size_t)(hash & r->set_mask) * RECALL_WAYS];
}

int flow_recall_put(struct flow_recall *r, const struct flow *f)
{
    if (!r->entries) return 0;
    struct flow_recalled *set = set_of(r, f->hash), *slot = NULL;
    for (int i = 0; i < RECALL_WAYS && !slot; i++) /* the same connection ended before */
        if (set[i].stamp && set[i].hash == f->hash && flow_key_match(&set[i].key, &f->key) >= 0)
            slot = &set[i];
    for (int i = 0; i < RECALL_WAYS && !slot; i++)
        if (!set[i].stamp) slot = &set[i];
    int forgot = 0;
    if (!slot) {
        slot = &set[0];
        for (int i = 1; i < RECALL_WAYS; i++) /* stamps compare modulo 2^32 */
            if ((int32_t)(set[i].stamp - slot->stamp) < 0) slot = &set[i];
        forgot = 1;
    }
    if (++r->stamp == 0) r->stamp = 1; /* 0 marks an empty entry */
    slot->key = f->key;
    slot->hash = f->hash;
    slot->stamp = r->stamp;
    slot->tcp = f->tcp;
    return forgot;
}

int flow_recall_take(struct flow_recall *r, struct flow *f)
{
    if (!r->entries) return 0;
    struct flow_recalled *set = set_of(r, f->hash);
    for (int i = 0; i < RECALL_WAYS; i++) {
        if (!set[i].stamp || set[i].hash != f->hash) continue;
        int d = flow_key_match(&set[i].key, &f->key);
        if (d < 0) continue;
        tcp_conv_resume(&f->tcp, &set[i].tcp, d);
        set[i].stamp = 0;
        return 1;
    }
    return 0;
}
