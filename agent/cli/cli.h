/* cli.h - the subcommands of the ticktap binary (each returns the process exit status), and
 * the output handling they share (cli_output.c). */
#ifndef TT_CLI_H
#define TT_CLI_H

#include <stdatomic.h>
#include <stdio.h>

#include "../metrics/metrics_http.h"
#include "../pipeline/pipeline.h"

int cmd_analyze(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_enrich(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* SIGINT and SIGTERM set the flag returned (services: enrich, serve stop at their next look). */
_Atomic int *cli_stop_on_signals(void);

/* Defaults, then the YAML file (NULL: none), then each --set, in that order: 0, or -1 with
 * the reason in err. */
int cli_config_load(struct tt_config *cfg, const char *path, const char *const *sets, int nsets,
                    char *err, size_t errlen);

/* Checks before the run that PATH ('-': stdout; NULL: none) can be written, without
 * truncating it; 0, or -1 after saying "PATH: cannot write WHAT: why" (exit status 4). */
int cli_output_check(const char *path, const char *what);
/* Opens --events PATH ('-': stdout), line-buffered when live; NULL when path is NULL or it
 * cannot be written (said on stderr: exit status 4). */
FILE *cli_events_open(const char *path, int live);
/* Closes an events stream on an error path. */
void cli_events_discard(FILE *f);
/* Closes the events stream and writes the summary: 0, or 4 after saying what failed. */
int cli_write_outputs(const struct run_result *res, FILE *events, const char *events_path,
                      const char *summary_path);
/* The human summary goes to stderr when stdout carries events or the summary. */
FILE *cli_human_stream(const char *events_path, const char *summary_path);
/* Prints Kafka's accounting; 5 when a message was not delivered (with the likely cause). */
int cli_kafka_report(const struct kafka_stats *k);

/* The /metrics endpoint of a run, when metrics.listen is set (--metrics ADDR). */
struct cli_metrics {
    struct metrics reg;
    struct metrics_http *http;
    int on;
};
/* Starts it and says where on stderr; 0, or 1 after a one-line error. */
int cli_metrics_start(struct cli_metrics *cm, const struct tt_config *cfg);
void cli_metrics_stop(struct cli_metrics *cm);

#endif
