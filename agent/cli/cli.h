/* cli.h - the subcommands of the ticktap binary (each returns the process exit status), and
 * the output handling they share (cli_output.c). */
#ifndef TT_CLI_H
#define TT_CLI_H

#include <stdio.h>

#include "../pipeline/pipeline.h"

int cmd_analyze(int argc, char **argv);
int cmd_run(int argc, char **argv);

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

#endif
