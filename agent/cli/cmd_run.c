/* cmd_run.c - `ticktap run`: the long-running live capture agent.
 *
 * Attaches to the configured interfaces (host, tap or pcap mode), runs the shared pipeline
 * until SIGINT/SIGTERM (or --duration), then detaches everything, flushes what it holds and
 * reports. SIGHUP re-reads the config file and swaps the rules in place. Every
 * capture.stats_interval the capture counters are read: frames lost anywhere on the way in
 * become capture.saturated events.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../live/live_capture.h"
#include "../pipeline/pipeline.h"
#include "../report/report.h"
#include "../trading/trading.h"
#include "cli.h"

static _Atomic int stop_flag;
static _Atomic int reload_flag;

static void on_stop(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

static void on_hup(int sig)
{
    (void)sig;
    atomic_store(&reload_flag, 1);
}

struct run_state {
    struct tt_config cfg;
    const char *config_path;
    const char **sets;
    int nsets;
    struct live_capture capture;
    uint64_t next_stats_ns;   /* losses are read every capture.stats_interval */
    uint64_t next_metrics_ns; /* and for /metrics every metrics.publish_interval */
    struct metrics *metrics;  /* NULL: no /metrics endpoint */
};

struct run_args {
    const char *sets[64], *events_path, *summary_path, *kafka_brokers, *metrics_addr;
    int nsets, quiet, check_only;
    double duration;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ticktap run --config FILE [options]\n"
        "\n"
        "Captures live on the interfaces of the config (capture.interfaces: host, tap or\n"
        "pcap mode) through the same analysis as 'ticktap analyze', until SIGINT/SIGTERM.\n"
        "SIGHUP re-reads the config and replaces the rules without detaching.\n"
        "\n"
        "  -c, --config FILE     YAML config (example: examples/ticktap.yaml)\n"
        "      --set KEY=VALUE   override one setting\n"
        "  -e, --events PATH     write every event and flow record as JSON lines ('-': stdout)\n"
        "  -s, --summary PATH    write the summary JSON at the end ('-': stdout)\n"
        "  -k, --kafka BROKERS   also stream events to Kafka ('mock': a mock cluster inside)\n"
        "  -m, --metrics ADDR    serve Prometheus /metrics and /healthz (metrics.listen)\n"
        "  -d, --duration SEC    stop after SEC seconds\n"
        "  -q, --quiet           no human summary\n"
        "      --check-config    check the config (and --set) and exit: 0 valid, 1 not\n"
        "\n"
        "Needs root (or CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON; CAP_NET_RAW for pcap mode).\n"
        "exit status: 0 ran and detached; 1 bad usage or config; 2 could not attach or\n"
        "             capture (privileges, interface, XDP mode); 4 an output could not be\n"
        "             written; 5 Kafka did not take every message\n");
}

static int load_config(struct tt_config *cfg, const char *path, const char **sets, int nsets,
                       char *err, size_t errlen)
{
    config_defaults(cfg);
    cfg->overflow_block = 0; /* live frames cannot wait for a slow sink: drop and count */
    if (path && config_load_file(cfg, path, err, errlen)) return -1;
    for (int i = 0; i < nsets; i++)
        if (config_set(cfg, sets[i], err, errlen)) return -1;
    if (config_finish(cfg, err, errlen)) return -1;
    if (!cfg->live.nifaces) {
        snprintf(err, errlen,
                 "%s: no capture.interfaces: name at least one (see examples/ticktap.yaml)",
                 path ? path : "config");
        return -1;
    }
    return 0;
}

/* SIGHUP: the rules of the re-read config replace the running ones; a config that does not
 * load leaves them alone. */
static void reload_rules(struct run_state *rs)
{
    struct tt_config *fresh = malloc(sizeof(*fresh));
    char err[1024];
    if (!fresh) return;
    if (load_config(fresh, rs->config_path, rs->sets, rs->nsets, err, sizeof(err))) {
        fprintf(stderr, "ticktap: reload: %s (keeping the running rules)\n", err);
        rs->capture.reload_failures++;
    } else if (live_capture_reload(&rs->capture, fresh) == 0) {
        fprintf(stderr, "ticktap: reloaded %s: %u rule(s)\n", rs->config_path, fresh->live.nrules);
    }
    free(fresh);
}

/* The pipeline's tick on the sink thread: a pending reload, the capture's families for
 * /metrics, and every capture.stats_interval the losses as capture.saturated events. */
static int run_tick(void *arg, struct event *out, int max)
{
    struct run_state *rs = arg;
    if (atomic_exchange(&reload_flag, 0)) reload_rules(rs);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    uint64_t now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
    int stopping = atomic_load(&stop_flag); /* a last read */
    if (rs->metrics && (now >= rs->next_metrics_ns || stopping)) {
        live_capture_metrics(&rs->capture, rs->metrics);
        rs->next_metrics_ns = now + rs->cfg.metrics.publish_interval_ns;
    }
    if (now < rs->next_stats_ns && !stopping) return 0;
    rs->next_stats_ns = now + rs->cfg.stats_interval_ns;
    int n = live_capture_saturation(&rs->capture, out, max);
    if (stopping) return n; /* no hand-off on the way out */
    return n + live_capture_handoff(&rs->capture, now, out + n, max - n);
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct run_args *a, struct run_state *rs)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 'S'},
        {"events", required_argument, NULL, 'e'},
        {"summary", required_argument, NULL, 's'},
        {"kafka", required_argument, NULL, 'k'},
        {"duration", required_argument, NULL, 'd'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"metrics", required_argument, NULL, 'm'},
        {"check-config", no_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:e:s:k:d:qhm:", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            rs->config_path = optarg;
            break;
        case 'S':
            if (a->nsets < 64) a->sets[a->nsets++] = optarg;
            break;
        case 'e':
            a->events_path = optarg;
            break;
        case 's':
            a->summary_path = optarg;
            break;
        case 'k':
            a->kafka_brokers = optarg;
            break;
        case 'm':
            a->metrics_addr = optarg;
            break;
        case 'd': {
            char *end;
            a->duration = strtod(optarg, &end);
            if (*end || a->duration <= 0) {
                fprintf(stderr, "ticktap run: --duration '%s': give seconds\n", optarg);
                return 1;
            }
            break;
        }
        case 'q':
            a->quiet = 1;
            break;
        case 'C':
            a->check_only = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (!rs->config_path && !a->nsets) {
        fprintf(stderr, "ticktap run: give --config FILE (example: examples/ticktap.yaml)\n");
        return 1;
    }
    rs->sets = a->sets;
    rs->nsets = a->nsets;
    char err[1024];
    if (load_config(&rs->cfg, rs->config_path, a->sets, a->nsets, err, sizeof(err))) {
        fprintf(stderr, "ticktap: %s\n", err);
        return 1;
    }
    trading_set_timezone(&rs->cfg.trading); /* the workers read it: set before they start */
    if (a->kafka_brokers)
        snprintf(rs->cfg.kafka.brokers, sizeof(rs->cfg.kafka.brokers), "%s", a->kafka_brokers);
    if (a->metrics_addr)
        snprintf(rs->cfg.metrics.listen, sizeof(rs->cfg.metrics.listen), "%s", a->metrics_addr);
    if (a->check_only) { /* what a deployment checks before it rolls out: nothing attached */
        printf("%s: valid: %u interface(s), %u rule(s)\n",
               rs->config_path ? rs->config_path : "config", rs->cfg.live.nifaces,
               rs->cfg.live.nrules);
        return 0;
    }
    return -1;
}

/* Signals before attaching: a stop during set-up still detaches cleanly. */
static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
}

/* --duration: a SIGALRM once attached. */
static void stop_after(double duration)
{
    if (duration > 0) {
        struct itimerval it = {
            {0, 0}, {(time_t)duration, (suseconds_t)((duration - (double)(time_t)duration) * 1e6)}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
}

static void print_human(struct run_state *rs, const struct run_args *a, struct run_result *res)
{
    FILE *hout = cli_human_stream(a->events_path, a->summary_path);
    char title[256] = "live:";
    for (uint32_t i = 0; i < rs->capture.nifs; i++) {
        strncat(title, " ", sizeof(title) - strlen(title) - 1);
        strncat(title, rs->capture.ifs[i].cfg.name, sizeof(title) - strlen(title) - 1);
    }
    report_print_human(res, title, hout);
    live_capture_print(res->capture_json, hout);
}

int cmd_run(int argc, char **argv)
{
    static struct run_state rs; /* large (config with rules): not on the stack */
    static struct run_args a;
    static struct cli_metrics cm;
    memset(&rs, 0, sizeof(rs));
    memset(&a, 0, sizeof(a));
    int status = parse_args(argc, argv, &a, &rs);
    if (status >= 0) return status;
    struct tt_config *cfg = &rs.cfg;
    char err[1024];
    FILE *events_out = NULL;
    struct kafka_sink *kafka = NULL;
    int metrics_on = 0, attached = 0, have_result = 0;
    struct run_result res;
    status = 4; /* outputs are known writable before any frame is taken */
    if (cli_output_check(a.summary_path, "summary")) goto out;
    events_out = cli_events_open(a.events_path, 1);
    if (a.events_path && !events_out) goto out;
    status = 1;
    if (cfg->kafka.brokers[0]) {
        if (kafka_sink_open(&kafka, &cfg->kafka, err, sizeof(err))) {
            fprintf(stderr, "ticktap: %s\n", err);
            goto out;
        }
        fprintf(stderr, "kafka: streaming to %s\n", kafka_sink_bootstrap(kafka));
    }
    if (cli_metrics_start(&cm, cfg)) goto out;
    metrics_on = 1;
    rs.metrics = cm.on ? &cm.reg : NULL;
    catch_signals();
    attached = 1;
    if ((status = live_capture_open(&rs.capture, cfg, err, sizeof(err)))) {
        fprintf(stderr, "ticktap: %s\n", err);
        goto out;
    }
    int finite = live_capture_finite(&rs.capture);
    if (finite) cfg->overflow_block = 1; /* replayed files wait for the analysis, as files do */
    stop_after(a.duration);
    fprintf(stderr, "ticktap: capturing with %u rule(s); Ctrl-C to stop, SIGHUP to reload\n",
            cfg->live.nrules);
    struct run_options opt = {
        .live = rs.capture.pipe,
        .nlive = (int)rs.capture.nsrc,
        .wall_clock_idle = !finite,
        .replay = finite,
        .tick = run_tick,
        .tick_arg = &rs,
        .tick_interval_ns = 50000000, /* SIGHUP is acted on within 50 ms */
        .events_out = events_out,
        .kafka = kafka,
        .metrics = rs.metrics,
        .stop = &stop_flag,
    };
    if (pipeline_run(cfg, &opt, &res, err, sizeof(err))) {
        fprintf(stderr, "ticktap: %s\n", err);
        status = 2;
        goto out;
    }
    have_result = 1;
    res.capture_json = live_capture_json(&rs.capture);
    if (res.capture_json) /* how the queues were read: a thread each, or one for all */
        json_object_set_new(res.capture_json, "queue_readers",
                            json_integer((json_int_t)res.queue_readers));
    res.interrupted = 0; /* a live run ends by a signal: that is its normal end */
    live_capture_close(&rs.capture);
    attached = 0;
    cli_metrics_stop(&cm);
    metrics_on = 0;
    status = cli_write_outputs(&res, events_out, a.events_path, a.summary_path);
    events_out = NULL;
    if (!a.quiet) print_human(&rs, &a, &res);
    if (kafka) {
        int kst = cli_kafka_report(&res.kafka);
        if (!status) status = kst;
    }
out:
    if (attached) live_capture_close(&rs.capture);
    if (metrics_on) cli_metrics_stop(&cm);
    kafka_sink_close(kafka);
    cli_events_discard(events_out);
    if (have_result) {
        json_decref(res.capture_json);
        run_result_fini(&res);
    }
    return status;
}
