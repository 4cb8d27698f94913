/* report_html.h - the HTML report: one self-contained file (page, styles, script and Chart.js
 * are compiled in; the data is embedded as JSON) that opens offline and can be mailed.
 *
 * It holds the summary (with its timeline: the charts over time), the events read from an
 * events file (at most events_cap of them besides flow records, the first ones; the cap is
 * stated in the page), the largest flows by bytes (REPORT_TOP_FLOWS, from the flow records)
 * and the incidents: read from a `ticktap enrich` output when given, else grouped here by
 * the same engine with its rule-based root cause. Memory is bounded by the caps, whatever
 * the size of the input.
 */
#ifndef TT_REPORT_HTML_H
#define TT_REPORT_HTML_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_TOP_FLOWS 200

struct report_html_input {
    json_t *summary;            /* the summary JSON (borrowed) */
    const char *events_path;    /* JSON lines of events and flow records; NULL: none */
    const char *incidents_path; /* ticktap enrich's records; NULL: grouped here */
    const char *input_name;     /* shown in the title (the capture's name) */
    uint32_t events_cap;
};

/* Writes the report to path. Returns 0, or -1 with a one-line reason in err. */
int report_html_write(const char *path, const struct report_html_input *in, char *err,
                      size_t errlen);

#endif
