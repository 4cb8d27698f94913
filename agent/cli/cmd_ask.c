/* cmd_ask.c - `ticktap ask "QUESTION" CAPTURE|SUMMARY.json`: a person's question about a
 * capture, answered by the LLM with the summary, the incidents (rule diagnoses) and the top
 * events as context; without an LLM, the rule-based findings that bear on the question. */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config/config.h"
#include "../enrich/enrich.h"
#include "cli.h"

#define ASK_TOP_EVENTS 20
#define ASK_SHOWN 10   /* findings printed without an LLM */
#define ASK_PER_RULE 2 /* ... of one diagnosis */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ticktap ask \"QUESTION\" CAPTURE|SUMMARY.json [-e EVENTS.jsonl] [-c CONFIG]\n"
            "                   [--set K=V]\n"
            "\n"
            "Answers a question about a capture (analysed first) or a finished analysis (its\n"
            "summary, and its events with -e) from the summary, the incidents ticktap finds in\n"
            "the events (with their rule-based root cause) and the top events. With llm.base_url\n"
            "and llm.model set (key in $TICKTAP_LLM_API_KEY) an LLM answers in words; without,\n"
            "the findings relevant to the question are printed.\n");
}

struct collected {
    json_t *incidents; /* object: incident id -> its latest record */
};

static void collect(void *arg, const struct incident *inc, enum incident_change ch, uint64_t now)
{
    struct collected *c = arg;
    json_t *r = incident_record(inc, ch, now, "ask");
    if (r) json_object_set_new(c->incidents, inc->id, r);
}

/* Runs `ticktap analyze` on the capture into dir; returns 0 or its status. */
static int analyze_into(const char *capture, const char *dir, const struct tt_config *cfg,
                        const char **sets, int nsets)
{
    (void)cfg;
    char summary[4200], events[4200];
    snprintf(summary, sizeof(summary), "%s/summary.json", dir);
    snprintf(events, sizeof(events), "%s/events.jsonl", dir);
    char *argv[8 + 2 * 64];
    int n = 0;
    argv[n++] = "analyze";
    argv[n++] = "-q";
    argv[n++] = "-s";
    argv[n++] = summary;
    argv[n++] = "-e";
    argv[n++] = events;
    for (int i = 0; i < nsets; i++) {
        argv[n++] = "--set";
        argv[n++] = (char *)sets[i];
    }
    argv[n++] = (char *)capture;
    argv[n] = NULL;
    return cmd_analyze(n, argv);
}

/* The words of the question that select findings. */
static int asks_about(const char *q, const char *const *words)
{
    for (; *words; words++)
        if (strcasestr(q, *words)) return 1;
    return 0;
}

static int relevant(const char *q, json_t *rec)
{
    static const char *const tcp[] = {"retrans", "tcp",       "rtt",   "latency", "slow", "window",
                                      "connect", "handshake", "reset", "gateway", NULL};
    static const char *const md[] = {"feed", "gap",      "market",   "itch", "mold",
                                     "mdp",  "exchange", "arbitrat", NULL};
    static const char *const loss[] = {"loss", "lost", "drop", NULL};
    static const char *const orders[] = {"reject", "order", "fix", "ouch", "session", NULL};
    static const char *const capture[] = {"capture", "saturat", "burst", "ours", NULL};
    const char *scope = json_string_value(json_object_get(rec, "scope"));
    if (!scope) return 0;
    int t = asks_about(q, tcp), m = asks_about(q, md), l = asks_about(q, loss);
    int o = asks_about(q, orders), c = asks_about(q, capture);
    if (!t && !m && !l && !o && !c) return 1; /* a general question: everything bears on it */
    if (l && !t && !m) t = m = 1;             /* "loss" alone: of packets or of messages */
    if (!strcmp(scope, "flow") || !strcmp(scope, "service")) return t;
    if (!strcmp(scope, "md_session")) return m;
    if (!strcmp(scope, "fix_session") || !strcmp(scope, "ouch_session")) return o;
    return c || l; /* the interface: our own capture's losses */
}

/* Prints text wrapped at 96 columns: the first line after lead, the others indented as far. */
static void print_wrapped(const char *lead, const char *text)
{
    size_t indent = strlen(lead), col = 0, w = 96 - indent;
    fputs(lead, stdout);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, " \n");
        if (col && col + len + 1 > w) {
            printf("\n%*s", (int)indent, "");
            col = 0;
        } else if (col) {
            putchar(' ');
            col++;
        }
        fwrite(p, 1, len, stdout);
        col += len;
        p += len;
        if (*p == '\n') {
            printf("\n%*s", (int)indent, "");
            col = 0;
        }
        while (*p == ' ' || *p == '\n')
            p++;
    }
    putchar('\n');
}

static int severity_rank(json_t *rec)
{
    const char *s = json_string_value(json_object_get(rec, "severity"));
    return s && !strcmp(s, "critical") ? 2 : s && !strcmp(s, "warn") ? 1 : 0;
}

static json_t *summary_context(json_t *summary)
{
    json_t *s = json_object();
    const char *keep[] = {"packets",      "bytes",         "duration_s", "flows",   "events",
                          "tcp_analysis", "decode_errors", "capture",    "trading", "latency"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        json_t *v = json_object_get(summary, keep[i]);
        if (v) json_object_set(s, keep[i], v);
    }
    return s;
}

int cmd_ask(int argc, char **argv)
{
    static const struct option longopts[] = {{"events", required_argument, 0, 'e'},
                                             {"config", required_argument, 0, 'c'},
                                             {"set", required_argument, 0, 'S'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *events_path = NULL, *config = NULL, *sets[64];
    int nsets = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            events_path = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'S':
            if (nsets < 64) sets[nsets++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "ticktap ask: give a question and a capture or a summary JSON\n");
        usage(stderr);
        return 1;
    }
    const char *question = argv[optind], *input = argv[optind + 1];
    struct tt_config *cfg = malloc(sizeof(*cfg));
    char err[1024], dir[] = "/tmp/ticktap-ask.XXXXXX", path[4200];
    if (!cfg) return 1;
    int rc = 1;
    json_t *summary = NULL, *context = NULL;
    struct collected col = {json_object()};
    int made_dir = 0;
    if (cli_config_load(cfg, config, sets, nsets, err, sizeof(err))) goto bad;

    json_error_t je;
    summary = json_load_file(input, 0, &je);
    if (!summary || !json_object_get(summary, "packets")) { /* not a summary: a capture */
        json_decref(summary);
        summary = NULL;
        if (access(input, R_OK)) {
            snprintf(err, sizeof(err), "%s: cannot read it", input);
            goto bad;
        }
        if (!mkdtemp(dir)) {
            snprintf(err, sizeof(err), "cannot make a temporary directory");
            goto bad;
        }
        made_dir = 1;
        int arc = analyze_into(input, dir, cfg, sets, nsets);
        if (arc > 1) {
            snprintf(err, sizeof(err), "%s: the analysis failed (status %d)", input, arc);
            goto bad;
        }
        snprintf(path, sizeof(path), "%s/summary.json", dir);
        summary = json_load_file(path, 0, &je);
        snprintf(path, sizeof(path), "%s/events.jsonl", dir);
        events_path = path;
    }
    if (!summary) {
        snprintf(err, sizeof(err), "no summary came out of %s", input);
        goto bad;
    }
    /* incidents from the events, closed at the end like a finished file */
    json_t *top = json_array();
    if (events_path) {
        FILE *f = fopen(events_path, "r");
        if (!f) {
            json_decref(top);
            snprintf(err, sizeof(err), "%s: cannot read it", events_path);
            goto bad;
        }
        struct incident_engine *eng = incident_engine_new(&cfg->incident, "ask", collect, &col);
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int64_t off = 0;
        while (eng && (n = getline(&line, &cap, f)) > 0) {
            json_t *ev = json_loadb(line, (size_t)n, 0, NULL);
            if (ev) {
                incident_engine_add(eng, ev, off);
                const char *sev = json_string_value(json_object_get(ev, "severity"));
                if (sev && strcmp(sev, "info") && json_array_size(top) < ASK_TOP_EVENTS)
                    json_array_append(top, ev);
            }
            json_decref(ev);
            off++;
        }
        free(line);
        fclose(f);
        if (eng) incident_engine_finish(eng);
        incident_engine_free(eng);
    }
    json_t *incidents = json_array();
    const char *id;
    json_t *rec;
    json_object_foreach(col.incidents, id, rec)
    {
        json_t *brief = json_pack(
            "{s:O, s:O, s:O, s:O, s:O}", "key", json_object_get(rec, "key"), "severity",
            json_object_get(rec, "severity"), "events", json_object_get(rec, "events"), "counts",
            json_object_get(rec, "counts"), "diagnosis", json_object_get(rec, "diagnosis"));
        if (brief) json_array_append_new(incidents, brief);
    }
    context = json_pack("{s:o, s:o, s:o}", "summary", summary_context(summary), "incidents",
                        incidents, "top_events", top);

    struct llm_client *llm = NULL;
    if (llm_client_new(&cfg->llm, &llm, err, sizeof(err))) goto bad;
    if (llm) {
        char *ctx = json_dumps(context, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        size_t len = (ctx ? strlen(ctx) : 0) + strlen(question) + 200;
        char *user = malloc(len);
        if (ctx && user)
            snprintf(user, len, "Question: %s\n\nWhat ticktap found in the capture (JSON):\n%s",
                     question, ctx);
        struct llm_redaction map = {0};
        char *sent = user && cfg->llm.redact_addresses ? llm_redact(user, &map) : user;
        struct llm_answer a;
        int arc = sent ? llm_complete(llm, enrich_system_prompt, sent, &a) : -1;
        if (!arc) {
            char *text = cfg->llm.redact_addresses ? llm_unredact(a.text, &map) : NULL;
            print_wrapped("", text ? text : a.text);
            printf("\n(%s, %" PRIu64 " tokens, %.1f s%s)\n", a.model,
                   a.prompt_tokens + a.completion_tokens, (double)a.latency_ns / 1e9,
                   a.cached ? ", cached" : "");
            free(text);
            rc = 0;
        } else {
            fprintf(stderr,
                    "ticktap ask: the LLM gave no answer: %s; the rule-based findings "
                    "follow\n",
                    sent ? a.error : "out of memory");
        }
        llm_answer_free(&a);
        if (sent != user) free(sent);
        free(user);
        free(ctx);
        llm_redaction_free(&map);
        llm_client_free(llm);
        if (!arc) goto done;
    }
    /* no LLM (or it failed): the findings that bear on the question, the worst first */
    printf("Question: %s\n\n", question);
    size_t shown = 0, relevant_n = 0;
    json_t *per_rule = json_object();
    for (int rank = 2; rank >= 0; rank--) {
        json_object_foreach(col.incidents, id, rec)
        {
            if (severity_rank(rec) != rank || !relevant(question, rec)) continue;
            relevant_n++;
            json_t *d = json_object_get(rec, "diagnosis");
            /* at most ASK_PER_RULE of one diagnosis: the others are more of the same */
            const char *rule = json_string_value(json_object_get(d, "rule"));
            json_int_t same = json_integer_value(json_object_get(per_rule, rule));
            json_object_set_new(per_rule, rule, json_integer(same + 1));
            if (same >= ASK_PER_RULE || shown >= ASK_SHOWN) continue;
            printf("[%s] %s (%" JSON_INTEGER_FORMAT " event%s)\n",
                   json_string_value(json_object_get(rec, "severity")),
                   json_string_value(json_object_get(rec, "key")),
                   json_integer_value(json_object_get(rec, "events")),
                   json_integer_value(json_object_get(rec, "events")) == 1 ? "" : "s");
            print_wrapped("  cause: ", json_string_value(json_object_get(d, "cause")));
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(d, "evidence"), i, e)
                print_wrapped("  - ", json_string_value(e));
            putchar('\n');
            shown++;
        }
    }
    if (relevant_n > shown) {
        printf("... and %zu more:", relevant_n - shown);
        const char *rule;
        json_t *n;
        int first = 1;
        json_object_foreach(per_rule, rule, n)
        {
            json_int_t more =
                json_integer_value(n) > ASK_PER_RULE ? json_integer_value(n) - ASK_PER_RULE : 0;
            if (more) printf("%s %" JSON_INTEGER_FORMAT " %s", first ? "" : ",", more, rule);
            first &= !more;
        }
        printf(" (ticktap enrich --events lists every incident)\n\n");
    }
    json_decref(per_rule);
    if (!shown)
        printf("No finding bears on this question (%zu incident(s) in all%s).\n\n",
               json_object_size(col.incidents), events_path ? "" : "; give the events with -e");
    if (!llm)
        printf("No LLM is configured, so these are ticktap's rule-based findings. For an answer "
               "in words,\nset llm.base_url and llm.model (--set or -c) and the key in "
               "$TICKTAP_LLM_API_KEY.\n");
    rc = 0;
done:
    json_decref(context);
    json_decref(summary);
    json_decref(col.incidents);
    if (made_dir) {
        char rm[4200];
        snprintf(rm, sizeof(rm), "%s/summary.json", dir);
        unlink(rm);
        snprintf(rm, sizeof(rm), "%s/events.jsonl", dir);
        unlink(rm);
        rmdir(dir);
    }
    free(cfg);
    return rc;
bad:
    fprintf(stderr, "ticktap ask: %s\n", err);
    rc = 1;
    goto done;
}
