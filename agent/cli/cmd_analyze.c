/* cmd_analyze.c - `ticktap analyze`: offline analysis of capture files. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../capture/capture_live.h"
#include "../decode/decode.h"
#include "../pipeline/pipeline.h"
#include "../report/report.h"
#include "../trading/trading.h"
#include "../report/report_html.h"
#include "../util/units.h"
#include "cli.h"

static _Atomic int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ticktap analyze [options] CAPTURE...\n"
        "\n"
        "Analyses pcap/pcapng files (merged in time order) and prints a summary.\n"
        "\n"
        "  -f, --filter EXPR     only frames matching a tcpdump filter expression\n"
        "  -e, --events PATH     write every event and flow record as JSON lines ('-': stdout)\n"
        "  -s, --summary PATH    write the summary JSON ('-': stdout)\n"
        "  -w, --workers N       analysis threads (default 1)\n"
        "  -c, --config FILE     YAML settings (see 'ticktap config' for the keys)\n"
        "      --set KEY=VALUE   override one setting, e.g. --set flow.max_flows=100000\n"
        "  -q, --quiet           no human summary\n"
        "  -k, --kafka BROKERS   also stream events and flow records to Kafka; 'mock' starts\n"
        "                        a mock Kafka cluster inside ticktap and prints its address\n"
        "  -F, --follow          follow one growing pcap file (tcpdump -w, dumpcap -P) until\n"
        "                        Ctrl-C, events as they come; a file replaced under the\n"
        "                        same name (rotation) is followed into\n"
        "  -m, --metrics ADDR    serve Prometheus /metrics and /healthz on ADDR while running\n"
        "                        (127.0.0.1:9108; port 0 picks a free one)\n"
        "  -r, --report PATH     write an HTML report (one self-contained file: charts, tables,\n"
        "                        filters; opens offline)\n"
        "      --progress PATH   write the progress (frames, %%, rate, time left) as JSON there\n"
        "                        every half second (a terminal shows it on its own)\n"
        "      --dedup[=WINDOW]  leave out frames captured twice (same length and first 256\n"
        "                        bytes within WINDOW, default 1ms; SPAN ports, merged taps):\n"
        "                        figures then equal the deduplicated capture's. Without it\n"
        "                        they are counted and the summary says so\n"
        "      --events-filter EXPR  write and send only the events that match, e.g.\n"
        "                        'type=tcp.*|md.gap,severity>=warn,host=10.0.0.1,session=BANK'\n"
        "                        (also flow=ID, port=N, from=TIME, to=TIME; != negates);\n"
        "                        the summary still counts every event\n"
        "      --from TIME, --to TIME  analyse only frames in [from, to): epoch seconds,\n"
        "                        RFC 3339 (2024-01-02T09:30:00Z) or +DURATION after the\n"
        "                        first frame (--from +10s --to +20s)\n"
        "      --kafka-hold SEC  after the run, keep the mock cluster up SEC seconds (or until\n"
        "                        Ctrl-C) so consumers can read it\n"
        "\n"
        "exit status: 0 analysed; 1 bad usage or config; 2 a capture could not be opened;\n"
        "             3 a capture was damaged part-way (results cover the frames before it);\n"
        "             4 an output could not be written; 5 Kafka did not take every message\n"
        "             (counts in the summary); 6 no frame could be decoded (the captures'\n"
        "             link type is not one ticktap reads); 130 interrupted (partial results)\n");
}

/* What the command line asked for. */
struct analyze_args {
    const char *filter, *events_path, *summary_path, *kafka_brokers, *metrics_addr, *report_path;
    const char *progress_path;
    const char *events_filter, *from, *to;
    const char *sets[64];
    int nsets, quiet, workers, follow;
    double kafka_hold;
    const char *const *paths;
    int npaths;
};

/* The earliest first-frame time of the captures (ns), for --from/--to +DURATION; 0 when
 * none can be read. */
static uint64_t first_frame_ns(const struct analyze_args *a)
{
    uint64_t first = 0;
    for (int i = 0; i < a->npaths; i++) {
        char perr[PCAP_ERRBUF_SIZE];
        pcap_t *p =
            pcap_open_offline_with_tstamp_precision(a->paths[i], PCAP_TSTAMP_PRECISION_NANO, perr);
        if (!p) continue;
        struct pcap_pkthdr *h;
        const u_char *data;
        if (pcap_next_ex(p, &h, &data) == 1) {
            uint64_t t = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
            if (!first || t < first) first = t;
        }
        pcap_close(p);
    }
    return first;
}

/* --from/--to: a time (units.h), or +DURATION after the first frame. 0 or -1 (said). */
static int window_time(const struct analyze_args *a, const char *opt, const char *v, uint64_t *out)
{
    uint64_t d;
    if (*v == '+' && !parse_duration_ns(v + 1, &d)) {
        uint64_t first = first_frame_ns(a);
        if (!first) {
            fprintf(stderr,
                    "ticktap: %s %s: the first frame's time cannot be read from the captures "
                    "(give a time instead: epoch seconds or 2024-01-02T09:30:00Z)\n",
                    opt, v);
            return -1;
        }
        *out = first + d;
        return 0;
    }
    if (parse_time_ns(v, out)) {
        fprintf(stderr,
                "ticktap: %s '%s': give epoch seconds (1700000000.5), an RFC 3339 time "
                "(2024-01-02T09:30:00.25Z) or +DURATION after the first frame (+90s)\n",
                opt, v);
        return -1;
    }
    return 0;
}

/* Parses argv into a and cfg: 0 to go on, else the exit status (0 after --help). */
static int parse_args(int argc, char **argv, struct analyze_args *a, struct tt_config *cfg)
{
    static const struct option longopts[] = {
        {"filter", required_argument, NULL, 'f'},
        {"events", required_argument, NULL, 'e'},
        {"summary", required_argument, NULL, 's'},
        {"workers", required_argument, NULL, 'w'},
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 'S'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"kafka", required_argument, NULL, 'k'},
        {"kafka-hold", required_argument, NULL, 'H'},
        {"follow", no_argument, NULL, 'F'},
        {"metrics", required_argument, NULL, 'm'},
        {"report", required_argument, NULL, 'r'},
        {"progress", required_argument, NULL, 'P'},
        {"dedup", optional_argument, NULL, 'D'},
        {"events-filter", required_argument, NULL, 'E'},
        {"from", required_argument, NULL, 'A'},
        {"to", required_argument, NULL, 'B'},
        {NULL, 0, NULL, 0},
    };
    char err[1024];
    int c;
    memset(a, 0, sizeof(*a));
    a->workers = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:e:s:w:c:qhk:Fm:r:", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            a->filter = optarg;
            break;
        case 'e':
            a->events_path = optarg;
            break;
        case 's':
            a->summary_path = optarg;
            break;
        case 'w': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 64) {
                fprintf(stderr, "ticktap: --workers '%s': give a number from 1 to 64\n", optarg);
                return 1;
            }
            a->workers = (int)v;
            break;
        }
        case 'c':
            if (config_load_file(cfg, optarg, err, sizeof(err))) {
                fprintf(stderr, "ticktap: %s\n", err);
                return 1;
            }
            break;
        case 'S':
            if (a->nsets == 64) {
                fprintf(stderr, "ticktap: more than 64 --set options (put them in a -c file)\n");
                return 1;
            }
            a->sets[a->nsets++] = optarg;
            break;
        case 'q':
            a->quiet = 1;
            break;
        case 'F':
            a->follow = 1;
            break;
        case 'k':
            a->kafka_brokers = optarg;
            break;
        case 'm':
            a->metrics_addr = optarg;
            break;
        case 'r':
            a->report_path = optarg;
            break;
        case 'P':
            a->progress_path = optarg;
            break;
        case 'E':
            a->events_filter = optarg;
            break;
        case 'A':
            a->from = optarg;
            break;
        case 'B':
            a->to = optarg;
            break;
        case 'D': /* after -c, before --set: a --set still has the last word */
            if (config_set(cfg, "dedup.remove=true", err, sizeof(err))) return 1;
            if (optarg) {
                char kv[96];
                snprintf(kv, sizeof(kv), "dedup.window=%s", optarg);
                if (config_set(cfg, kv, err, sizeof(err))) {
                    fprintf(stderr, "ticktap: --dedup: %s\n", err);
                    return 1;
                }
            }
            break;
        case 'H': {
            char *end;
            a->kafka_hold = strtod(optarg, &end);
            if (*end || a->kafka_hold < 0) {
                fprintf(stderr, "ticktap: --kafka-hold '%s': give seconds\n", optarg);
                return 1;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 1;
        }
    }
    for (int i = 0; i < a->nsets; i++)
        if (config_set(cfg, a->sets[i], err, sizeof(err))) {
            fprintf(stderr, "ticktap: %s\n", err);
            return 1;
        }
    if (a->workers > 0) cfg->workers = (uint32_t)a->workers;
    a->paths = (const char *const *)&argv[optind];
    a->npaths = argc - optind;
    if (!a->npaths) {
        fprintf(stderr,
                "ticktap analyze: no capture file given (try: ticktap analyze FILE.pcap)\n");
        return 1;
    }
    if (a->follow && a->npaths != 1) {
        fprintf(stderr, "ticktap analyze: --follow takes exactly one capture file\n");
        return 1;
    }
    if (config_finish(cfg, err, sizeof(err))) {
        fprintf(stderr, "ticktap: %s\n", err);
        return 1;
    }
    if ((a->from && window_time(a, "--from", a->from, &cfg->from_ns)) ||
        (a->to && window_time(a, "--to", a->to, &cfg->to_ns)))
        return 1;
    if (cfg->to_ns && cfg->from_ns >= cfg->to_ns) {
        fprintf(stderr, "ticktap: --from must come before --to\n");
        return 1;
    }
    if (a->kafka_brokers)
        snprintf(cfg->kafka.brokers, sizeof(cfg->kafka.brokers), "%s", a->kafka_brokers);
    if (a->metrics_addr)
        snprintf(cfg->metrics.listen, sizeof(cfg->metrics.listen), "%s", a->metrics_addr);
    return 0;
}

/* Says on stderr when frames were of a link type ticktap does not decode; 6 when no frame at
 * all could be decoded, else 0. */
static int report_link_type(const struct tt_stats *st)
{
    uint64_t n = st->counters[TT_C_LINKTYPE_UNSUPPORTED];
    if (!n) return 0;
    const char *name = pcap_datalink_val_to_name(st->unsupported_linktype);
    const char *desc = pcap_datalink_val_to_description(st->unsupported_linktype);
    fprintf(stderr,
            "ticktap: link type %d (%s%s%s) is not decoded: %" PRIu64 " of %" PRIu64
            " frames counted as linktype.unsupported (ticktap reads %s)\n",
            st->unsupported_linktype, name ? name : "no name in libpcap", desc ? ": " : "",
            desc ? desc : "", n, st->packets, DECODE_LINKTYPES_TEXT);
    return n == st->packets ? 6 : 0;
}

/* The inputs' names for the human summary's first line. */
static void inputs_text(const struct analyze_args *a, char *out, size_t outlen)
{
    out[0] = 0;
    for (int i = 0; i < a->npaths; i++) {
        strncat(out, a->paths[i], outlen - strlen(out) - 2);
        if (i + 1 < a->npaths) strncat(out, " ", outlen - strlen(out) - 1);
    }
}

/* After the run: keeps the mock cluster up for its readers, Ctrl-C or the time ending it. */
static void kafka_hold_for(struct kafka_sink *kafka, const struct tt_config *cfg, double secs)
{
    if (secs <= 0 || atomic_load(&stop_flag)) return;
    fprintf(
        stderr, "kafka: holding %s for %.0f s (read it: kcat -C -b %s -t %s -e); Ctrl-C to stop\n",
        kafka_sink_bootstrap(kafka), secs, kafka_sink_bootstrap(kafka), cfg->kafka.topic_events);
    for (double t = 0; t < secs && !atomic_load(&stop_flag); t += 0.1) {
        kafka_sink_poll(kafka);
        usleep(100000);
    }
}

int cmd_analyze(int argc, char **argv)
{
    struct tt_config cfg;
    struct analyze_args a;
    config_defaults(&cfg);
    int status = parse_args(argc, argv, &a, &cfg);
    if (status) return status < 0 ? 0 : status;
    trading_set_timezone(&cfg.trading);

    char err[1024];
    struct kafka_sink *kafka = NULL;
    FILE *events_out = NULL;
    struct live_source followed = {&capture_follow_ops, NULL, "capture", -1, 0};
    struct cli_metrics cm = {0};
    struct run_result res;
    int ran = 0;

    /* Every output is known writable before any frame is read. */
    if (cli_output_check(a.summary_path, "summary") || cli_output_check(a.report_path, "report")) {
        status = 4;
        goto out;
    }
    char events_tmp[64] = "";
    if (a.report_path && a.events_path && !strcmp(a.events_path, "-")) {
        fprintf(stderr, "ticktap: --report reads the events back: give --events a file, not -\n");
        status = 1;
        goto out;
    }
    if (a.report_path && !a.events_path) { /* the report needs the events: a private file */
        snprintf(events_tmp, sizeof(events_tmp), "/tmp/ticktap-report-events.XXXXXX");
        int fd = mkstemp(events_tmp);
        if (fd < 0) {
            fprintf(stderr, "ticktap: cannot make a temporary file for the report's events\n");
            status = 4;
            goto out;
        }
        close(fd);
        a.events_path = events_tmp;
    }
    events_out = cli_events_open(a.events_path, a.follow);
    if (a.events_path && !events_out) {
        status = 4;
        goto out;
    }
    if (cfg.kafka.brokers[0]) {
        if (kafka_sink_open(&kafka, &cfg.kafka, err, sizeof(err))) {
            fprintf(stderr, "ticktap: %s\n", err);
            status = 1;
            goto out;
        }
        fprintf(stderr, "kafka: streaming to %s (topics %s, %s, %s)\n", kafka_sink_bootstrap(kafka),
                cfg.kafka.topic_events, cfg.kafka.topic_flows, cfg.kafka.topic_stats);
    }
    if (a.follow && !(followed.cap = capture_follow_open(a.paths[0], a.filter, err, sizeof(err)))) {
        fprintf(stderr, "ticktap: %s\n", err);
        status = strstr(err, "--filter") ? 1 : 2;
        goto out;
    }
    if (cli_metrics_start(&cm, &cfg)) {
        status = 1;
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct event_filter evf;
    if (a.events_filter && event_filter_parse(&evf, a.events_filter, err, sizeof(err))) {
        fprintf(stderr, "ticktap: %s\n", err);
        status = 1;
        goto out;
    }
    struct run_options opt = {
        .events_filter = a.events_filter ? &evf : NULL,
        .paths = a.paths,
        .npaths = a.npaths,
        .filter = a.filter,
        .events_out = events_out,
        .progress = isatty(STDERR_FILENO) && !a.quiet && !a.follow,
        .progress_path = a.progress_path,
        .stop = &stop_flag,
        .kafka = kafka,
        .metrics = cm.on ? &cm.reg : NULL,
    };
    if (a.follow) {
        opt.live = &followed;
        opt.nlive = 1;
        fprintf(stderr, "ticktap: following %s; Ctrl-C to stop\n", a.paths[0]);
    }
    int rc = pipeline_run(&cfg, &opt, &res, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "ticktap: %s\n", err);
        status = rc == -EINVAL && strstr(err, "--filter") ? 1 : 2;
        goto out;
    }
    ran = 1;
    if (a.follow) res.interrupted = 0; /* following ends by a signal: that is its normal end */
    status = cli_write_outputs(&res, events_out, a.events_path, a.summary_path);
    events_out = NULL; /* closed by cli_write_outputs */
    if (a.report_path && !status) {
        char inputs[512];
        inputs_text(&a, inputs, sizeof(inputs));
        json_t *summary = report_summary_json(&res);
        struct report_html_input in = {.summary = summary,
                                       .events_path = a.events_path,
                                       .input_name = inputs,
                                       .events_cap = cfg.report_events};
        if (report_html_write(a.report_path, &in, err, sizeof(err))) {
            fprintf(stderr, "ticktap: %s\n", err);
            status = 4;
        } else if (!a.quiet) {
            fprintf(stderr, "report: %s\n", a.report_path);
        }
        json_decref(summary);
    }
    if (events_tmp[0]) {
        unlink(events_tmp);
        a.events_path = NULL; /* the human summary goes to stdout as without a report */
    }
    if (!a.quiet) {
        char inputs[512];
        inputs_text(&a, inputs, sizeof(inputs));
        FILE *hout = cli_human_stream(a.events_path, a.summary_path);
        report_print_human(&res, inputs, hout);
        fflush(hout); /* before any --kafka-hold: the summary must not wait in a buffer */
    }
    int link_status = report_link_type(&res.st);
    if (!status && res.capture_errors) status = 3;
    if (kafka) {
        int kst = cli_kafka_report(&res.kafka);
        if (!status) status = kst;
        kafka_hold_for(kafka, &cfg, a.kafka_hold);
    }
    if (!status) status = link_status;
    if (res.interrupted) status = 130;
out:
    cli_metrics_stop(&cm);
    if (followed.cap) followed.ops->close(followed.cap);
    kafka_sink_close(kafka);
    cli_events_discard(events_out);
    if (ran) run_result_fini(&res);
    return status;
}
