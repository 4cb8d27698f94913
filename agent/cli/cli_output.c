/* cli_output.c - what `analyze` and `run` do alike with their results: the --events stream,
 * the --summary file, where the human summary goes, and Kafka's accounting. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../report/report.h"
#include "cli.h"

int cli_output_check(const char *path, const char *what)
{
    if (!path || !strcmp(path, "-")) return 0;
    /* open() itself is the test: permissions, a read-only file system, a missing directory */
    int created = 0, fd = open(path, O_WRONLY | O_NOCTTY);
    if (fd < 0 && errno == ENOENT) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, 0644);
        created = fd >= 0;
    }
    if (fd < 0) {
        fprintf(stderr, "ticktap: %s: cannot write %s: %s%s\n", path, what, strerror(errno),
                errno == ENOENT ? " (create the directory first)" : "");
        return -1;
    }
    close(fd);
    if (created) unlink(path);
    return 0;
}

FILE *cli_events_open(const char *path, int live)
{
    if (!path) return NULL;
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "ticktap: %s: cannot write events: %s\n", path, strerror(errno));
        return NULL;
    }
    if (live)
        setvbuf(f, NULL, _IOLBF, 0); /* a consumer sees each event as it happens */
    else
        setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

void cli_events_discard(FILE *f)
{
    if (f && f != stdout) fclose(f);
}

int cli_write_outputs(const struct run_result *res, FILE *events, const char *events_path,
                      const char *summary_path)
{
    int status = 0;
    char err[1024];
    if (events && events != stdout && fclose(events)) {
        fprintf(stderr, "ticktap: %s: cannot write events: %s\n", events_path, strerror(errno));
        status = 4;
    }
    if (summary_path && report_write_summary(res, summary_path, err, sizeof(err))) {
        fprintf(stderr, "ticktap: %s\n", err);
        status = 4;
    }
    return status;
}

FILE *cli_human_stream(const char *events_path, const char *summary_path)
{
    int stdout_taken =
        (events_path && !strcmp(events_path, "-")) || (summary_path && !strcmp(summary_path, "-"));
    return stdout_taken ? stderr : stdout;
}

int cli_kafka_report(const struct kafka_stats *k)
{
    fprintf(stderr,
            "kafka: %llu delivered, %llu failed, %llu dropped (buffer full), %llu undelivered "
            "of %llu%s%s\n",
            (unsigned long long)k->delivered, (unsigned long long)k->failed,
            (unsigned long long)(k->dropped_queue_full + k->dropped_oldest),
            (unsigned long long)k->undelivered, (unsigned long long)k->offered,
            k->last_error[0] ? "; last error: " : "", k->last_error);
    if (k->delivered == k->offered) return 0;
    fprintf(stderr, "kafka: %llu message(s) not delivered: %s\n",
            (unsigned long long)(k->offered - k->delivered),
            k->dropped_queue_full + k->dropped_oldest
                ? "the buffer was full while the brokers did not take messages (raise "
                  "kafka.buffer_messages)"
                : "check that the brokers are reachable (or raise "
                  "kafka.flush_timeout)");
    return 5;
}

int cli_metrics_start(struct cli_metrics *cm, const struct tt_config *cfg)
{
    memset(cm, 0, sizeof(*cm));
    if (!cfg->metrics.listen[0]) return 0;
    char err[512];
    metrics_init(&cm->reg, &cfg->metrics);
    if (metrics_http_start(&cm->http, &cm->reg, cfg->metrics.listen, err, sizeof(err))) {
        fprintf(stderr, "ticktap: %s\n", err);
        metrics_fini(&cm->reg);
        return 1;
    }
    cm->on = 1;
    const char *colon = strrchr(cfg->metrics.listen, ':');
    int hl = (int)(colon - cfg->metrics.listen);
    fprintf(stderr, "metrics: http://%.*s:%u/metrics (and /healthz)\n", hl ? hl : 7,
            hl ? cfg->metrics.listen : "0.0.0.0", metrics_http_port(cm->http));
    return 0;
}

void cli_metrics_stop(struct cli_metrics *cm)
{
    if (!cm->on) return;
    metrics_http_stop(cm->http);
    metrics_fini(&cm->reg);
    cm->on = 0;
}

int cli_config_load(struct tt_config *cfg, const char *path, const char *const *sets, int nsets,
                    char *err, size_t errlen)
{
    config_defaults(cfg);
    if (path && config_load_file(cfg, path, err, errlen)) return -1;
    for (int i = 0; i < nsets; i++)
        if (config_set(cfg, sets[i], err, errlen)) return -1;
    return 0;
}

static _Atomic int stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, 1);
}

_Atomic int *cli_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &stop_requested;
}
