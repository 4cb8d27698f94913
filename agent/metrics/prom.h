/* prom.h - Prometheus text exposition (format 0.0.4): a growing buffer, metric families,
 * samples with escaped labels, and fixed-bucket histograms in seconds.
 *
 * Every duration histogram ticktap exports uses the same bounds (1 us to 10 s), so panels can
 * put any two side by side. A histogram is either observed directly (prom_hist_observe, a few
 * compares) or converted from a struct hist (prom_hist_from_hist) when it is published.
 */
#ifndef TT_PROM_H
#define TT_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "../util/hist.h"

#define PROM_BUCKETS 22

struct prom_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t le[PROM_BUCKETS]; /* cumulative: values <= prom_bounds_ns[i] */
};

extern const uint64_t prom_bounds_ns[PROM_BUCKETS];

void prom_hist_observe(struct prom_hist *h, uint64_t ns);
void prom_hist_from_hist(struct prom_hist *h, const struct hist *src);
void prom_hist_merge(struct prom_hist *into, const struct prom_hist *from);

/* Output buffer; on allocation failure it stops growing and sets oom (the scrape fails). */
struct prom_buf {
    char *p;
    size_t len, cap;
    int oom;
};

void prom_buf_fini(struct prom_buf *b);
void prom_printf(struct prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP" and "# TYPE" lines; type is counter, gauge or histogram. */
void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help);

/* Label set builder: labels is "" or a series of name="value" pairs, values escaped. */
struct prom_labels {
    char s[384];
    size_t len;
};
void prom_labels_init(struct prom_labels *l);
void prom_label(struct prom_labels *l, const char *name, const char *value);
void prom_label_u(struct prom_labels *l, const char *name, uint64_t value);

void prom_sample(struct prom_buf *b, const char *name, const struct prom_labels *l, uint64_t v);
void prom_sample_f(struct prom_buf *b, const char *name, const struct prom_labels *l, double v);
/* name_bucket{...,le="..."}, name_sum (seconds), name_count. */
void prom_histogram(struct prom_buf *b, const char *name, const struct prom_labels *l,
                    const struct prom_hist *h);

#endif
