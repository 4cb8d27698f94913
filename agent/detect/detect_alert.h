/* detect_alert.h - turns bursts of anomaly events into alert events.
 *
 * A rule names an event type, a scope (per flow, per host = the flow's destination, or all),
 * WARN and CRITICAL thresholds, a sliding window and a cool-down. Counts use a two-bucket
 * sliding window (the current window plus the previous one weighted by how much of it is
 * still inside), so state per key is a few words. An alert fires when a level is crossed
 * (once per cool-down), and resolves when an event finds the count back under WARN after the
 * cool-down, or when the run ends. Keys live in a fixed table; when it is full the least
 * recently used key is replaced (counted in evicted). Runs on the sink thread over the merged
 * event stream, so what fires does not depend on the number of workers.
 */
#ifndef TT_DETECT_ALERT_H
#define TT_DETECT_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "../event/event.h"

#define ALERT_MAX_RULES 16

enum alert_scope { ALERT_PER_ALL = 0, ALERT_PER_FLOW, ALERT_PER_HOST };
enum alert_level { ALERT_NONE = 0, ALERT_WARN, ALERT_CRITICAL };

struct alert_rule {
    uint16_t type; /* enum event_type */
    uint8_t scope;
    uint32_t warn;     /* 0: no WARN level */
    uint32_t critical; /* 0: no CRITICAL level */
    uint64_t window_ns;
    uint64_t cooldown_ns;
};

struct alert_rules {
    uint32_t n;
    struct alert_rule r[ALERT_MAX_RULES];
};

/* Applies "alert.<event type>.<field>=value" (field: warn, critical, window, cooldown, per).
 * Returns 0, or -1 with a reason in err. */
int alert_rules_set(struct alert_rules *rules, const char *key, const char *value, char *err,
                    size_t errlen);

struct alert_state;

struct alert_detector {
    struct alert_rules rules;
    struct alert_state *table;
    uint32_t cap;
    uint64_t tick; /* for LRU replacement */
    uint64_t evicted;
};

int alert_init(struct alert_detector *d, const struct alert_rules *rules, uint32_t keys);
void alert_fini(struct alert_detector *d);

/* Feeds one event; writes up to max alert events into out and returns how many. */
int alert_feed(struct alert_detector *d, const struct event *e, struct event *out, int max);

/* At the end of a run: resolves every firing alert; returns how many went into out. */
int alert_finish(struct alert_detector *d, struct event *out, int max);

#endif
