/* metrics_http.c - /metrics and /healthz over libmicrohttpd (see metrics_http.h). */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct metrics_http {
    struct MHD_Daemon *d;
    struct metrics *m;
    uint16_t port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                             const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)req_cls;
    struct metrics_http *h = cls;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("GET only\n"), 9, "text/plain");
    if (!strcmp(url, "/metrics")) {
        struct prom_buf b = {0};
        metrics_render(h->m, &b);
        if (b.oom || !b.p) {
            prom_buf_fini(&b);
            return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, strdup("out of memory\n"), 14,
                         "text/plain");
        }
        return reply(c, MHD_HTTP_OK, b.p, b.len, "text/plain; version=0.0.4; charset=utf-8");
    }
    if (!strcmp(url, "/healthz")) {
        char why[1024];
        int bad = metrics_health(h->m, why, sizeof(why));
        char *body = strdup(bad ? why : "ok\n");
        return reply(c, bad ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, body,
                     body ? strlen(body) : 0, "text/plain");
    }
    return reply(c, MHD_HTTP_NOT_FOUND, strdup("try /metrics or /healthz\n"), 25, "text/plain");
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every IPv4 address). */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (!colon) {
        snprintf(err, errlen, "metrics.listen '%s': expected HOST:PORT (e.g. 127.0.0.1:9108)",
                 addr);
        return -1;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535) {
        snprintf(err, errlen, "metrics.listen '%s': the port must be 0-65535", addr);
        return -1;
    }
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof(host)) {
        snprintf(err, errlen, "metrics.listen '%s': host name too long", addr);
        return -1;
    }
    memcpy(host, addr, hl);
    host[hl] = 0;
    memset(ss, 0, sizeof(*ss));
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        host[hl - 1] = 0;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1) return 0;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (!host[0] || !strcmp(host, "localhost")) {
            s4->sin_addr.s_addr = htonl(host[0] ? INADDR_LOOPBACK : INADDR_ANY);
            return 0;
        }
        if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) return 0;
    }
    snprintf(err, errlen, "metrics.listen '%s': '%s' is not an IP address", addr, host);
    return -1;
}

int metrics_http_start(struct metrics_http **out, struct metrics *m, const char *addr, char *err,
                       size_t errlen)
{
    struct sockaddr_storage ss;
    if (parse_addr(addr, &ss, err, errlen)) return -1;
    struct metrics_http *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory for the metrics endpoint");
        return -1;
    }
    h->m = m;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    errno = 0;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen, "metrics endpoint: cannot listen on %s: %s (metrics.listen)", addr,
                 errno ? strerror(errno) : "address in use or not local");
        free(h);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : 0;
    *out = h;
    return 0;
}

uint16_t metrics_http_port(const struct metrics_http *h)
{
    return h->port;
}

void metrics_http_stop(struct metrics_http *h)
{
    if (!h) return;
    MHD_stop_daemon(h->d);
    free(h);
}
