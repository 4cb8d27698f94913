/* enrich.c - the `ticktap enrich` service (see enrich.h): records, narratives, Kafka I/O. */
#include "enrich.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "../metrics/metrics.h"
#include "../metrics/metrics_http.h"
#include "../metrics/prom.h"

#define NS_PER_S 1000000000ull
#define MAX_PARTITIONS 256
#define BATCH_EVENTS 500

void enrich_config_default(struct enrich_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->topic_in, sizeof(c->topic_in), "ticktap.events");
    snprintf(c->topic_out, sizeof(c->topic_out), "ticktap.incidents");
    snprintf(c->group_id, sizeof(c->group_id), "ticktap-enrich");
    c->dedupe_horizon_ns = 24 * 3600 * NS_PER_S;
    c->session_timeout_ns = 10 * NS_PER_S;
}

const char *const enrich_system_prompt =
    "You are a network and trading-systems engineer. You explain an incident found in packet "
    "captures of a trading network to the engineer on call: what happened, the most likely "
    "cause and what to check next, in at most 120 words of plain text. A rule-based diagnosis "
    "is given; agree with it or say why the evidence points elsewhere. Do not invent facts "
    "beyond the evidence.";

/* ---- records ---------------------------------------------------------------------------- */

static const char *sev_name(uint8_t s)
{
    return s == ISEV_CRITICAL ? "critical" : s == ISEV_WARN ? "warn" : "info";
}

static void iso_time(uint64_t ns, char *out, size_t len)
{
    time_t s = (time_t)(ns / NS_PER_S);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%09" PRIu64 "Z", (uint64_t)(ns % NS_PER_S));
}

json_t *incident_record(const struct incident *inc, enum incident_change ch, uint64_t now_ns,
                        const char *stream)
{
    struct diagnosis d;
    diagnose(inc, &d);
    char first[40], last[40], at[40], rid[40];
    iso_time(inc->first_ns, first, sizeof(first));
    iso_time(inc->last_ns, last, sizeof(last));
    iso_time(now_ns, at, sizeof(at));
    snprintf(rid, sizeof(rid), "%s-%u", inc->id, inc->revision);
    json_t *counts = json_object();
    for (uint32_t i = 0; i < inc->ntypes; i++)
        json_object_set_new(counts, inc->types[i].name, json_integer(inc->types[i].n));
    json_t *ev = json_array();
    for (uint32_t i = 0; i < d.nevidence; i++)
        json_array_append_new(ev, json_string(d.evidence[i]));
    json_t *r = json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:o, "
        "s:{s:s, s:s, s:s, s:o}, s:{s:s, s:I, s:I}, s:O, s:n}",
        "schema_version", "1.0.0", "record_id", rid, "incident_id", inc->id, "revision",
        (json_int_t)inc->revision, "change", incident_change_name(ch), "status",
        ch == CH_CLOSE ? "closed" : "open", "key", inc->key, "scope", inc->scope, "severity",
        sev_name(inc->severity), "first_ts", first, "last_ts", last, "first_ns",
        (json_int_t)inc->first_ns, "last_ns", (json_int_t)inc->last_ns, "ts", at, "events",
        (json_int_t)inc->events, "counts", counts, "diagnosis", "rule", d.rule, "location",
        d.location, "cause", d.cause, "evidence", ev, "source", "stream", stream, "first_offset",
        (json_int_t)inc->first_offset, "last_offset", (json_int_t)inc->last_offset, "samples",
        inc->samples, "narrative");
    if (!r) return NULL;
    if (inc->flow[0]) json_object_set_new(r, "flow", json_string(inc->flow));
    if (inc->iface[0]) json_object_set_new(r, "interface", json_string(inc->iface));
    if (inc->rtt_n)
        json_object_set_new(
            r, "rtt_us",
            json_pack("{s:I, s:I, s:I, s:I, s:i}", "first", (json_int_t)inc->rtt_first_us, "min",
                      (json_int_t)inc->rtt_min_us, "max", (json_int_t)inc->rtt_max_us, "last",
                      (json_int_t)inc->rtt_last_us, "n", (json_int_t)inc->rtt_n));
    return r;
}

/* A sample event as the model sees it: what and where, none of the bytes. */
static json_t *sample_for_prompt(json_t *ev)
{
    json_t *s = json_deep_copy(ev);
    json_object_del(s, "schema_version");
    json_object_del(s, "ts_ns");
    json_object_del(s, "frame");
    json_t *f = json_object_get(s, "flow");
    json_object_del(f, "id");
    return s;
}

char *incident_prompt(json_t *record)
{
    json_t *p = json_object();
    const char *keep[] = {"key",    "scope", "severity",  "first_ts", "last_ts",  "events",
                          "counts", "flow",  "interface", "rtt_us",   "diagnosis"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        json_t *v = json_object_get(record, keep[i]);
        if (v) json_object_set(p, keep[i], v);
    }
    json_t *samples = json_array(), *src = json_object_get(record, "samples");
    size_t i;
    json_t *ev;
    json_array_foreach(src, i, ev) json_array_append_new(samples, sample_for_prompt(ev));
    json_object_set_new(p, "sample_events", samples);
    char *body = json_dumps(p, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(p);
    if (!body) return NULL;
    size_t n = strlen(body) + 200;
    char *out = malloc(n);
    if (out) snprintf(out, n, "Incident (JSON):\n%s\n\nExplain it for the engineer on call.", body);
    free(body);
    return out;
}

void incident_narrate(struct llm_client *llm, json_t *record, int redact)
{
    char *prompt = incident_prompt(record);
    struct llm_redaction map = {0};
    char *sent = prompt && redact ? llm_redact(prompt, &map) : prompt;
    struct llm_answer a;
    int rc = sent ? llm_complete(llm, enrich_system_prompt, sent, &a) : -1;
    if (!sent) snprintf(a.error, sizeof(a.error), "out of memory");
    if (!rc) {
        char *text = redact ? llm_unredact(a.text, &map) : strdup(a.text);
        json_object_set_new(
            record, "narrative",
            json_pack("{s:s, s:s, s:I, s:I, s:f, s:b, s:b}", "text", text ? text : a.text, "model",
                      a.model, "prompt_tokens", (json_int_t)a.prompt_tokens, "completion_tokens",
                      (json_int_t)a.completion_tokens, "latency_ms", (double)a.latency_ns / 1e6,
                      "cached", a.cached, "redacted", redact));
        free(text);
    } else {
        json_object_set_new(record, "narrative_error", json_string(a.error));
    }
    llm_answer_free(&a);
    if (sent != prompt) free(sent);
    free(prompt);
    llm_redaction_free(&map);
}

/* ---- the run ---------------------------------------------------------------------------- */

struct pending {
    json_t *record;
    char key[160];
    int narrate;
};

struct partition {
    int32_t id;
    char stream[160];
    struct incident_engine *eng;
    int64_t next_offset;    /* the next event to read */
    int64_t committed;      /* what was last committed */
    uint64_t idle_since_ns; /* wall clock: at the end of the partition since then (0: not) */
};

struct run {
    const struct enrich_options *o;
    struct llm_client *llm;
    rd_kafka_t *cons, *prod;
    struct partition parts[MAX_PARTITIONS];
    uint32_t nparts;
    struct partition file_part;
    struct partition *cur; /* the partition whose events are being added */
    struct pending *pend;
    size_t npend, cappend;
    uint64_t *seen; /* record ids already on the incidents topic (sorted hashes) */
    size_t nseen;
    uint64_t records, suppressed, delivered, delivery_failed, events, bad_events;
    _Atomic size_t next_narrate;
    struct metrics metrics;
    struct metrics_http *http;
    int failed;
};

static uint64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int already_sent(const struct run *r, const char *rid)
{
    uint64_t h = XXH64(rid, strlen(rid), 0);
    return r->nseen && bsearch(&h, r->seen, r->nseen, sizeof(h), cmp_u64) != NULL;
}

static void on_record(void *arg, const struct incident *inc, enum incident_change ch,
                      uint64_t now_ns)
{
    struct run *r = arg;
    json_t *rec = incident_record(inc, ch, now_ns, r->cur->stream);
    if (!rec) return;
    if (already_sent(r, json_string_value(json_object_get(rec, "record_id")))) {
        r->suppressed++;
        json_decref(rec);
        return;
    }
    if (r->npend == r->cappend) {
        size_t nc = r->cappend ? r->cappend * 2 : 64;
        struct pending *p = realloc(r->pend, nc * sizeof(*p));
        if (!p) {
            json_decref(rec);
            return;
        }
        r->pend = p;
        r->cappend = nc;
    }
    struct pending *p = &r->pend[r->npend++];
    p->record = rec;
    snprintf(p->key, sizeof(p->key), "%s", inc->key);
    /* a narrative when it opens and when it gets worse; updates and closes carry the rules' */
    p->narrate =
        r->llm && (ch == CH_OPEN || (ch == CH_UPDATE && inc->severity > inc->sent_severity));
}

static void *narrator(void *arg)
{
    struct run *r = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&r->next_narrate, 1);
        if (i >= r->npend) return NULL;
        if (r->pend[i].narrate)
            incident_narrate(r->llm, r->pend[i].record, (int)r->o->llm->redact_addresses);
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct run *r = opaque;
    if (m->err) {
        r->delivery_failed++;
        fprintf(stderr, "ticktap enrich: a record was not delivered: %s\n",
                rd_kafka_err2str(m->err));
    } else {
        r->delivered++;
    }
}

/* Narrates (in parallel), writes and produces the pending records, then waits for their
 * delivery. Returns 0 when every record is out, -1 otherwise (nothing may be committed). */
static int flush_pending(struct run *r)
{
    if (!r->npend) return 0;
    if (r->llm) {
        uint32_t n = r->o->llm->concurrency;
        pthread_t th[16];
        if (n > 16) n = 16;
        atomic_store(&r->next_narrate, 0);
        uint32_t started = 0;
        for (; started < n; started++)
            if (pthread_create(&th[started], NULL, narrator, r)) break;
        if (!started) narrator(r);
        for (uint32_t k = 0; k < started; k++)
            pthread_join(th[k], NULL);
    }
    uint64_t failed_before = r->delivery_failed;
    for (size_t i = 0; i < r->npend; i++) {
        char *line = json_dumps(r->pend[i].record, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line && r->o->out) {
            fputs(line, r->o->out);
            fputc('\n', r->o->out);
        }
        if (line && r->prod) {
            rd_kafka_resp_err_t e;
            while ((e = rd_kafka_producev(r->prod, RD_KAFKA_V_TOPIC(r->o->cfg->topic_out),
                                          RD_KAFKA_V_KEY(r->pend[i].key, strlen(r->pend[i].key)),
                                          RD_KAFKA_V_VALUE(line, strlen(line)),
                                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                          RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(r->prod, 100);
            if (e) {
                fprintf(stderr, "ticktap enrich: cannot produce a record: %s\n",
                        rd_kafka_err2str(e));
                r->delivery_failed++;
            }
        }
        free(line);
        json_decref(r->pend[i].record);
        r->records++;
    }
    r->npend = 0;
    if (r->o->out) fflush(r->o->out);
    if (r->prod && rd_kafka_flush(r->prod, 30000)) {
        fprintf(stderr, "ticktap enrich: records still undelivered after 30 s: the broker is "
                        "unreachable; offsets are not committed\n");
        return -1;
    }
    if (r->o->cfg->test_crash_after && r->records >= r->o->cfg->test_crash_after) {
        fprintf(stderr, "ticktap enrich: test: exiting after %" PRIu64 " records, uncommitted\n",
                r->records);
        _exit(3);
    }
    return r->delivery_failed == failed_before ? 0 : -1;
}

static void publish_metrics(struct run *r)
{
    if (!r->http) return;
    struct prom_buf b;
    memset(&b, 0, sizeof(b));
    prom_family(&b, "ticktap_enrich_events_total", "counter", "events read");
    prom_sample(&b, "ticktap_enrich_events_total", NULL, r->events);
    prom_family(&b, "ticktap_enrich_records_total", "counter", "incident records sent");
    prom_sample(&b, "ticktap_enrich_records_total", NULL, r->records);
    prom_family(&b, "ticktap_enrich_records_suppressed_total", "counter",
                "records already on the incidents topic (a replay after a restart)");
    prom_sample(&b, "ticktap_enrich_records_suppressed_total", NULL, r->suppressed);
    prom_family(&b, "ticktap_enrich_delivery_failures_total", "counter", "records not delivered");
    prom_sample(&b, "ticktap_enrich_delivery_failures_total", NULL, r->delivery_failed);
    if (r->llm) {
        struct llm_stats s;
        llm_client_stats(r->llm, &s);
        prom_family(&b, "ticktap_llm_calls_total", "counter", "LLM requests made");
        prom_sample(&b, "ticktap_llm_calls_total", NULL, s.calls);
        prom_family(&b, "ticktap_llm_failures_total", "counter", "LLM calls that gave no answer");
        prom_sample(&b, "ticktap_llm_failures_total", NULL, s.failures);
        prom_family(&b, "ticktap_llm_retries_total", "counter", "LLM requests retried");
        prom_sample(&b, "ticktap_llm_retries_total", NULL, s.retries);
        prom_family(&b, "ticktap_llm_cache_hits_total", "counter", "answers from the cache");
        prom_sample(&b, "ticktap_llm_cache_hits_total", NULL, s.cache_hits);
        prom_family(&b, "ticktap_llm_tokens_total", "counter", "tokens used, by kind");
        struct prom_labels l;
        prom_labels_init(&l);
        prom_label(&l, "kind", "prompt");
        prom_sample(&b, "ticktap_llm_tokens_total", &l, s.tokens_prompt);
        prom_labels_init(&l);
        prom_label(&l, "kind", "completion");
        prom_sample(&b, "ticktap_llm_tokens_total", &l, s.tokens_completion);
        prom_family(&b, "ticktap_llm_latency_seconds_sum", "counter", "time spent in LLM calls");
        prom_sample_f(&b, "ticktap_llm_latency_seconds_sum", NULL, (double)s.latency_sum_ns / 1e9);
        prom_family(&b, "ticktap_llm_latency_seconds_max", "gauge", "the slowest LLM call");
        prom_sample_f(&b, "ticktap_llm_latency_seconds_max", NULL, (double)s.latency_max_ns / 1e9);
        prom_family(&b, "ticktap_llm_budget_requests_left", "gauge",
                    "requests left in this hour's budget (-1: no limit)");
        prom_sample_f(&b, "ticktap_llm_budget_requests_left", NULL, (double)s.requests_left);
        prom_family(&b, "ticktap_llm_budget_tokens_left", "gauge",
                    "tokens left in this hour's budget (-1: no limit)");
        prom_sample_f(&b, "ticktap_llm_budget_tokens_left", NULL, (double)s.tokens_left);
    }
    if (b.p) metrics_set_capture_text(&r->metrics, b.p);
    prom_buf_fini(&b);
}

/* Takes one event line from partition p at offset off. */
static void add_event(struct run *r, struct partition *p, const char *line, size_t len, int64_t off)
{
    json_error_t je;
    json_t *ev = json_loadb(line, len, 0, &je);
    r->events++;
    r->cur = p;
    if (!ev || incident_engine_add(p->eng, ev, off) < 0) r->bad_events++;
    json_decref(ev);
    p->next_offset = off + 1;
    p->idle_since_ns = 0;
}

static int open_engine(struct run *r, struct partition *p)
{
    p->eng = incident_engine_new(r->o->incident, p->stream, on_record, r);
    return p->eng ? 0 : -1;
}

/* ---- a file ----------------------------------------------------------------------------- */

static int run_file(struct run *r)
{
    const struct enrich_options *o = r->o;
    FILE *f = strcmp(o->events_path, "-") ? fopen(o->events_path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "ticktap enrich: %s: cannot open it: %s\n", o->events_path,
                strerror(errno));
        return 1;
    }
    struct partition *p = &r->file_part;
    snprintf(p->stream, sizeof(p->stream), "file:%s", o->events_path);
    if (open_engine(r, p)) {
        fprintf(stderr, "ticktap enrich: out of memory\n");
        if (f != stdin) fclose(f);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t off = 0;
    while ((n = getline(&line, &cap, f)) > 0 && !atomic_load(o->stop)) {
        if (n > 1) add_event(r, p, line, (size_t)n, off);
        off++;
        if (r->npend >= BATCH_EVENTS) flush_pending(r);
    }
    free(line);
    if (f != stdin) fclose(f);
    r->cur = p;
    incident_engine_finish(p->eng);
    flush_pending(r);
    incident_engine_free(p->eng);
    return 0;
}

/* ---- Kafka ------------------------------------------------------------------------------ */

static struct partition *part_of(struct run *r, int32_t id)
{
    for (uint32_t i = 0; i < r->nparts; i++)
        if (r->parts[i].id == id) return &r->parts[i];
    return NULL;
}

/* Commits, for every partition, the replay point (enrich.h). Records must be out first. */
static void commit(struct run *r)
{
    if (flush_pending(r)) return; /* something undelivered: commit nothing */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)r->nparts);
    int any = 0;
    for (uint32_t i = 0; i < r->nparts; i++) {
        struct partition *p = &r->parts[i];
        int64_t at = incident_engine_replay_from(p->eng, p->next_offset);
        if (at < 0 || at <= p->committed) continue;
        rd_kafka_topic_partition_list_add(l, r->o->cfg->topic_in, p->id)->offset = at;
        p->committed = at;
        any = 1;
    }
    if (any) {
        rd_kafka_resp_err_t e = rd_kafka_commit(r->cons, l, 0);
        if (e) fprintf(stderr, "ticktap enrich: commit failed: %s\n", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* The record ids of the incidents topic within the horizon, for the replay's read-back. */
static void load_sent(struct run *r, const char *brokers)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "ticktap-enrich-readback", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) return;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, r->o->cfg->topic_out, NULL);
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) || !md->topic_cnt || md->topics[0].err) {
        if (md) rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(t);
        rd_kafka_destroy(rk);
        return; /* no topic yet: nothing sent */
    }
    int np = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    int64_t since_ms = (int64_t)((wall_ns() - r->o->cfg->dedupe_horizon_ns) / 1000000);
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(l, r->o->cfg->topic_out, md->topics[0].partitions[i].id)
            ->offset = since_ms;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    if (rd_kafka_offsets_for_times(rk, l, 10000)) /* horizon to offsets; else from the start */
        for (int i = 0; i < l->cnt; i++)
            l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].offset < 0) l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    int eof = 0;
    size_t cap = r->nseen;
    uint64_t deadline = wall_ns() + 30 * NS_PER_S;
    while (eof < l->cnt && wall_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof++;
        } else if (!m->err) {
            json_t *rec = json_loadb(m->payload, m->len, 0, NULL);
            const char *rid = json_string_value(json_object_get(rec, "record_id"));
            if (rid) {
                if (r->nseen == cap) {
                    cap = cap ? cap * 2 : 1024;
                    uint64_t *s = realloc(r->seen, cap * sizeof(*s));
                    if (s)
                        r->seen = s;
                    else
                        cap = r->nseen;
                }
                if (r->nseen < cap) r->seen[r->nseen++] = XXH64(rid, strlen(rid), 0);
            }
            json_decref(rec);
        }
        rd_kafka_message_destroy(m);
    }
    if (r->nseen) qsort(r->seen, r->nseen, sizeof(*r->seen), cmp_u64);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *l,
                         void *opaque)
{
    struct run *r = opaque;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        load_sent(r, r->o->brokers);
        for (int i = 0; i < l->cnt && r->nparts < MAX_PARTITIONS; i++) {
            struct partition *p = &r->parts[r->nparts];
            memset(p, 0, sizeof(*p));
            p->id = l->elems[i].partition;
            p->committed = -1;
            snprintf(p->stream, sizeof(p->stream), "%s/%d", l->elems[i].topic, (int)p->id);
            if (open_engine(r, p)) continue;
            r->nparts++;
        }
        rd_kafka_assign(rk, l);
    } else {
        commit(r); /* what is safe; the next owner replays the rest */
        for (uint32_t i = 0; i < r->nparts; i++)
            incident_engine_free(r->parts[i].eng);
        r->nparts = 0;
        rd_kafka_assign(rk, NULL);
    }
}

static int kafka_setup(struct run *r)
{
    const struct enrich_options *o = r->o;
    char err[512], session[32];
    snprintf(session, sizeof(session), "%" PRIu64, o->cfg->session_timeout_ns / 1000000);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", o->brokers, err, sizeof(err)) ||
        rd_kafka_conf_set(c, "session.timeout.ms", session, err, sizeof(err)) ||
        rd_kafka_conf_set(c, "group.id", o->cfg->group_id, err, sizeof(err)) ||
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(c, "auto.offset.reset", "earliest", err, sizeof(err)) ||
        rd_kafka_conf_set(c, "enable.partition.eof", "true", err, sizeof(err))) {
        fprintf(stderr, "ticktap enrich: Kafka consumer: %s\n", err);
        rd_kafka_conf_destroy(c);
        return -1;
    }
    rd_kafka_conf_set_opaque(c, r);
    rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
    if (!(r->cons = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err)))) {
        fprintf(stderr, "ticktap enrich: Kafka consumer: %s\n", err);
        return -1;
    }
    rd_kafka_poll_set_consumer(r->cons);
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    if (rd_kafka_conf_set(pc, "bootstrap.servers", o->brokers, err, sizeof(err)) ||
        rd_kafka_conf_set(pc, "enable.idempotence", "true", err, sizeof(err))) {
        fprintf(stderr, "ticktap enrich: Kafka producer: %s\n", err);
        rd_kafka_conf_destroy(pc);
        return -1;
    }
    rd_kafka_conf_set_opaque(pc, r);
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    if (!(r->prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err)))) {
        fprintf(stderr, "ticktap enrich: Kafka producer: %s\n", err);
        return -1;
    }
    /* a broker that cannot be reached is said now, not after a silent wait */
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(r->prod, 1, NULL, &md, 10000)) {
        fprintf(stderr,
                "ticktap enrich: Kafka brokers %s unreachable (check -k and that the "
                "brokers run)\n",
                o->brokers);
        return -1;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, o->cfg->topic_in, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(r->cons, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (e) {
        fprintf(stderr, "ticktap enrich: cannot subscribe to %s: %s\n", o->cfg->topic_in,
                rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static int run_kafka(struct run *r)
{
    const struct enrich_options *o = r->o;
    if (kafka_setup(r)) return 1;
    uint64_t start = wall_ns(), last_commit = start;
    uint32_t since_commit = 0;
    while (!atomic_load(o->stop) && (!o->duration_ns || wall_ns() - start < o->duration_ns)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->cons, 100);
        uint64_t now = wall_ns();
        if (m) {
            struct partition *p = part_of(r, m->partition);
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (p && !p->idle_since_ns) p->idle_since_ns = now;
            } else if (m->err) {
                fprintf(stderr, "ticktap enrich: %s\n", rd_kafka_message_errstr(m));
            } else if (p) {
                add_event(r, p, m->payload, m->len, m->offset);
                since_commit++;
            }
            rd_kafka_message_destroy(m);
        }
        /* a partition at its end: its time goes on with the wall clock, so quiet incidents
         * close as they would if events kept coming */
        for (uint32_t i = 0; i < r->nparts; i++) {
            struct partition *p = &r->parts[i];
            if (!p->idle_since_ns || now - p->idle_since_ns < NS_PER_S) continue;
            r->cur = p;
            incident_engine_advance(p->eng, incident_engine_now(p->eng) + (now - p->idle_since_ns));
            p->idle_since_ns = now;
        }
        if (since_commit >= BATCH_EVENTS ||
            (now - last_commit > NS_PER_S && (since_commit || r->npend))) {
            commit(r);
            since_commit = 0;
            last_commit = now;
            publish_metrics(r);
        }
    }
    commit(r);
    publish_metrics(r);
    rd_kafka_consumer_close(r->cons);
    for (uint32_t i = 0; i < r->nparts; i++)
        incident_engine_free(r->parts[i].eng);
    r->nparts = 0;
    rd_kafka_flush(r->prod, 10000);
    rd_kafka_destroy(r->prod);
    rd_kafka_destroy(r->cons);
    return r->delivery_failed ? 1 : 0;
}

int enrich_run(const struct enrich_options *o)
{
    struct run *r = calloc(1, sizeof(*r));
    if (!r) return 1;
    r->o = o;
    char err[512];
    int rc = 1;
    if (llm_client_new(o->llm, &r->llm, err, sizeof(err))) {
        fprintf(stderr, "ticktap enrich: %s\n", err);
        goto out;
    }
    if (o->metrics_listen) {
        struct metrics_config mc;
        metrics_config_default(&mc);
        if (metrics_init(&r->metrics, &mc) ||
            metrics_http_start(&r->http, &r->metrics, o->metrics_listen, err, sizeof(err))) {
            fprintf(stderr, "ticktap enrich: metrics: %s\n", err);
            goto out;
        }
        fprintf(stderr, "ticktap enrich: metrics on port %u (/metrics)\n",
                metrics_http_port(r->http));
        publish_metrics(r); /* every family from the start, at zero */
    }
    if (!o->quiet)
        fprintf(stderr, "ticktap enrich: %s%s%s\n",
                r->llm ? "LLM narratives from " : "rule diagnoses only (no llm.base_url)",
                r->llm ? o->llm->model : "", r->llm ? "" : "");
    rc = o->brokers ? run_kafka(r) : run_file(r);
    publish_metrics(r);
    if (!o->quiet) {
        fprintf(stderr,
                "ticktap enrich: %" PRIu64 " events, %" PRIu64 " records sent, %" PRIu64
                " already sent before (a replay), %" PRIu64 " not delivered\n",
                r->events, r->records, r->suppressed, r->delivery_failed);
        if (r->llm) {
            struct llm_stats s;
            llm_client_stats(r->llm, &s);
            fprintf(stderr,
                    "ticktap enrich: LLM: %" PRIu64 " calls, %" PRIu64 " failed, %" PRIu64
                    " retries, %" PRIu64 " from the cache, %" PRIu64 " tokens\n",
                    s.calls, s.failures, s.retries, s.cache_hits,
                    s.tokens_prompt + s.tokens_completion);
        }
    }
out:
    if (r->http) metrics_http_stop(r->http);
    if (o->metrics_listen) metrics_fini(&r->metrics);
    llm_client_free(r->llm);
    free(r->pend);
    free(r->seen);
    free(r);
    return rc;
}
