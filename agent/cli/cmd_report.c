/* cmd_report.c - `ticktap report SUMMARY.json [EVENTS.jsonl] -o report.html`: the HTML report
 * of a finished run (report_html.h), with ticktap enrich's incidents when given. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../report/report_html.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ticktap report SUMMARY.json [EVENTS.jsonl] -o REPORT.html [-i INCIDENTS.jsonl]\n"
        "\n"
        "Writes the HTML report of a finished analysis: its summary (`analyze -s`, `run -s`),\n"
        "its events (`-e`) and, with -i, the incidents of `ticktap enrich -o`; without -i\n"
        "the incidents are grouped from the events with their rule-based root cause.\n"
        "\n"
        "  -o, --output PATH      the report (one self-contained HTML file)\n"
        "  -i, --incidents PATH   ticktap enrich's records\n"
        "      --set KEY=VALUE    report.max_events: events kept in the page (20000)\n");
}

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"incidents", required_argument, 0, 'i'},
                                             {"set", required_argument, 0, 'S'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *out = NULL, *incidents = NULL, *sets[16];
    int nsets = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:i:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'i':
            incidents = optarg;
            break;
        case 'S':
            if (nsets < 16) sets[nsets++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    int nargs = argc - optind;
    if (!out || nargs < 1 || nargs > 2) {
        fprintf(stderr, "ticktap report: give a summary (and its events) and -o REPORT.html\n");
        return 1;
    }
    struct tt_config *cfg = malloc(sizeof(*cfg));
    char err[1024];
    if (!cfg) return 1;
    int rc = 1;
    json_t *summary = NULL;
    if (cli_config_load(cfg, NULL, sets, nsets, err, sizeof(err))) goto bad;
    json_error_t je;
    const char *spath = argv[optind];
    if (!(summary = json_load_file(spath, 0, &je))) {
        snprintf(err, sizeof(err), "%s: not a JSON summary (%s, line %d)", spath, je.text, je.line);
        goto bad;
    }
    if (!json_is_integer(json_object_get(summary, "packets"))) {
        snprintf(err, sizeof(err), "%s: not a ticktap summary (no packets)", spath);
        goto bad;
    }
    struct report_html_input in = {.summary = summary,
                                   .events_path = nargs == 2 ? argv[optind + 1] : NULL,
                                   .incidents_path = incidents,
                                   .input_name = spath,
                                   .events_cap = cfg->report_events};
    if (report_html_write(out, &in, err, sizeof(err))) goto bad;
    fprintf(stderr, "report: %s\n", out);
    rc = 0;
    goto done;
bad:
    fprintf(stderr, "ticktap report: %s\n", err);
done:
    json_decref(summary);
    free(cfg);
    return rc;
}
