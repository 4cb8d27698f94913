/* enrich.h - `ticktap enrich`: events in, incidents out, each with a rule diagnosis and, when
 * an LLM is configured, a narrative.
 *
 *   ticktap.events (Kafka, a consumer group) or a JSON-lines file
 *     -> incident_engine per partition (incident.h) -> diagnose (diagnose.h)
 *     -> narrative (llm.h, for open records and severity rises; in parallel up to
 *        llm.concurrency)
 *     -> ticktap.incidents (keyed by the incident key: one incident, one partition) and -o FILE
 *
 * Delivery guarantee (Kafka): offsets are committed only after every record produced so far
 * is delivered, and only up to a replay point: the first event of the oldest incident still
 * open (incident_engine_replay_from). After a crash or a kill, the partition is read again
 * from there with an empty engine, which gives the same records (event time, deterministic
 * ids); each record has an id (incident id and revision), and the records already on
 * ticktap.incidents for the partition (read back at assignment, within
 * enrich.dedupe_horizon) are not sent again. So a restart neither loses a record (nothing is
 * committed past an undelivered one) nor duplicates one (the read-back) as long as the
 * incidents topic keeps the horizon. Narratives are the one part that can differ between two
 * runs (the model answers again or the cache does); the record ids do not.
 */
#ifndef TT_ENRICH_H
#define TT_ENRICH_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "diagnose.h"
#include "incident.h"
#include "llm.h"

struct enrich_config {
    char topic_in[128];
    char topic_out[128];
    char group_id[128];
    uint64_t session_timeout_ns; /* a member that stops answering loses its partitions after */
    uint64_t dedupe_horizon_ns;  /* how far back the incidents topic is read at assignment */
    uint64_t test_crash_after; /* tests: exit(3) after this many records, delivered, uncommitted */
};

void enrich_config_default(struct enrich_config *c);

struct enrich_options {
    const struct enrich_config *cfg;
    const struct incident_config *incident;
    const struct llm_config *llm;
    const char *brokers;        /* Kafka bootstrap servers; NULL: read events_path */
    const char *events_path;    /* a JSON-lines file ("-": stdin) when there is no Kafka */
    FILE *out;                  /* the records as JSON lines too; NULL: none */
    uint64_t duration_ns;       /* Kafka: stop after this long; 0: until a signal */
    const char *metrics_listen; /* NULL: no /metrics */
    _Atomic int *stop;
    int quiet;
};

/* Runs the service. Returns 0, or 1 with a one-line reason on stderr (bad configuration,
 * unreachable broker, unreadable file). */
int enrich_run(const struct enrich_options *o);

/* The incident record (incident.schema.json) without its narrative: for `ask` and tests. */
json_t *incident_record(const struct incident *inc, enum incident_change ch, uint64_t now_ns,
                        const char *stream);

/* The prompt for a record: the rule diagnosis, the evidence, the counts and the sample
 * events with their flow, never payload bytes or credentials (the events carry none: FIX
 * credentials are redacted by the agent). malloc'd. */
char *incident_prompt(json_t *record);

extern const char *const enrich_system_prompt;

/* Asks the LLM about one record and stores the answer (or the reason there is none) in it. */
void incident_narrate(struct llm_client *llm, json_t *record, int redact);

#endif
