/* cmd_enrich.c - `ticktap enrich`: the options, the config, signals; the service is
 * enrich/enrich.c. */
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../enrich/enrich.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ticktap enrich -k BROKERS [-c CONFIG] [--set K=V] [-o INCIDENTS.jsonl] [-d SEC]\n"
        "       ticktap enrich --events EVENTS.jsonl [-o INCIDENTS.jsonl]\n"
        "\n"
        "Groups ticktap's events into incidents (same flow, FIX/OUCH session, market-data\n"
        "session, service or interface), diagnoses each by rules and, with llm.base_url set,\n"
        "adds an LLM's narrative. Reads the topic enrich.topic_in as the consumer group\n"
        "enrich.group_id and writes enrich.topic_out; or reads a file of events.\n"
        "\n"
        "  -k, --kafka BROKERS   Kafka bootstrap servers\n"
        "      --events PATH     read events from a JSON-lines file instead ('-': stdin)\n"
        "  -c, --config FILE     YAML config (enrich.*, llm.*)\n"
        "      --set KEY=VALUE   override one setting (ticktap config lists them)\n"
        "  -o, --output PATH     also write the records as JSON lines ('-': stdout)\n"
        "  -d, --duration SEC    Kafka: stop after SEC seconds (else at SIGINT/SIGTERM)\n"
        "  -m, --metrics ADDR    serve Prometheus /metrics (LLM calls, tokens, budget)\n"
        "  -q, --quiet           no progress lines\n"
        "\n"
        "The API key comes from $TICKTAP_LLM_API_KEY (llm.api_key_env) or llm.api_key_file.\n"
        "exit status: 0 done; 1 bad usage, config, input or broker; a record not delivered\n");
}

int cmd_enrich(int argc, char **argv)
{
    static const struct option longopts[] = {{"kafka", required_argument, 0, 'k'},
                                             {"events", required_argument, 0, 'E'},
                                             {"config", required_argument, 0, 'c'},
                                             {"set", required_argument, 0, 'S'},
                                             {"output", required_argument, 0, 'o'},
                                             {"duration", required_argument, 0, 'd'},
                                             {"metrics", required_argument, 0, 'm'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"check-config", no_argument, 0, 'C'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *brokers = NULL, *events = NULL, *config = NULL, *out_path = NULL, *metrics = NULL;
    const char *sets[64];
    int nsets = 0, quiet = 0, check = 0, c;
    double duration = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:c:o:d:m:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            brokers = optarg;
            break;
        case 'E':
            events = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'S':
            if (nsets == 64) {
                fprintf(stderr, "ticktap enrich: more than 64 --set\n");
                return 1;
            }
            sets[nsets++] = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'd':
            duration = strtod(optarg, NULL);
            break;
        case 'm':
            metrics = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'C':
            check = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc || (!check && !brokers == !events)) {
        fprintf(stderr, "ticktap enrich: give -k BROKERS or --events FILE (one of them)\n");
        return 1;
    }
    struct tt_config *cfg = malloc(sizeof(*cfg));
    char err[1024];
    if (!cfg) return 1;
    int rc = 1;
    if (cli_config_load(cfg, config, sets, nsets, err, sizeof(err))) goto bad;
    if (!cfg->incident.max_incidents) {
        snprintf(err, sizeof(err), "enrich.max_incidents must be at least 1");
        goto bad;
    }
    if (check) { /* the settings and the LLM client's own checks, nothing contacted */
        struct llm_client *llm;
        if (llm_client_new(&cfg->llm, &llm, err, sizeof(err))) goto bad;
        llm_client_free(llm);
        printf("%s: valid\n", config ? config : "settings");
        free(cfg);
        return 0;
    }
    FILE *out = NULL;
    if (out_path) {
        out = strcmp(out_path, "-") ? fopen(out_path, "w") : stdout;
        if (!out) {
            snprintf(err, sizeof(err), "%s: cannot write it", out_path);
            goto bad;
        }
    }
    struct enrich_options o = {.cfg = &cfg->enrich,
                               .incident = &cfg->incident,
                               .llm = &cfg->llm,
                               .brokers = brokers,
                               .events_path = events,
                               .out = out,
                               .duration_ns = (uint64_t)(duration * 1e9),
                               .metrics_listen = metrics,
                               .stop = cli_stop_on_signals(),
                               .quiet = quiet};
    rc = enrich_run(&o);
    if (out && out != stdout && fclose(out)) {
        fprintf(stderr, "ticktap enrich: %s: write failed\n", out_path);
        rc = 1;
    }
    free(cfg);
    return rc;
bad:
    fprintf(stderr, "ticktap enrich: %s\n", err);
    free(cfg);
    return rc;
}
