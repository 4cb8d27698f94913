/* metrics_http.h - the HTTP endpoint (libmicrohttpd, its own thread): GET /metrics renders
 * the registry in Prometheus text format; GET /healthz answers 200 "ok" or 503 with one line
 * per problem. Anything else is 404. Scrapes never block a worker (see metrics.h).
 */
#ifndef TT_METRICS_HTTP_H
#define TT_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct metrics_http;

/* Listens on addr ("HOST:PORT", "[V6]:PORT", ":PORT"; port 0 picks a free one). Returns 0,
 * or -1 with a one-line reason in err (bad address, port in use). */
int metrics_http_start(struct metrics_http **out, struct metrics *m, const char *addr, char *err,
                       size_t errlen);

/* The port in use ("http://HOST:PORT/metrics" is printed by the caller). */
uint16_t metrics_http_port(const struct metrics_http *h);

void metrics_http_stop(struct metrics_http *h);

#endif
