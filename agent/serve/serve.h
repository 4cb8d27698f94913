/* serve.h - `ticktap serve`: a local web UI over the same analysis (libmicrohttpd).
 *
 *   GET  /                      the page: drop a capture, watch its progress, read the report
 *   GET  /api/analyses          the analyses kept (newest first)
 *   POST /api/analyses?name=N   the capture as the request body -> 202 {"id"}; 409 while another
 *                               runs, 413 over max_upload, 400 when it is not a capture
 *   GET  /api/analyses/ID       state (running, done, failed), progress, the error if any
 *   GET  /reports/ID            its HTML report
 *   POST /api/ask               {"id", "question"} -> ticktap ask's answer (LLM configured)
 *
 * Each analysis runs as a child `ticktap analyze` (a bad file cannot take the server down),
 * in a private directory (mode 0700) that keeps the last `keep` analyses. It listens on
 * loopback by default; on any other address a token is required and every request must
 * carry it (Authorization: Bearer, or ?token= for the page). One analysis at a time.
 */
#ifndef TT_SERVE_H
#define TT_SERVE_H

#include <stdatomic.h>
#include <stdint.h>

struct serve_options {
    const char *listen;      /* HOST:PORT */
    const char *token;       /* NULL: none (loopback only) */
    const char *dir;         /* where uploads and results live */
    uint64_t max_upload;     /* bytes */
    uint32_t keep;           /* analyses kept */
    const char *self;        /* the ticktap binary (for the child analyses) */
    const char *const *args; /* extra arguments for analyze and ask (-c FILE, --set K=V) */
    int nargs;
    int llm; /* an LLM is configured: the ask box is offered */
    _Atomic int *stop;
};

/* Serves until *stop. Returns 0, or 1 after a one-line error (address, directory). */
int serve_run(const struct serve_options *o);

#endif
