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

struct kafka_sink {
    rd_kafka_t *rk;
    rd_kafka_topic_t *t_events;
    rd_kafka_topic_t *t_flows;
    struct kafka_config cfg;
    struct kafka_stats st;
    char bootstrap[512];
    char host[256];
    rd_kafka_mock_cluster_t *mock;
    int outage; /* 0: none planned, 1: planned, 2: brokers down, 3: over */
    uint64_t outage_end_ns;
};

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

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
        if (read_secret(val, p[1], sizeof(p[1]), err, errlen))
            return -1;
    } else {
        snprintf(p[1], sizeof(p[1]), "%s", val);
    }
    cfg->nprops++;
    return 0;
}

/* Delivery report: the one place a message's fate is decided. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct kafka_sink *k = opaque;
    if (m->err) {
        k->st.failed++;
        snprintf(k->st.last_error, sizeof(k->st.last_error), "%s", rd_kafka_err2str(m->err));
    } else {
        k->st.delivered++;
    }
}

/* librdkafka's own log lines would repeat our errors in its words: only with TICKTAP_DEBUG. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    static int debug = -1;
    if (debug < 0)
        debug = getenv("TICKTAP_DEBUG") != NULL;
    if (debug)
        fprintf(stderr, "librdkafka %d %s: %s\n", level, fac, buf);
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
               size_t errlen)
{
    char why[512];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        /* never echo the value: it may be a secret */
        snprintf(err, errlen, "kafka property '%s': %s", name, why);
        return -1;
    }
    return 0;
}

int kafka_sink_open(struct kafka_sink **out, const struct kafka_config *cfg, char *err,
                    size_t errlen)
{
    struct kafka_sink *k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->cfg = *cfg;
    if (gethostname(k->host, sizeof(k->host)))
        snprintf(k->host, sizeof(k->host), "unknown");
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char num[16];
    int mock = !strcmp(cfg->brokers, "mock");
    snprintf(num, sizeof(num), "%u", cfg->mock_brokers ? cfg->mock_brokers : 1);
    if ((mock ? set(conf, "test.mock.num.brokers", num, err, errlen)
              : set(conf, "bootstrap.servers", cfg->brokers, err, errlen)) ||
        set(conf, "enable.idempotence", "true", err, errlen) ||
        set(conf, "compression.codec", "lz4", err, errlen) ||
        set(conf, "linger.ms", "5", err, errlen) ||
        set(conf, "queue.buffering.max.messages", "1000000", err, errlen) ||
        /* Come back quickly after an outage: librdkafka's default backoff grows to 10 s,
         * which outlasts a short broker restart by far. */
        set(conf, "reconnect.backoff.max.ms", "1000", err, errlen) ||
        set(conf, "retry.backoff.ms", "100", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        free(k);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < cfg->nprops; i++)
        if (set(conf, cfg->props[i][0], cfg->props[i][1], err, errlen)) {
            rd_kafka_conf_destroy(conf);
            free(k);
            return -EINVAL;
        }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, k);
    char why[512];
    /* librdkafka's threads (the mock cluster's brokers among them) are born with every signal
     * blocked: a SIGINT meant for the agent, landing in a broker thread, broke that broker's
     * connections and stranded its partitions' messages at the final flush. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!k->rk) {
        snprintf(err, errlen, "cannot create the Kafka producer: %s", why);
        rd_kafka_conf_destroy(conf);
        free(k);
        return -EINVAL;
    }
    if (mock) {
        rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(k->rk);
        snprintf(k->bootstrap, sizeof(k->bootstrap), "%s",
                 mc ? rd_kafka_mock_cluster_bootstraps(mc) : "?");
        k->mock = mc;
        k->outage = mc && cfg->mock_outage_ns ? 1 : 0;
    } else {
        snprintf(k->bootstrap, sizeof(k->bootstrap), "%s", cfg->brokers);
    }
    k->t_events = rd_kafka_topic_new(k->rk, cfg->topic_events, NULL);
    k->t_flows = rd_kafka_topic_new(k->rk, cfg->topic_flows, NULL);
    *out = k;
    return 0;
}

const char *kafka_sink_bootstrap(const struct kafka_sink *k)
{
    return k->bootstrap;
}

void kafka_sink_send(struct kafka_sink *k, const struct event *e, const char *json, size_t len)
{
    char key[24];
    snprintf(key, sizeof(key), "%016llx", (unsigned long long)e->flow_id);
    const char *type = event_type_name((enum event_type)e->type);
    if (len && json[len - 1] == '\n')
        len--;
    if (k->outage == 1)
        outage_step(k);
    k->st.offered++;
    rd_kafka_topic_t *topic = e->type == EV_FLOW ? k->t_flows : k->t_events;
    rd_kafka_resp_err_t rc = rd_kafka_producev(
        k->rk, RD_KAFKA_V_RKT(topic),
        RD_KAFKA_V_KEY(key, 16), RD_KAFKA_V_VALUE((void *)json, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADER("schema_version", TT_SCHEMA_VERSION, -1),
        RD_KAFKA_V_HEADER("type", type, -1), RD_KAFKA_V_HEADER("host", k->host, -1),
        RD_KAFKA_V_END);
    if (rc == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        k->st.dropped_queue_full++;
    } else if (rc) {
        k->st.failed++;
        snprintf(k->st.last_error, sizeof(k->st.last_error), "%s", rd_kafka_err2str(rc));
    }
}

void kafka_sink_poll(struct kafka_sink *k)
{
    if (k->outage == 2)
        outage_step(k);
    rd_kafka_poll(k->rk, 0);
}

void kafka_sink_flush(struct kafka_sink *k, struct kafka_stats *st)
{
    while (k->outage == 2) { /* the planned outage must end before the flush timer starts */
        outage_step(k);
        rd_kafka_poll(k->rk, 10);
    }
    rd_kafka_flush(k->rk, (int)(k->cfg.flush_timeout_ns / 1000000ull));
    rd_kafka_poll(k->rk, 0);
    k->st.undelivered = (uint64_t)rd_kafka_outq_len(k->rk);
    *st = k->st;
}

void kafka_sink_close(struct kafka_sink *k)
{
    if (!k)
        return;
    rd_kafka_topic_destroy(k->t_events);
    rd_kafka_topic_destroy(k->t_flows);
    rd_kafka_destroy(k->rk);
    free(k);
}
