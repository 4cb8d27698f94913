/* prom.c - Prometheus text exposition (see prom.h). */
#include "prom.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US 1000ull
#define MS 1000000ull
#define S 1000000000ull
const uint64_t prom_bounds_ns[PROM_BUCKETS] = {
    1 * US,   2500,     5 * US,    10 * US,   25 * US, 50 * US, 100 * US, 250 * US,
    500 * US, 1 * MS,   2500 * US, 5 * MS,    10 * MS, 25 * MS, 50 * MS,  100 * MS,
    250 * MS, 500 * MS, 1 * S,     2500 * MS, 5 * S,   10 * S,
};

void prom_hist_observe(struct prom_hist *h, uint64_t ns)
{
    h->count++;
    h->sum_ns += ns;
    for (int i = PROM_BUCKETS - 1; i >= 0 && ns <= prom_bounds_ns[i]; i--)
        h->le[i]++;
}

void prom_hist_from_hist(struct prom_hist *h, const struct hist *src)
{
    h->count = src->n;
    h->sum_ns = src->sum;
    hist_count_le(src, prom_bounds_ns, PROM_BUCKETS, h->le);
}

void prom_hist_merge(struct prom_hist *into, const struct prom_hist *from)
{
    into->count += from->count;
    into->sum_ns += from->sum_ns;
    for (int i = 0; i < PROM_BUCKETS; i++)
        into->le[i] += from->le[i];
}

void prom_buf_fini(struct prom_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void prom_printf(struct prom_buf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help)
{
    prom_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_labels_init(struct prom_labels *l)
{
    l->s[0] = 0;
    l->len = 0;
}

void prom_label(struct prom_labels *l, const char *name, const char *value)
{
    size_t room = sizeof(l->s) - 1;
    int n = snprintf(l->s + l->len, room - l->len, "%s%s=\"", l->len ? "," : "", name);
    if (n < 0 || l->len + (size_t)n >= room) return;
    size_t at = l->len + (size_t)n;
    /* the exposition format escapes backslash, double quote and newline in label values */
    for (const char *c = value; *c && at + 3 < room; c++) {
        if (*c == '\\' || *c == '"' || *c == '\n') {
            l->s[at++] = '\\';
            l->s[at++] = *c == '\n' ? 'n' : *c;
        } else {
            l->s[at++] = *c;
        }
    }
    l->s[at++] = '"';
    l->s[at] = 0;
    l->len = at;
}

void prom_label_u(struct prom_labels *l, const char *name, uint64_t value)
{
    char v[24];
    snprintf(v, sizeof(v), "%" PRIu64, value);
    prom_label(l, name, v);
}

void prom_sample(struct prom_buf *b, const char *name, const struct prom_labels *l, uint64_t v)
{
    if (l && l->len)
        prom_printf(b, "%s{%s} %" PRIu64 "\n", name, l->s, v);
    else
        prom_printf(b, "%s %" PRIu64 "\n", name, v);
}

void prom_sample_f(struct prom_buf *b, const char *name, const struct prom_labels *l, double v)
{
    if (l && l->len)
        prom_printf(b, "%s{%s} %.9g\n", name, l->s, v);
    else
        prom_printf(b, "%s %.9g\n", name, v);
}

void prom_histogram(struct prom_buf *b, const char *name, const struct prom_labels *l,
                    const struct prom_hist *h)
{
    const char *sep = l && l->len ? "," : "";
    const char *ls = l ? l->s : "";
    for (int i = 0; i < PROM_BUCKETS; i++)
        prom_printf(b, "%s_bucket{%s%sle=\"%.9g\"} %" PRIu64 "\n", name, ls, sep,
                    (double)prom_bounds_ns[i] / 1e9, h->le[i]);
    prom_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, ls, sep, h->count);
    if (l && l->len) {
        prom_printf(b, "%s_sum{%s} %.9f\n", name, ls, (double)h->sum_ns / 1e9);
        prom_printf(b, "%s_count{%s} %" PRIu64 "\n", name, ls, h->count);
    } else {
        prom_printf(b, "%s_sum %.9f\n", name, (double)h->sum_ns / 1e9);
        prom_printf(b, "%s_count %" PRIu64 "\n", name, h->count);
    }
}
