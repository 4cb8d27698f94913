/* serve.c - the web UI of serve.h: requests, uploads, child analyses, retention. */
#include "serve.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const char serve_page[];
extern const unsigned long serve_page_len;

#define MAX_ID 32
static const char *const RESULT_FILES[] = {"capture",     "summary.json",  "events.jsonl",
                                           "report.html", "progress.json", "progress.json.tmp",
                                           "log.txt",     "meta.json"};

struct server {
    const struct serve_options *o;
    pthread_mutex_t mu;
    char running[MAX_ID]; /* the analysis in progress, "" when none */
    pid_t pid;
    uint32_t seq;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (!n || n >= MAX_ID) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || id[i] == '-')) return 0;
    return 1;
}

static void path_of(const struct server *s, const char *id, const char *file, char *out, size_t len)
{
    snprintf(out, len, "%s/%s%s%s", s->o->dir, id, file ? "/" : "", file ? file : "");
}

static json_t *read_json(const char *path)
{
    return json_load_file(path, 0, NULL);
}

static void write_meta(const struct server *s, const char *id, json_t *meta)
{
    char p[4200], tmp[4300];
    path_of(s, id, "meta.json", p, sizeof(p));
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    if (!json_dump_file(meta, tmp, JSON_COMPACT)) rename(tmp, p);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s) return MHD_NO;
    return reply(c, status, "application/json", s, strlen(s), MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply_json(c, status, json_pack("{s:s}", "error", msg));
}

/* ---- analyses --------------------------------------------------------------------------- */

static void remove_analysis(const struct server *s, const char *id)
{
    char p[4200];
    for (size_t i = 0; i < sizeof(RESULT_FILES) / sizeof(RESULT_FILES[0]); i++) {
        path_of(s, id, RESULT_FILES[i], p, sizeof(p));
        unlink(p);
    }
    path_of(s, id, NULL, p, sizeof(p));
    rmdir(p);
}

static int cmp_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

/* The ids kept, newest first (ids sort by time). The caller frees the array and its strings. */
static char **list_ids(const struct server *s, size_t *n)
{
    *n = 0;
    DIR *d = opendir(s->o->dir);
    if (!d) return NULL;
    char **ids = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!valid_id(e->d_name)) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            char **x = realloc(ids, cap * sizeof(*x));
            if (!x) break;
            ids = x;
        }
        ids[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*n) qsort(ids, *n, sizeof(*ids), cmp_desc);
    return ids;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* Keeps the newest `keep` analyses; never the running one. Under mu. */
static void retain(struct server *s)
{
    size_t n;
    char **ids = list_ids(s, &n);
    for (size_t i = s->o->keep; i < n; i++)
        if (strcmp(ids[i], s->running)) remove_analysis(s, ids[i]);
    free_ids(ids, n);
}

/* Reaps the child when it has ended and records how. Under mu. */
static void reap(struct server *s)
{
    if (!s->running[0] || s->pid <= 0) return; /* none, or still uploading */
    int st;
    pid_t r = waitpid(s->pid, &st, WNOHANG);
    if (r == 0) return;
    char p[4200];
    path_of(s, s->running, "meta.json", p, sizeof(p));
    json_t *meta = read_json(p);
    if (!meta) meta = json_object();
    int code = r < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    /* 3: a capture damaged part-way still has results for what came before */
    int ok = code == 0 || code == 3;
    json_object_set_new(meta, "state", json_string(ok ? "done" : "failed"));
    json_object_set_new(meta, "exit_status", json_integer(code));
    if (!ok || code == 3) { /* the analysis said why on its last line */
        char log[4200], line[512] = "", last[512] = "";
        path_of(s, s->running, "log.txt", log, sizeof(log));
        FILE *f = fopen(log, "r");
        while (f && fgets(line, sizeof(line), f))
            if (strstr(line, "ticktap")) snprintf(last, sizeof(last), "%s", line);
        if (f) fclose(f);
        last[strcspn(last, "\n")] = 0;
        json_object_set_new(meta, "error",
                            json_string(last[0] ? last : "the analysis stopped without a reason"));
    }
    path_of(s, s->running, "summary.json", p, sizeof(p));
    json_t *sum = read_json(p);
    if (sum) json_object_set(meta, "packets", json_object_get(sum, "packets"));
    json_decref(sum);
    write_meta(s, s->running, meta);
    json_decref(meta);
    s->running[0] = 0;
    retain(s);
}

static int start_analysis(struct server *s, const char *id)
{
    char cap[4200], sum[4200], ev[4200], rep[4200], prog[4200], log[4200];
    path_of(s, id, "capture", cap, sizeof(cap));
    path_of(s, id, "summary.json", sum, sizeof(sum));
    path_of(s, id, "events.jsonl", ev, sizeof(ev));
    path_of(s, id, "report.html", rep, sizeof(rep));
    path_of(s, id, "progress.json", prog, sizeof(prog));
    path_of(s, id, "log.txt", log, sizeof(log));
    const char *argv[32 + 64];
    int n = 0;
    argv[n++] = s->o->self;
    argv[n++] = "analyze";
    argv[n++] = "-q";
    for (const char *const *a =
             (const char *const[]){"-s", sum, "-e", ev, "-r", rep, "--progress", prog, NULL};
         *a; a++)
        argv[n++] = *a;
    for (int i = 0; i < s->o->nargs && n < 90; i++)
        argv[n++] = s->o->args[i];
    argv[n++] = cap;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(s->o->self, (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    snprintf(s->running, sizeof(s->running), "%s", id);
    return 0;
}

/* ---- requests --------------------------------------------------------------------------- */

enum { BODY_UPLOAD = 1, BODY_ASK = 2 };

struct upload {
    int kind; /* BODY_UPLOAD */
    char id[MAX_ID];
    int fd;
    uint64_t bytes;
    int too_big, failed;
    uint8_t head[8];
};

static int authorized(struct server *s, struct MHD_Connection *c)
{
    if (!s->o->token) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    size_t tl = strlen(s->o->token);
    if (h && !strncmp(h, "Bearer ", 7) && strlen(h + 7) == tl && !strcmp(h + 7, s->o->token))
        return 1;
    return q && strlen(q) == tl && !strcmp(q, s->o->token);
}

static int is_capture(const uint8_t *h, uint64_t n)
{
    if (n < 4) return 0;
    uint32_t m = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    return m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1 ||
           m == 0x0a0d0d0a || (h[0] == 0x1f && h[1] == 0x8b); /* pcap (us, ns), pcapng, gzip */
}

static enum MHD_Result upload_chunk(struct server *s, struct MHD_Connection *c, struct upload *u,
                                    const char *data, size_t *size)
{
    if (*size) {
        if (!u->too_big && !u->failed) {
            if (u->bytes + *size > s->o->max_upload) {
                u->too_big = 1;
            } else {
                size_t head = u->bytes < 8 ? 8 - (size_t)u->bytes : 0;
                if (head) memcpy(u->head + u->bytes, data, head < *size ? head : *size);
                if (write(u->fd, data, *size) != (ssize_t)*size) u->failed = 1;
                u->bytes += *size;
            }
        }
        *size = 0;
        return MHD_YES;
    }
    /* the whole body is in */
    close(u->fd);
    u->fd = -1;
    pthread_mutex_lock(&s->mu);
    enum MHD_Result r;
    char msg[256];
    if (u->too_big || u->failed || !is_capture(u->head, u->bytes)) {
        remove_analysis(s, u->id);
        if (u->too_big)
            snprintf(msg, sizeof(msg),
                     "the upload is over the limit of %" PRIu64 " MB (--max-upload)",
                     s->o->max_upload >> 20);
        else if (u->failed)
            snprintf(msg, sizeof(msg), "the upload could not be stored (disk full?)");
        else
            snprintf(msg, sizeof(msg),
                     "not a capture: give a pcap, pcapng or gzip-compressed file");
        s->running[0] = 0;
        pthread_mutex_unlock(&s->mu);
        return reply_error(c, u->too_big ? 413 : MHD_HTTP_BAD_REQUEST, msg);
    }
    if (start_analysis(s, u->id)) {
        remove_analysis(s, u->id);
        s->running[0] = 0;
        pthread_mutex_unlock(&s->mu);
        return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot start the analysis");
    }
    char p[4200];
    path_of(s, u->id, "meta.json", p, sizeof(p));
    json_t *meta = read_json(p);
    json_object_set_new(meta, "size", json_integer((json_int_t)u->bytes));
    write_meta(s, u->id, meta);
    json_decref(meta);
    pthread_mutex_unlock(&s->mu);
    r = reply_json(c, MHD_HTTP_ACCEPTED, json_pack("{s:s}", "id", u->id));
    return r;
}

/* The first call of an upload: the checks that need no body, then the file. */
static enum MHD_Result upload_begin(struct server *s, struct MHD_Connection *c, void **con_cls)
{
    const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (len && strtoull(len, NULL, 10) > s->o->max_upload) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the upload is over the limit of %" PRIu64 " MB (--max-upload)",
                 s->o->max_upload >> 20);
        return reply_error(c, 413, msg);
    }
    pthread_mutex_lock(&s->mu);
    reap(s);
    if (s->running[0]) {
        pthread_mutex_unlock(&s->mu);
        return reply_error(c, MHD_HTTP_CONFLICT,
                           "an analysis is running: wait for it to finish, then send this one");
    }
    struct upload *u = calloc(1, sizeof(*u));
    if (u) u->kind = BODY_UPLOAD;
    if (!u) {
        pthread_mutex_unlock(&s->mu);
        return MHD_NO;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    snprintf(u->id, sizeof(u->id), "%s-%u", stamp, ++s->seq % 1000);
    char p[4200];
    path_of(s, u->id, NULL, p, sizeof(p));
    mkdir(p, 0700);
    path_of(s, u->id, "capture", p, sizeof(p));
    u->fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (u->fd < 0) {
        pthread_mutex_unlock(&s->mu);
        free(u);
        return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot store the upload");
    }
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    json_t *meta = json_pack("{s:s, s:s, s:s, s:I}", "id", u->id, "name", name ? name : "capture",
                             "state", "running", "created", (json_int_t)now);
    write_meta(s, u->id, meta);
    json_decref(meta);
    snprintf(s->running, sizeof(s->running), "%s", u->id); /* reserved while it uploads */
    s->pid = -1;
    pthread_mutex_unlock(&s->mu);
    *con_cls = u;
    return MHD_YES;
}

static enum MHD_Result status_of(struct server *s, struct MHD_Connection *c, const char *id)
{
    if (!valid_id(id)) return reply_error(c, MHD_HTTP_NOT_FOUND, "no such analysis");
    pthread_mutex_lock(&s->mu);
    if (s->pid > 0) reap(s);
    pthread_mutex_unlock(&s->mu);
    char p[4200];
    path_of(s, id, "meta.json", p, sizeof(p));
    json_t *meta = read_json(p);
    if (!meta) return reply_error(c, MHD_HTTP_NOT_FOUND, "no such analysis");
    path_of(s, id, "progress.json", p, sizeof(p));
    json_t *prog = read_json(p);
    if (prog) json_object_set_new(meta, "progress", prog);
    return reply_json(c, MHD_HTTP_OK, meta);
}

static enum MHD_Result list(struct server *s, struct MHD_Connection *c)
{
    pthread_mutex_lock(&s->mu);
    if (s->pid > 0) reap(s);
    pthread_mutex_unlock(&s->mu);
    size_t n;
    char **ids = list_ids(s, &n);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char p[4200];
        path_of(s, ids[i], "meta.json", p, sizeof(p));
        json_t *m = read_json(p);
        if (m) json_array_append_new(a, m);
    }
    free_ids(ids, n);
    return reply_json(c, MHD_HTTP_OK, json_pack("{s:o, s:b}", "analyses", a, "ask", s->o->llm));
}

static enum MHD_Result report(struct server *s, struct MHD_Connection *c, const char *id)
{
    char p[4200];
    if (!valid_id(id)) return reply_error(c, MHD_HTTP_NOT_FOUND, "no such report");
    path_of(s, id, "report.html", p, sizeof(p));
    int fd = open(p, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb)) {
        if (fd >= 0) close(fd);
        return reply_error(c, MHD_HTTP_NOT_FOUND, "no report (yet) for this analysis");
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

struct body {
    int kind; /* BODY_ASK */
    char buf[8192];
    size_t n;
};

static enum MHD_Result ask(struct server *s, struct MHD_Connection *c, struct body *b)
{
    if (!s->o->llm)
        return reply_error(c, MHD_HTTP_BAD_REQUEST,
                           "no LLM is configured: start ticktap serve with --set llm.base_url=... "
                           "--set llm.model=... and $TICKTAP_LLM_API_KEY");
    json_t *req = json_loadb(b->buf, b->n, 0, NULL);
    const char *id = json_string_value(json_object_get(req, "id"));
    const char *q = json_string_value(json_object_get(req, "question"));
    if (!id || !q || !valid_id(id) || !*q) {
        json_decref(req);
        return reply_error(c, MHD_HTTP_BAD_REQUEST, "give {\"id\": ..., \"question\": ...}");
    }
    char sum[4200], ev[4200];
    path_of(s, id, "summary.json", sum, sizeof(sum));
    path_of(s, id, "events.jsonl", ev, sizeof(ev));
    int pfd[2];
    if (access(sum, R_OK) || pipe(pfd)) {
        json_decref(req);
        return reply_error(c, MHD_HTTP_NOT_FOUND, "no finished analysis with that id");
    }
    const char *argv[80];
    int n = 0;
    argv[n++] = s->o->self;
    argv[n++] = "ask";
    argv[n++] = q;
    argv[n++] = sum;
    argv[n++] = "-e";
    argv[n++] = ev;
    for (int i = 0; i < s->o->nargs && n < 78; i++)
        argv[n++] = s->o->args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        execv(s->o->self, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char *out = NULL;
    size_t len = 0;
    FILE *f = fdopen(pfd[0], "r");
    char chunk[4096];
    size_t k;
    while (f && (k = fread(chunk, 1, sizeof(chunk), f)) > 0 && len < (1u << 20)) {
        char *x = realloc(out, len + k + 1);
        if (!x) break;
        out = x;
        memcpy(out + len, chunk, k);
        len += k;
        out[len] = 0;
    }
    if (f) fclose(f);
    int st = 0;
    if (pid > 0) waitpid(pid, &st, 0);
    json_decref(req);
    json_t *resp = json_pack("{s:s, s:i}", "answer", out ? out : "", "exit_status",
                             WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    free(out);
    return reply_json(c, MHD_HTTP_OK, resp);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **con_cls)
{
    (void)version;
    struct server *s = cls;
    int post = !strcmp(method, "POST"), get = !strcmp(method, "GET");
    if (*con_cls) { /* a body in progress */
        if (*(int *)*con_cls == BODY_UPLOAD) return upload_chunk(s, c, *con_cls, data, size);
        struct body *b = *con_cls;
        if (*size) {
            size_t take = *size < sizeof(b->buf) - b->n ? *size : sizeof(b->buf) - b->n;
            memcpy(b->buf + b->n, data, take);
            b->n += take;
            *size = 0;
            return MHD_YES;
        }
        return ask(s, c, b);
    }
    if (!authorized(s, c))
        return reply_error(c, MHD_HTTP_UNAUTHORIZED,
                           "this server needs its token: Authorization: Bearer TOKEN or ?token=");
    if (get && (!strcmp(url, "/") || !strcmp(url, "/index.html")))
        return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", serve_page, serve_page_len,
                     MHD_RESPMEM_PERSISTENT);
    if (get && !strcmp(url, "/api/analyses")) return list(s, c);
    if (get && !strncmp(url, "/api/analyses/", 14)) return status_of(s, c, url + 14);
    if (get && !strncmp(url, "/reports/", 9)) return report(s, c, url + 9);
    if (post && !strcmp(url, "/api/analyses")) return upload_begin(s, c, con_cls);
    if (post && !strcmp(url, "/api/ask")) {
        struct body *b = calloc(1, sizeof(*b));
        if (!b) return MHD_NO;
        b->kind = BODY_ASK;
        *con_cls = b;
        return MHD_YES;
    }
    return reply_error(c, MHD_HTTP_NOT_FOUND, "no such page");
}

static void done_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode why)
{
    (void)c;
    struct server *s = cls;
    if (!*con_cls) return;
    struct upload *u = *con_cls;
    /* an upload cut short: its reservation and file go */
    if (u->kind == BODY_UPLOAD && why != MHD_REQUEST_TERMINATED_COMPLETED_OK && u->fd >= 0 &&
        valid_id(u->id)) {
        close(u->fd);
        pthread_mutex_lock(&s->mu);
        if (!strcmp(s->running, u->id) && s->pid <= 0) s->running[0] = 0;
        remove_analysis(s, u->id);
        pthread_mutex_unlock(&s->mu);
    }
    free(*con_cls);
    *con_cls = NULL;
}

static int parse_listen(const char *addr, struct sockaddr_storage *ss, int *loopback)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr) return -1;
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof(host)) return -1;
    memcpy(host, addr, hl);
    host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) return -1;
    memset(ss, 0, sizeof(*ss));
    if (host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) return -1;
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return -1;
    *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    return 0;
}

int serve_run(const struct serve_options *o)
{
    struct sockaddr_storage ss;
    int loopback = 0;
    if (parse_listen(o->listen, &ss, &loopback)) {
        fprintf(stderr,
                "ticktap serve: --listen '%s': give HOST:PORT (127.0.0.1:8080, [::1]:8080)\n",
                o->listen);
        return 1;
    }
    if (!loopback && (!o->token || strlen(o->token) < 16)) {
        fprintf(stderr,
                "ticktap serve: %s is not loopback: give --token (at least 16 characters; "
                "or $TICKTAP_SERVE_TOKEN) so that only you can use it\n",
                o->listen);
        return 1;
    }
    if (mkdir(o->dir, 0700) && errno != EEXIST) {
        fprintf(stderr, "ticktap serve: %s: cannot make it: %s\n", o->dir, strerror(errno));
        return 1;
    }
    struct stat sb;
    if (stat(o->dir, &sb) || !S_ISDIR(sb.st_mode) || (sb.st_mode & 077)) {
        fprintf(stderr, "ticktap serve: %s: must be a directory only you can read (chmod 700)\n",
                o->dir);
        return 1;
    }
    struct server s = {.o = o};
    pthread_mutex_init(&s.mu, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                             (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                         0, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_NOTIFY_COMPLETED, done_cb, &s, MHD_OPTION_CONNECTION_LIMIT, 64u,
                         MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "ticktap serve: cannot listen on %s: %s (in use? another port?)\n",
                o->listen, strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "ticktap serve: http://%s:%u/%s%s (analyses in %s, %u kept)\n",
            ss.ss_family == AF_INET6 ? "[::1]" : (loopback ? "127.0.0.1" : "HOST"),
            di ? di->port : 0, o->token ? "?token=" : "", o->token ? "TOKEN" : "", o->dir, o->keep);
    while (!atomic_load(o->stop)) {
        struct timespec t = {0, 200000000};
        nanosleep(&t, NULL);
        pthread_mutex_lock(&s.mu);
        if (s.pid > 0) reap(&s);
        pthread_mutex_unlock(&s.mu);
    }
    MHD_stop_daemon(d);
    pthread_mutex_lock(&s.mu);
    if (s.running[0] && s.pid > 0) { /* the analysis in progress stops with the server */
        kill(s.pid, SIGINT);
        waitpid(s.pid, NULL, 0);
    }
    pthread_mutex_unlock(&s.mu);
    return 0;
}
