/* cmd_serve.c - `ticktap serve`: the options; the server is serve/serve.c. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../config/config.h"
#include "../serve/serve.h"
#include "../util/units.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ticktap serve [--listen 127.0.0.1:8080] [--dir DIR] [--max-upload SIZE]\n"
        "                     [--keep N] [--token TOKEN] [-c CONFIG] [--set K=V]\n"
        "\n"
        "A local web UI: drop a pcap, pcapng or gzip capture, watch the analysis (frames, %%,\n"
        "rate, time left), read its HTML report; earlier analyses are listed; with an LLM\n"
        "configured (llm.base_url, llm.model, $TICKTAP_LLM_API_KEY), ask about one.\n"
        "\n"
        "  -l, --listen ADDR     where to listen (default 127.0.0.1:8080; port 0: any free)\n"
        "      --token TOKEN     required on an address other than loopback, and then on every\n"
        "                        request (Authorization: Bearer, or ?token=); or\n"
        "                        $TICKTAP_SERVE_TOKEN\n"
        "      --dir DIR         uploads and results, mode 0700 (default\n"
        "                        ~/.cache/ticktap-serve)\n"
        "      --max-upload SIZE the largest capture taken (default 2G)\n"
        "      --keep N          analyses kept, the oldest removed first (default 20)\n"
        "  -c, --config FILE     settings for the analyses (and the LLM)\n"
        "      --set KEY=VALUE   one setting\n");
}

int cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {{"listen", required_argument, 0, 'l'},
                                             {"token", required_argument, 0, 't'},
                                             {"dir", required_argument, 0, 'D'},
                                             {"max-upload", required_argument, 0, 'M'},
                                             {"keep", required_argument, 0, 'K'},
                                             {"config", required_argument, 0, 'c'},
                                             {"set", required_argument, 0, 'S'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *listen = "127.0.0.1:8080", *token = getenv("TICKTAP_SERVE_TOKEN"), *dir = NULL;
    const char *config = NULL, *sets[32];
    uint64_t max_upload = 2ull << 30;
    long keep = 20;
    int nsets = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 't':
            token = optarg;
            break;
        case 'D':
            dir = optarg;
            break;
        case 'M':
            if (parse_size_u64(optarg, &max_upload) || !max_upload) {
                fprintf(stderr, "ticktap serve: --max-upload '%s': give a size (500M, 2G)\n",
                        optarg);
                return 1;
            }
            break;
        case 'K':
            keep = strtol(optarg, NULL, 10);
            if (keep < 1) {
                fprintf(stderr, "ticktap serve: --keep must be at least 1\n");
                return 1;
            }
            break;
        case 'c':
            config = optarg;
            break;
        case 'S':
            if (nsets < 32) sets[nsets++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 1;
    }
    struct tt_config *cfg = malloc(sizeof(*cfg));
    char err[1024], dirbuf[PATH_MAX], self[PATH_MAX];
    if (!cfg) return 1;
    if (cli_config_load(cfg, config, sets, nsets, err, sizeof(err))) {
        fprintf(stderr, "ticktap serve: %s\n", err);
        free(cfg);
        return 1;
    }
    int llm = cfg->llm.base_url[0] != 0;
    free(cfg);
    if (!dir) {
        const char *home = getenv("HOME");
        snprintf(dirbuf, sizeof(dirbuf), "%s/.cache", home && *home ? home : "/tmp");
        mkdir(dirbuf, 0700);
        snprintf(dirbuf + strlen(dirbuf), sizeof(dirbuf) - strlen(dirbuf), "/ticktap-serve");
        dir = dirbuf;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        fprintf(stderr, "ticktap serve: cannot find its own binary (/proc/self/exe)\n");
        return 1;
    }
    self[n] = 0;
    const char *args[2 + 64];
    int nargs = 0;
    if (config) {
        args[nargs++] = "-c";
        args[nargs++] = config;
    }
    for (int i = 0; i < nsets; i++) {
        args[nargs++] = "--set";
        args[nargs++] = sets[i];
    }
    struct serve_options o = {.listen = listen,
                              .token = token && *token ? token : NULL,
                              .dir = dir,
                              .max_upload = max_upload,
                              .keep = (uint32_t)keep,
                              .self = self,
                              .args = args,
                              .nargs = nargs,
                              .llm = llm,
                              .stop = cli_stop_on_signals()};
    return serve_run(&o);
}
