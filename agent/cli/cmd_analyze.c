/* cmd_analyze.c - `ticktap analyze`: offline analysis of capture files. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../capture/capture_live.h"
#include "../pipeline/pipeline.h"
#include "../report/report.h"
#include "../trading/trading.h"
#include "cli.h"

static _Atomic int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

static void usage(FILE *out)
{
    fprintf(out,
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
            "      --kafka-hold SEC  after the run, keep the mock cluster up SEC seconds (or until\n"
            "                        Ctrl-C) so consumers can read it\n"
            "\n"
            "exit status: 0 analysed; 1 bad usage or config; 2 a capture could not be opened;\n"
            "             3 a capture was damaged part-way (results cover the frames before it);\n"
            "             4 an output could not be written; 5 Kafka did not take every message\n"
            "             (counts in the summary); 130 interrupted (partial results)\n");
}

int cmd_analyze(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"filter", required_argument, NULL, 'f'}, {"events", required_argument, NULL, 'e'},
        {"summary", required_argument, NULL, 's'}, {"workers", required_argument, NULL, 'w'},
        {"config", required_argument, NULL, 'c'},  {"set", required_argument, NULL, 'S'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"kafka", required_argument, NULL, 'k'},   {"kafka-hold", required_argument, NULL, 'H'},
        {"follow", no_argument, NULL, 'F'},        {"metrics", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    struct tt_config cfg;
    config_defaults(&cfg);
    const char *filter = NULL, *events_path = NULL, *summary_path = NULL;
    const char *sets[64];
    int nsets = 0, quiet = 0, workers = -1, follow = 0;
    const char *kafka_brokers = NULL, *metrics_addr = NULL;
    double kafka_hold = 0;
    char err[1024];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:e:s:w:c:qhk:Fm:", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': filter = optarg; break;
        case 'e': events_path = optarg; break;
        case 's': summary_path = optarg; break;
        case 'w': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 64) {
                fprintf(stderr, "ticktap: --workers '%s': give a number from 1 to 64\n", optarg);
                return 1;
            }
            workers = (int)v;
            break;
        }
        case 'c':
            if (config_load_file(&cfg, optarg, err, sizeof(err))) {
                fprintf(stderr, "ticktap: %s\n", err);
                return 1;
            }
            break;
        case 'S':
            if (nsets < 64)
                sets[nsets++] = optarg;
            break;
        case 'q': quiet = 1; break;
        case 'F': follow = 1; break;
        case 'k': kafka_brokers = optarg; break;
        case 'm': metrics_addr = optarg; break;
        case 'H': {
            char *end;
            kafka_hold = strtod(optarg, &end);
            if (*end || kafka_hold < 0) {
                fprintf(stderr, "ticktap: --kafka-hold '%s': give seconds\n", optarg);
                return 1;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    for (int i = 0; i < nsets; i++)
        if (config_set(&cfg, sets[i], err, sizeof(err))) {
            fprintf(stderr, "ticktap: %s\n", err);
            return 1;
        }
    if (workers > 0)
        cfg.workers = (uint32_t)workers;
    if (optind >= argc) {
        fprintf(stderr, "ticktap analyze: no capture file given (try: ticktap analyze FILE.pcap)\n");
        return 1;
    }

    if (follow && argc - optind != 1) {
        fprintf(stderr, "ticktap analyze: --follow takes exactly one capture file\n");
        return 1;
    }
    if (config_finish(&cfg, err, sizeof(err))) {
        fprintf(stderr, "ticktap: %s\n", err);
        return 1;
    }
    trading_set_timezone(&cfg.trading);

    if (kafka_brokers)
        snprintf(cfg.kafka.brokers, sizeof(cfg.kafka.brokers), "%s", kafka_brokers);
    if (metrics_addr)
        snprintf(cfg.metrics.listen, sizeof(cfg.metrics.listen), "%s", metrics_addr);
    struct kafka_sink *kafka = NULL;
    if (cfg.kafka.brokers[0]) {
        if (kafka_sink_open(&kafka, &cfg.kafka, err, sizeof(err))) {
            fprintf(stderr, "ticktap: %s\n", err);
            return 1;
        }
        fprintf(stderr, "kafka: streaming to %s (topics %s, %s, %s)\n", kafka_sink_bootstrap(kafka),
                cfg.kafka.topic_events, cfg.kafka.topic_flows, cfg.kafka.topic_stats);
    }

    FILE *events_out = cli_events_open(events_path, follow);
    if (events_path && !events_out) {
        kafka_sink_close(kafka);
        return 4;
    }
    struct live_source followed = {&capture_follow_ops, NULL, "capture", -1};
    if (follow && !(followed.cap = capture_follow_open(argv[optind], filter, err, sizeof(err)))) {
        fprintf(stderr, "ticktap: %s\n", err);
        kafka_sink_close(kafka);
        cli_events_discard(events_out);
        return strstr(err, "--filter") ? 1 : 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct run_options opt = {
        .paths = (const char *const *)&argv[optind],
        .npaths = argc - optind,
        .filter = filter,
        .events_out = events_out,
        .progress = isatty(STDERR_FILENO) && !quiet,
        .stop = &stop_flag,
        .kafka = kafka,
    };
    if (follow) {
        opt.live = &followed;
        opt.nlive = 1;
        opt.progress = 0;
        fprintf(stderr, "ticktap: following %s; Ctrl-C to stop\n", argv[optind]);
    }
    struct cli_metrics cm;
    if (cli_metrics_start(&cm, &cfg)) {
        if (followed.cap)
            followed.ops->close(followed.cap);
        kafka_sink_close(kafka);
        cli_events_discard(events_out);
        return 1;
    }
    opt.metrics = cm.on ? &cm.reg : NULL;
    struct run_result res;
    int rc = pipeline_run(&cfg, &opt, &res, err, sizeof(err));
    if (followed.cap) {
        followed.ops->close(followed.cap);
        res.interrupted = 0; /* following ends by a signal: that is its normal end */
    }
    if (rc) {
        fprintf(stderr, "ticktap: %s\n", err);
        cli_metrics_stop(&cm);
        kafka_sink_close(kafka);
        cli_events_discard(events_out);
        return rc == -EINVAL && strstr(err, "--filter") ? 1 : 2;
    }
    int status = cli_write_outputs(&res, events_out, events_path, summary_path);
    if (!quiet) {
        char inputs[512] = "";
        for (int i = optind; i < argc; i++) {
            strncat(inputs, argv[i], sizeof(inputs) - strlen(inputs) - 2);
            if (i + 1 < argc)
                strncat(inputs, " ", sizeof(inputs) - strlen(inputs) - 1);
        }
        FILE *hout = cli_human_stream(events_path, summary_path);
        report_print_human(&res, inputs, hout);
        fflush(hout); /* before any --kafka-hold: the summary must not wait in a buffer */
    }
    if (!status && res.capture_errors)
        status = 3;
    if (kafka) {
        int kst = cli_kafka_report(&res.kafka);
        if (!status)
            status = kst;
        if (kafka_hold > 0 && !atomic_load(&stop_flag)) {
            fprintf(stderr, "kafka: holding %s for %.0f s (read it: kcat -C -b %s -t %s -e); "
                            "Ctrl-C to stop\n",
                    kafka_sink_bootstrap(kafka), kafka_hold, kafka_sink_bootstrap(kafka),
                    cfg.kafka.topic_events);
            for (double t = 0; t < kafka_hold && !atomic_load(&stop_flag); t += 0.1) {
                kafka_sink_poll(kafka);
                usleep(100000);
            }
        }
        kafka_sink_close(kafka);
    }
    cli_metrics_stop(&cm);
    if (res.interrupted)
        status = 130;
    run_result_fini(&res);
    return status;
}
