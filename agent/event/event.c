/* event.c - names and severities of event types. */
#include "event.h"

#include <sched.h>
#include <string.h>

static const struct {
    const char *name;
    enum severity sev;
} event_types[EV_MAX] = {
#define TT_X(id, name, sev) [EV_##id] = {name, sev},
    TT_EVENT_LIST(TT_X)
#undef TT_X
};

const char *severity_name(enum severity s)
{
    switch (s) {
    case SEV_INFO:
        return "info";
    case SEV_WARN:
        return "warn";
    case SEV_CRITICAL:
        return "critical";
    }
    return "info";
}

const char *event_type_name(enum event_type t)
{
    return (unsigned)t < EV_MAX ? event_types[t].name : "unknown";
}

enum severity event_type_severity(enum event_type t)
{
    return (unsigned)t < EV_MAX ? event_types[t].sev : SEV_INFO;
}

enum event_type event_type_from_name(const char *name)
{
    for (int i = 0; i < EV_MAX; i++)
        if (!strcmp(event_types[i].name, name)) return (enum event_type)i;
    return EV_MAX;
}

const char *saturation_reason_name(enum saturation_reason r)
{
    static const char *const names[] = {"ring_full",      "redirect_failed", "socket_dropped",
                                        "kernel_dropped", "queue_full",      "nic_missed"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

struct event *event_reserve_waiting(struct spsc_ring *ring, _Atomic int *waiting, sem_t *sink_wake,
                                    void (*publish)(void *ctx), void *ctx)
{
    struct event *e;
    int woke = 0;
    while (!(e = spsc_ring_reserve(ring))) {
        publish(ctx);
        if (!woke) {
            atomic_store_explicit(waiting, 1, memory_order_relaxed);
            if (sink_wake) sem_post(sink_wake);
            woke = 1;
        }
        sched_yield();
    }
    if (woke) atomic_store_explicit(waiting, 0, memory_order_relaxed);
    return e;
}
