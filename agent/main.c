/* main.c - ticktap: trading-network packet capture and analysis agent. Subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"

#ifndef TT_VERSION
#define TT_VERSION "0.1.0"
#endif

static void usage(FILE *out)
{
    fprintf(out, "ticktap %s - trading-network packet capture and analysis\n\n"
                 "usage: ticktap COMMAND [options]\n\n"
                 "  analyze CAPTURE...   analyse pcap/pcapng files (ticktap analyze --help)\n"
                 "  run --config FILE    capture live: XDP host/tap mode or pcap (ticktap run --help)\n"
                 "  enrich -k BROKERS    events to incidents with a root cause (ticktap enrich --help)\n"
                 "  ask \"QUESTION\" FILE  ask about a capture or a summary (ticktap ask --help)\n"
                 "  report SUMMARY -o F  the HTML report of a finished run (ticktap report --help)\n"
                 "  serve                a local web UI: drop a capture, get its report\n"
                 "  config               list every setting with its default and meaning\n"
                 "  version              print the version\n",
            TT_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "analyze"))
        return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "enrich"))
        return cmd_enrich(argc - 1, argv + 1);
    if (!strcmp(cmd, "ask"))
        return cmd_ask(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "config") && argc > 2) {
        int help = !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h");
        fprintf(help ? stdout : stderr,
                "usage: ticktap config\n\nLists every setting: its key (for a YAML file given "
                "with -c, or --set KEY=VALUE), its default and what it does.\n");
        return help ? 0 : 1;
    }
    if (!strcmp(cmd, "config")) {
        struct tt_config cfg;
        config_defaults(&cfg);
        config_print(&cfg, stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("ticktap %s\n", TT_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "ticktap: unknown command '%s'\n", cmd);
    usage(stderr);
    return 1;
}
