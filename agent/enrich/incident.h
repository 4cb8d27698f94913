/* incident.h - events grouped into incidents, with timers in the manner of Alertmanager.
 *
 *   event --key--> incident (pending) --group_wait--> "open" record
 *                     |  more events: evidence         --group_interval--> "update" record
 *                     |                                    (severity up, new event type, count x2)
 *                     |  nothing new for repeat_interval --> "repeat" record
 *                     +- quiet for resolve_timeout (or older than max_age) --> "close" record
 *
 * An event's key names what it is about: its FIX or OUCH session, its market-data session
 * (both feeds), the service a handshake failed to (address and port), the capture interface
 * (capture.*, burst.micro), else its flow. Events of warn or critical severity open
 * incidents; info events (duplicate ACKs, handshakes, flow records) only add evidence to an
 * incident already open on their key (a flow record's RTT, a handshake's RTT).
 *
 * Time is the events' own (ts_ns), never the wall clock, so the same events in the same
 * order give the same records, byte for byte: that is what lets `ticktap enrich` replay a
 * stretch of its input after a restart and recognise the records it already sent (each has
 * an id: incident id and revision). An incident's id is a hash of its stream, the offset of
 * its first event and its key. One engine per input stream (a Kafka partition, a file); it
 * is not thread-safe. Memory is bounded by max_incidents: a new incident when the table is
 * full is counted (dropped) and not opened.
 */
#ifndef TT_INCIDENT_H
#define TT_INCIDENT_H

#include <jansson.h>
#include <stdint.h>

#define INCIDENT_TYPES 16  /* distinct event types counted per incident */
#define INCIDENT_SAMPLES 4 /* sample events kept per incident (the first ones) */
#define INCIDENT_REASONS 8 /* distinct reject reasons counted */
#define INCIDENT_FEEDS 4   /* market-data feeds named in losses */
#define INCIDENT_TARGETS 4 /* services named in handshake failures */

struct incident_config {
    uint64_t group_wait_ns;      /* first record this long after the first event */
    uint64_t group_interval_ns;  /* updates at most this often */
    uint64_t repeat_interval_ns; /* an unchanged open incident is said again this often */
    uint64_t resolve_ns;         /* closed after this long without an event */
    uint64_t max_age_ns;         /* closed (and a new one opened) after this long in all */
    uint32_t max_incidents;      /* open at once per stream */
};

void incident_config_default(struct incident_config *c);

enum incident_sev { ISEV_INFO = 0, ISEV_WARN = 1, ISEV_CRITICAL = 2 };

struct incident_count {
    char name[48];
    uint32_t n;
};

/* What the rules (diagnose.h) read. */
struct incident {
    char id[17];    /* 16 hex digits */
    char key[160];  /* e.g. "fix:GW20>EXCH1", "md:moldudp64:NASDAQTV03", "flow:78b6..." */
    char scope[16]; /* flow, fix_session, ouch_session, md_session, service, interface */
    int64_t first_offset, last_offset;
    uint64_t first_ns, last_ns;
    uint32_t events;
    uint8_t severity, sent_severity;
    uint8_t state;     /* INC_PENDING, INC_OPEN, INC_CLOSED */
    uint32_t revision; /* records sent */
    uint64_t next_ns;  /* the next time a record may go (group_wait, group_interval) */
    uint64_t last_sent_ns;
    uint32_t sent_events, sent_types;
    struct incident_count types[INCIDENT_TYPES];
    uint32_t ntypes;
    struct incident_count reasons[INCIDENT_REASONS]; /* reject reasons (FIX, OUCH) */
    uint32_t nreasons;
    struct incident_count feeds[INCIDENT_FEEDS]; /* md: the feed that lost (arbitration) */
    uint32_t nfeeds;
    struct incident_count targets[INCIDENT_TARGETS]; /* handshake failures: dst:port */
    uint32_t ntargets;
    uint32_t md_both_lost; /* md.gap: messages lost on every feed */
    uint32_t md_one_lost;  /* md.arbitration_loss: on one feed only */
    uint64_t rtt_min_us, rtt_max_us, rtt_first_us, rtt_last_us; /* handshakes, flow ACK RTT */
    uint32_t rtt_n;
    uint64_t spike_us, spike_baseline_us; /* latency.spike: the largest, and its baseline */
    char anomaly_metric[32];              /* anomaly.*: the first one's metric, value, band */
    double anomaly_value, anomaly_baseline, anomaly_band_high;
    char flow[160];  /* the first event's flow, "src:sport > dst:dport proto" */
    char iface[32];  /* capture.*, burst.micro */
    json_t *samples; /* array of the first INCIDENT_SAMPLES events (owned) */
    struct incident *next_free;
};

enum { INC_PENDING = 0, INC_OPEN = 1, INC_CLOSED = 2 };

/* Why a record is emitted. */
enum incident_change { CH_OPEN, CH_UPDATE, CH_REPEAT, CH_CLOSE };
const char *incident_change_name(enum incident_change c);

/* Called for each record, in order; inc is valid only during the call. */
typedef void (*incident_emit_fn)(void *arg, const struct incident *inc, enum incident_change ch,
                                 uint64_t now_ns);

struct incident_engine;

/* stream names the input (the topic and partition, or the file) in incident ids. Returns
 * NULL when out of memory. */
struct incident_engine *incident_engine_new(const struct incident_config *cfg, const char *stream,
                                            incident_emit_fn emit, void *arg);
void incident_engine_free(struct incident_engine *e);

/* Takes one event (a decoded JSON line) at its input offset: groups it, then emits every
 * record due by its time. Returns 1 when it became evidence, 0 when it concerned no
 * incident, -1 when it was not an event (no type or ts_ns). */
int incident_engine_add(struct incident_engine *e, json_t *ev, int64_t offset);

/* The engine's clock: the latest event time seen, or where advance moved it. */
uint64_t incident_engine_now(const struct incident_engine *e);

/* Moves the clock to now_ns (never back) and emits what is due. */
void incident_engine_advance(struct incident_engine *e, uint64_t now_ns);

/* End of the input: every pending incident is opened and every open one closed. */
void incident_engine_finish(struct incident_engine *e);

/* The earliest input offset from which a replay with an empty engine gives the same records
 * as this engine did from there: the first event of the oldest incident not yet closed, or
 * next when none is open. */
int64_t incident_engine_replay_from(const struct incident_engine *e, int64_t next);

struct incident_engine_stats {
    uint64_t events, evidence, opened, closed, records, dropped_full;
    uint32_t open_now;
};
void incident_engine_stats(const struct incident_engine *e, struct incident_engine_stats *st);

#endif
