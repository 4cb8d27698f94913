/* sink_kafka.c - the Kafka sink (see sink_kafka.h), on librdkafka's producer API. */
#include "sink_kafka.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../util/clock.h"

/* One message waiting in the FIFO or in librdkafka; the delivery report frees it. */
struct kafka_msg {
    uint64_t produced_ns; /* CLOCK_MONOTONIC when librdkafka took it */
    uint64_t ts_ns;       /* the packet time of the event (0: a stats record) */
    uint16_t type;
    uint8_t topic; /* enum kafka_topic */
    char key[64];
    uint32_t len;
    char json[];
};

struct kafka_sink {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topics[KAFKA_TOPICS];
    struct kafka_config cfg;
    struct kafka_stats st;
    char bootstrap[512];
    char host[256];
    rd_kafka_t *mock_owner; /* the mock cluster lives on its own handle: it outlives producers */
    rd_kafka_mock_cluster_t *mock;
    int outage; /* 0: none planned, 1: planned, 2: brokers down, 3: over */
    uint64_t outage_end_ns;
    /* the FIFO of messages librdkafka has not taken yet */
    struct kafka_msg **fifo;
    uint32_t fifo_cap, fifo_head, fifo_n;
    int live;
    int wait_when_full;
    int stalled; /* a wait ran out: do not wait again until a message is delivered */
    int closing; /* purged at close: reports are undelivered, not failed */
    /* after a fatal error: the dead producer's messages, taken back to send again */
    struct kafka_msg **taken;
    size_t ntaken, taken_cap;
    struct hist delivery, e2e;
};

static void mock_brokers(struct kafka_sink *k, int up)
{
    for (uint32_t b = 1; b <= (k->cfg.mock_brokers ? k->cfg.mock_brokers : 1); b++) {
        if (up)
            rd_kafka_mock_broker_set_up(k->mock, (int32_t)b);
        else
            rd_kafka_mock_broker_set_down(k->mock, (int32_t)b);
    }
}

/* The planned outage: down at the first message, up again when its time is over. */
static void outage_step(struct kafka_sink *k)
{
    if (k->outage == 1) {
        mock_brokers(k, 0);
        k->outage = 2;
        k->outage_end_ns = mono_ns() + k->cfg.mock_outage_ns;
    } else if (k->outage == 2 && mono_ns() >= k->outage_end_ns) {
        mock_brokers(k, 1);
        k->outage = 3;
    }
}

void kafka_config_default(struct kafka_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mock_brokers = 3;
    snprintf(cfg->topic_events, sizeof(cfg->topic_events), "ticktap.events");
    snprintf(cfg->topic_flows, sizeof(cfg->topic_flows), "ticktap.flows");
    snprintf(cfg->topic_stats, sizeof(cfg->topic_stats), "ticktap.stats");
    cfg->stats_interval_ns = 10ull * 1000000000ull;
    cfg->buffer_messages = 100000;
    cfg->inflight_messages = 10000;
    snprintf(cfg->overflow, sizeof(cfg->overflow), "drop_newest");
    cfg->flush_timeout_ns = 10ull * 1000000000ull;
}

static int read_secret(const char *spec, char *out, size_t outlen, char *err, size_t errlen)
{
    if (!strncmp(spec, "env:", 4)) {
        const char *v = getenv(spec + 4);
        if (!v) {
            snprintf(err, errlen, "environment variable %s is not set", spec + 4);
            return -1;
        }
        snprintf(out, outlen, "%s", v);
        return 0;
    }
    FILE *f = fopen(spec + 5, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", spec + 5, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, outlen - 1, f);
    fclose(f);
    out[n] = 0;
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = 0;
    return 0;
}

int kafka_config_add_property(struct kafka_config *cfg, const char *assignment, char *err,
                              size_t errlen)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        snprintf(err, errlen, "kafka property '%s': expected name=value", assignment);
        return -1;
    }
    if (cfg->nprops >= KAFKA_MAX_PROPS) {
        snprintf(err, errlen, "more than %d kafka properties", KAFKA_MAX_PROPS);
        return -1;
    }
    char(*p)[256] = cfg->props[cfg->nprops];
    snprintf(p[0], sizeof(p[0]), "%.*s", (int)(eq - assignment), assignment);
    const char *val = eq + 1;
    if (!strncmp(val, "env:", 4) || !strncmp(val, "file:", 5)) {
        if (read_secret(val, p[1], sizeof(p[1]), err, errlen)) return -1;
    } else {
        snprintf(p[1], sizeof(p[1]), "%s", val);
    }
    cfg->nprops++;
    return 0;
}

static uint64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Delivery report: the one place a message's fate is decided, and its memory freed. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka_sink *k = opaque;
    struct kafka_msg *msg = m->_private;
    uint64_t now = mono_ns();
    k->st.last_report_ns = now;
    char fatal[8];
    if (m->err && msg && !k->closing && rd_kafka_fatal_error(rk, fatal, sizeof(fatal))) {
        /* the producer is dead, not the message: the next producer sends it */
        if (k->ntaken == k->taken_cap) {
            size_t cap = k->taken_cap ? k->taken_cap * 2 : 1024;
            struct kafka_msg **t = realloc(k->taken, cap * sizeof(*t));
            if (t) {
                k->taken = t;
                k->taken_cap = cap;
            }
        }
        if (k->ntaken < k->taken_cap) {
            k->taken[k->ntaken++] = msg;
            return;
        }
    }
    if (k->closing &&
        (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)) {
        /* counted as undelivered by kafka_sink_flush */
    } else if (m->err) {
        k->st.failed++;
        snprintf(k->st.last_error, sizeof(k->st.last_error), "%s", rd_kafka_err2str(m->err));
    } else {
        k->st.delivered++;
        k->stalled = 0;
        if (msg) {
            hist_add(&k->delivery, now - msg->produced_ns);
            uint64_t w = wall_ns();
            if (k->live && msg->ts_ns && w > msg->ts_ns) hist_add(&k->e2e, w - msg->ts_ns);
        }
    }
    free(msg);
}

/* librdkafka's own log lines would repeat our errors in its words: only with TICKTAP_DEBUG. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    static int debug = -1;
    if (debug < 0) debug = getenv("TICKTAP_DEBUG") != NULL;
    if (debug) fprintf(stderr, "librdkafka %d %s: %s\n", level, fac, buf);
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err, size_t errlen)
{
    char why[512];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        /* never echo the value: it may be a secret */
        snprintf(err, errlen, "kafka property '%s': %s", name, why);
        return -1;
    }
    return 0;
}

/* librdkafka's threads (the mock cluster's brokers among them) are born with every signal
 * blocked: a SIGINT meant for the agent, landing in a broker thread, broke that broker's
 * connections and stranded its partitions' messages at the final flush. */
static rd_kafka_t *new_handle(rd_kafka_conf_t *conf, char *why, size_t whylen)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, whylen);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rk;
}

/* The producer and its topics; called at open and after a fatal error. */
static int producer_create(struct kafka_sink *k, char *err, size_t errlen)
{
    const struct kafka_config *cfg = &k->cfg;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char inflight[16];
    snprintf(inflight, sizeof(inflight), "%u", cfg->inflight_messages ? cfg->inflight_messages : 1);
    if (set(conf, "bootstrap.servers", k->bootstrap, err, errlen) ||
        set(conf, "enable.idempotence", "true", err, errlen) ||
        set(conf, "compression.codec", "lz4", err, errlen) ||
        set(conf, "linger.ms", "5", err, errlen) ||
        set(conf, "queue.buffering.max.messages", inflight, err, errlen) ||
        /* Come back quickly after an outage: librdkafka's default backoff grows to 10 s,
         * which outlasts a short broker restart by far. */
        set(conf, "reconnect.backoff.max.ms", "1000", err, errlen) ||
        set(conf, "retry.backoff.ms", "100", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < cfg->nprops; i++)
        if (set(conf, cfg->props[i][0], cfg->props[i][1], err, errlen)) {
            rd_kafka_conf_destroy(conf);
            return -EINVAL;
        }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, k);
    char why[512];
    k->rk = new_handle(conf, why, sizeof(why));
    if (!k->rk) {
        snprintf(err, errlen, "cannot create the Kafka producer: %s", why);
        rd_kafka_conf_destroy(conf);
        return -EINVAL;
    }
    k->topics[KAFKA_EVENTS] = rd_kafka_topic_new(k->rk, cfg->topic_events, NULL);
    k->topics[KAFKA_FLOWS] = rd_kafka_topic_new(k->rk, cfg->topic_flows, NULL);
    k->topics[KAFKA_STATS] = rd_kafka_topic_new(k->rk, cfg->topic_stats, NULL);
    return 0;
}

static void producer_destroy(struct kafka_sink *k)
{
    for (int t = 0; t < KAFKA_TOPICS; t++)
        if (k->topics[t]) rd_kafka_topic_destroy(k->topics[t]);
    memset(k->topics, 0, sizeof(k->topics));
    if (k->rk) rd_kafka_destroy(k->rk);
    k->rk = NULL;
}

static int mock_create(struct kafka_sink *k, char *err, size_t errlen)
{
    char why[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, on_log);
    k->mock_owner = new_handle(conf, why, sizeof(why));
    if (!k->mock_owner) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "cannot start the Kafka mock cluster: %s", why);
        return -EINVAL;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    k->mock = rd_kafka_mock_cluster_new(k->mock_owner,
                                        (int)(k->cfg.mock_brokers ? k->cfg.mock_brokers : 1));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!k->mock) {
        snprintf(err, errlen, "cannot start the Kafka mock cluster");
        return -EINVAL;
    }
    snprintf(k->bootstrap, sizeof(k->bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(k->mock));
    k->outage = k->cfg.mock_outage_ns ? 1 : 0;
    return 0;
}

int kafka_sink_open(struct kafka_sink **out, const struct kafka_config *cfg, char *err,
                    size_t errlen)
{
    struct kafka_sink *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    k->cfg = *cfg;
    if (gethostname(k->host, sizeof(k->host))) snprintf(k->host, sizeof(k->host), "unknown");
    k->fifo_cap = cfg->buffer_messages ? cfg->buffer_messages : 1;
    k->fifo = calloc(k->fifo_cap, sizeof(*k->fifo));
    hist_init(&k->delivery);
    hist_init(&k->e2e);
    int rc = -ENOMEM;
    if (!k->fifo) {
        snprintf(err, errlen, "out of memory for kafka.buffer_messages=%u", k->fifo_cap);
        goto fail;
    }
    if (!strcmp(cfg->brokers, "mock"))
        rc = mock_create(k, err, errlen);
    else
        rc = (snprintf(k->bootstrap, sizeof(k->bootstrap), "%s", cfg->brokers), 0);
    if (rc || (rc = producer_create(k, err, errlen))) goto fail;
    *out = k;
    return 0;
fail:
    kafka_sink_close(k);
    return rc;
}

const char *kafka_sink_bootstrap(const struct kafka_sink *k)
{
    return k->bootstrap;
}

void kafka_sink_set_mode(struct kafka_sink *k, int live, int wait_when_full)
{
    k->live = live;
    k->wait_when_full = wait_when_full;
}

static void check_fatal(struct kafka_sink *k);

/* Hands waiting messages to librdkafka, oldest first, while it takes them. */
static void pump(struct kafka_sink *k)
{
    while (k->fifo_n && k->rk) {
        struct kafka_msg *msg = k->fifo[k->fifo_head];
        const char *type =
            msg->type == UINT16_MAX ? "stats" : event_type_name((enum event_type)msg->type);
        msg->produced_ns = mono_ns();
        /* no copy and no free flag: the payload stays ours until its delivery report */
        rd_kafka_resp_err_t rc = rd_kafka_producev(
            k->rk, RD_KAFKA_V_RKT(k->topics[msg->topic]),
            RD_KAFKA_V_KEY(msg->key, strlen(msg->key)), RD_KAFKA_V_VALUE(msg->json, msg->len),
            RD_KAFKA_V_OPAQUE(msg), RD_KAFKA_V_HEADER("schema_version", TT_SCHEMA_VERSION, -1),
            RD_KAFKA_V_HEADER("type", type, -1), RD_KAFKA_V_HEADER("host", k->host, -1),
            RD_KAFKA_V_END);
        if (rc == RD_KAFKA_RESP_ERR__QUEUE_FULL || rc == RD_KAFKA_RESP_ERR__FATAL)
            return; /* librdkafka holds inflight_messages, or a new producer is due: wait */
        k->fifo[k->fifo_head] = NULL;
        k->fifo_head = (k->fifo_head + 1) % k->fifo_cap;
        k->fifo_n--;
        if (rc) {
            k->st.failed++;
            snprintf(k->st.last_error, sizeof(k->st.last_error), "%s", rd_kafka_err2str(rc));
            free(msg);
        }
    }
}

static void enqueue(struct kafka_sink *k, enum kafka_topic topic, const char *key, uint16_t type,
                    uint64_t ts_ns, const char *json, size_t len)
{
    if (len && json[len - 1] == '\n') len--;
    if (k->outage == 1) outage_step(k);
    k->st.offered++;
    if (k->fifo_n == k->fifo_cap && k->wait_when_full && !k->stalled) {
        /* back-pressure: serve reports until librdkafka takes some, while it makes progress */
        uint64_t last = k->st.delivered + k->st.failed, since = mono_ns();
        while (k->fifo_n == k->fifo_cap && k->rk && mono_ns() - since < k->cfg.flush_timeout_ns) {
            if (k->outage == 2) outage_step(k);
            rd_kafka_poll(k->rk, 5);
            check_fatal(k);
            pump(k);
            if (k->st.delivered + k->st.failed != last) {
                last = k->st.delivered + k->st.failed;
                since = mono_ns();
            }
        }
        k->stalled = k->fifo_n == k->fifo_cap;
    }
    if (k->cfg.test_fatal_after && k->st.offered == k->cfg.test_fatal_after && k->rk)
        rd_kafka_test_fatal_error(k->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                  "raised by kafka.test_fatal_after");
    if (k->fifo_n == k->fifo_cap) {
        if (!k->cfg.drop_oldest) {
            k->st.dropped_queue_full++;
            return;
        }
        free(k->fifo[k->fifo_head]);
        k->fifo[k->fifo_head] = NULL;
        k->fifo_head = (k->fifo_head + 1) % k->fifo_cap;
        k->fifo_n--;
        k->st.dropped_oldest++;
    }
    struct kafka_msg *msg = malloc(sizeof(*msg) + len);
    if (!msg) {
        k->st.failed++;
        snprintf(k->st.last_error, sizeof(k->st.last_error), "out of memory");
        return;
    }
    msg->ts_ns = ts_ns;
    msg->type = type;
    msg->topic = (uint8_t)topic;
    snprintf(msg->key, sizeof(msg->key), "%s", key);
    msg->len = (uint32_t)len;
    memcpy(msg->json, json, len);
    k->fifo[(k->fifo_head + k->fifo_n) % k->fifo_cap] = msg;
    k->fifo_n++;
    pump(k);
}

void kafka_sink_send(struct kafka_sink *k, const struct event *e, const char *json, size_t len)
{
    char key[24];
    snprintf(key, sizeof(key), "%016llx", (unsigned long long)e->flow_id);
    /* a flow record's time is its last packet, long before it ends: only events are timed
     * from packet to delivery */
    enqueue(k, e->type == EV_FLOW ? KAFKA_FLOWS : KAFKA_EVENTS, key, e->type,
            e->type == EV_FLOW ? 0 : e->ts_ns, json, len);
}

void kafka_sink_send_stats(struct kafka_sink *k, uint64_t ts_ns, const char *json, size_t len)
{
    (void)ts_ns; /* a stats record's time is the wall clock, not a packet's */
    enqueue(k, KAFKA_STATS, k->host, UINT16_MAX, 0, json, len);
}

/* Takes every message back from librdkafka: each gets its report (which frees it). */
static void purge_all(struct kafka_sink *k)
{
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (int i = 0; i < 200 && rd_kafka_outq_len(k->rk) > 0; i++)
        rd_kafka_poll(k->rk, 10);
}

/* A fatal error (the idempotent producer lost its guarantees) ends the producer instance:
 * its messages fail with the reason, and a new producer takes over the FIFO. */
static void check_fatal(struct kafka_sink *k)
{
    char why[512];
    rd_kafka_resp_err_t fe = rd_kafka_fatal_error(k->rk, why, sizeof(why));
    if (!fe) return;
    fprintf(stderr, "kafka: fatal producer error (%s): %s; recreating the producer\n",
            rd_kafka_err2name(fe), why);
    /* Its messages come back through their reports and go to the front of the FIFO, in
     * their order: at least once (one in flight may arrive twice), never silently lost. */
    purge_all(k);
    for (size_t i = k->ntaken; i-- > 0;) {
        if (k->fifo_n == k->fifo_cap) { /* no room: it fails, counted */
            k->st.failed++;
            free(k->taken[i]);
            continue;
        }
        k->fifo_head = (k->fifo_head + k->fifo_cap - 1) % k->fifo_cap;
        k->fifo[k->fifo_head] = k->taken[i];
        k->fifo_n++;
    }
    k->ntaken = 0;
    producer_destroy(k);
    char err[512];
    if (producer_create(k, err, sizeof(err))) {
        fprintf(stderr, "kafka: %s\n", err);
        return;
    }
    k->st.fatal_restarts++;
    snprintf(k->st.last_error, sizeof(k->st.last_error), "fatal: %s", why);
}

void kafka_sink_poll(struct kafka_sink *k)
{
    if (!k->rk) return;
    if (k->outage == 2) outage_step(k);
    rd_kafka_poll(k->rk, 0);
    check_fatal(k);
    if (k->rk) pump(k);
}

void kafka_sink_stats(struct kafka_sink *k, struct kafka_stats *st)
{
    *st = k->st;
    st->queued = k->fifo_n + (k->rk ? (uint64_t)rd_kafka_outq_len(k->rk) : 0);
}

const struct hist *kafka_sink_delivery_hist(const struct kafka_sink *k)
{
    return &k->delivery;
}

const struct hist *kafka_sink_e2e_hist(const struct kafka_sink *k)
{
    return &k->e2e;
}

void kafka_sink_flush(struct kafka_sink *k, struct kafka_stats *st)
{
    while (k->outage == 2) { /* the planned outage must end before the flush timer starts */
        outage_step(k);
        rd_kafka_poll(k->rk, 10);
    }
    /* librdkafka's flush only covers what it holds: feed it the FIFO until the time is up */
    uint64_t deadline = mono_ns() + k->cfg.flush_timeout_ns;
    while (k->rk && mono_ns() < deadline) {
        kafka_sink_poll(k);
        if (!k->fifo_n && rd_kafka_outq_len(k->rk) == 0) break;
        rd_kafka_poll(k->rk, 5);
    }
    if (k->rk) rd_kafka_poll(k->rk, 0);
    kafka_sink_stats(k, st);
    st->undelivered = st->queued;
    k->st.undelivered = st->undelivered;
}

void kafka_sink_close(struct kafka_sink *k)
{
    if (!k) return;
    if (k->rk) { /* what is left is undelivered (counted at the flush): free it */
        k->closing = 1;
        purge_all(k);
    }
    producer_destroy(k);
    for (uint32_t i = 0; k->fifo && i < k->fifo_n; i++)
        free(k->fifo[(k->fifo_head + i) % k->fifo_cap]);
    free(k->fifo);
    free(k->taken);
    if (k->mock) rd_kafka_mock_cluster_destroy(k->mock);
    if (k->mock_owner) rd_kafka_destroy(k->mock_owner);
    free(k);
}
