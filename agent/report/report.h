/* report.h - the results of a run: the summary JSON (a contract other tools read, see
 * schemas/summary.schema.json) and the human summary printed at the end of `analyze`. */
#ifndef TT_REPORT_H
#define TT_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "../pipeline/pipeline.h"

/* The summary as JSON (the caller owns it). */
json_t *report_summary_json(const struct run_result *res);

/* Writes the summary JSON to path ("-" for stdout). Returns 0 or -1 with a reason in err. */
int report_write_summary(const struct run_result *res, const char *path, char *err, size_t errlen);

/* Prints the human summary. inputs names what was read (for the title line). */
void report_print_human(const struct run_result *res, const char *inputs, FILE *out);

/* The count tshark shows for tcp.analysis.<name> (retransmission includes fast and spurious). */
uint64_t report_tcp_count(const struct tt_stats *st, enum tcp_analysis_bit b);

#endif
