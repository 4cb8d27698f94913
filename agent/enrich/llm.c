/* llm.c - the chat-completions client of llm.h. */
#include "llm.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#define NS_PER_S 1000000000ull
#define HOUR_NS (3600 * NS_PER_S)

void llm_config_default(struct llm_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->api_key_env, sizeof(c->api_key_env), "TICKTAP_LLM_API_KEY");
    c->timeout_ns = 30 * NS_PER_S;
    c->retries = 3;
    c->backoff_ns = NS_PER_S;
    c->retry_after_max_ns = 60 * NS_PER_S;
    c->concurrency = 2;
    c->requests_per_hour = 120;
    c->tokens_per_hour = 200000;
    c->max_tokens = 400;
    c->cache_entries = 256;
    c->redact_addresses = 1;
}

struct cache_entry {
    uint64_t hash;
    int state; /* 0 empty, 1 in flight, 2 answered */
    char *text;
    char model[128];
    uint64_t prompt_tokens, completion_tokens;
};

struct spend {
    uint64_t t_ns, tokens;
};

struct llm_client {
    struct llm_config cfg;
    char *key; /* NULL: none (loopback servers) */
    char url[300];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t in_flight;
    struct cache_entry *cache;
    uint32_t cache_next;
    struct spend *spent; /* a ring of the last requests_per_hour (or 4096) requests */
    uint32_t nspent, spent_cap, spent_head;
    struct llm_stats st;
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec t = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
    while (nanosleep(&t, &t) && errno == EINTR) {
    }
}

static int loopback_url(const char *url)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    return !strncmp(h, "127.", 4) || !strncmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5);
}

static char *read_key_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[1024];
    char *k = NULL;
    if (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        k = strdup(line);
    }
    fclose(f);
    return k;
}

int llm_client_new(const struct llm_config *cfg, struct llm_client **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg->base_url[0]) return 0;
    if (!cfg->model[0]) {
        snprintf(err, errlen, "llm.base_url is set but llm.model is not: name the model");
        return -1;
    }
    if (strncmp(cfg->base_url, "https://", 8) && strncmp(cfg->base_url, "http://", 7)) {
        snprintf(err, errlen, "llm.base_url '%s': give an http:// or https:// URL", cfg->base_url);
        return -1;
    }
    if (!cfg->concurrency) {
        snprintf(err, errlen, "llm.concurrency must be at least 1");
        return -1;
    }
    struct llm_client *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->cfg = *cfg;
    const char *env = cfg->api_key_env[0] ? getenv(cfg->api_key_env) : NULL;
    if (env && *env)
        c->key = strdup(env);
    else if (cfg->api_key_file[0] && !(c->key = read_key_file(cfg->api_key_file))) {
        snprintf(err, errlen, "llm.api_key_file %s: cannot read it (%s)", cfg->api_key_file,
                 strerror(errno));
        free(c);
        return -1;
    }
    if (!c->key && !loopback_url(cfg->base_url)) {
        snprintf(err, errlen, "no LLM API key: set %s (or llm.api_key_file) for %s",
                 cfg->api_key_env[0] ? cfg->api_key_env : "TICKTAP_LLM_API_KEY", cfg->base_url);
        free(c);
        return -1;
    }
    size_t bl = strlen(cfg->base_url);
    snprintf(c->url, sizeof(c->url), "%.*s/chat/completions",
             (int)(bl && cfg->base_url[bl - 1] == '/' ? bl - 1 : bl), cfg->base_url);
    c->spent_cap = cfg->requests_per_hour ? cfg->requests_per_hour : 4096;
    c->spent = calloc(c->spent_cap, sizeof(*c->spent));
    c->cache = cfg->cache_entries ? calloc(cfg->cache_entries, sizeof(*c->cache)) : NULL;
    if (!c->spent || (cfg->cache_entries && !c->cache) || curl_global_init(CURL_GLOBAL_DEFAULT)) {
        snprintf(err, errlen, "out of memory (or libcurl would not start)");
        llm_client_free(c);
        return -1;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    *out = c;
    return 0;
}

void llm_client_free(struct llm_client *c)
{
    if (!c) return;
    if (c->cache)
        for (uint32_t i = 0; i < c->cfg.cache_entries; i++)
            free(c->cache[i].text);
    free(c->cache);
    free(c->spent);
    if (c->key) {
        memset(c->key, 0, strlen(c->key));
        free(c->key);
    }
    free(c);
}

const char *llm_client_model(const struct llm_client *c)
{
    return c->cfg.model;
}

/* ---- budgets (under mu) ----------------------------------------------------------------- */

static void spent_window(struct llm_client *c, uint64_t now, uint64_t *reqs, uint64_t *tokens)
{
    *reqs = *tokens = 0;
    for (uint32_t k = 0; k < c->nspent; k++) {
        const struct spend *s = &c->spent[(c->spent_head + c->spent_cap - 1 - k) % c->spent_cap];
        if (now - s->t_ns >= HOUR_NS) break;
        (*reqs)++;
        *tokens += s->tokens;
    }
}

static int budget_allows(struct llm_client *c, char *why, size_t len)
{
    uint64_t reqs, tokens, now = now_ns();
    spent_window(c, now, &reqs, &tokens);
    if (c->cfg.requests_per_hour && reqs >= c->cfg.requests_per_hour) {
        snprintf(why, len,
                 "budget spent: %" PRIu64 " requests in the last hour (llm.requests_per_hour)",
                 reqs);
        return 0;
    }
    if (c->cfg.tokens_per_hour && tokens >= c->cfg.tokens_per_hour) {
        snprintf(why, len,
                 "budget spent: %" PRIu64 " tokens in the last hour (llm.tokens_per_hour)", tokens);
        return 0;
    }
    return 1;
}

static void spend(struct llm_client *c, uint64_t tokens)
{
    c->spent[c->spent_head] = (struct spend){now_ns(), tokens};
    c->spent_head = (c->spent_head + 1) % c->spent_cap;
    if (c->nspent < c->spent_cap) c->nspent++;
}

/* ---- one HTTP exchange ------------------------------------------------------------------ */

struct body {
    char *p;
    size_t n;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t add = size * nmemb;
    if (b->n + add > (8u << 20)) return 0; /* an answer this big is not one */
    char *p = realloc(b->p, b->n + add + 1);
    if (!p) return 0;
    memcpy(p + b->n, data, add);
    b->p = p;
    b->n += add;
    p[b->n] = 0;
    return add;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    uint64_t *retry_after = arg;
    size_t n = size * nmemb;
    if (n > 12 && !strncasecmp(data, "Retry-After:", 12)) {
        const char *v = data + 12;
        while (*v == ' ')
            v++;
        if (isdigit((unsigned char)*v)) *retry_after = strtoull(v, NULL, 10) * NS_PER_S;
    }
    return n;
}

/* 0: answered (a filled); 1: retry (after *wait_ns, 0 for the backoff); -1: failed. */
static int exchange(struct llm_client *c, const char *payload, struct llm_answer *a,
                    uint64_t *wait_ns)
{
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(a->error, sizeof(a->error), "libcurl: cannot make a handle");
        return -1;
    }
    struct body b = {0};
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (c->key) {
        char auth[1100];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->key);
        hdr = curl_slist_append(hdr, auth);
        memset(auth, 0, sizeof(auth));
    }
    uint64_t retry_after = 0;
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &retry_after);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->cfg.timeout_ns / 1000000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ticktap-enrich");
    if (c->cfg.ca_file[0]) curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg.ca_file);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    int out;
    if (rc != CURLE_OK) {
        snprintf(a->error, sizeof(a->error), "%s", curl_easy_strerror(rc));
        out = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                      rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL
                  ? -1 /* TLS and configuration faults do not heal by waiting */
                  : 1;
    } else if (status == 429 || status >= 500) {
        snprintf(a->error, sizeof(a->error), "HTTP %ld from the LLM server", status);
        *wait_ns = retry_after;
        out = 1;
    } else if (status != 200) {
        snprintf(a->error, sizeof(a->error), "HTTP %ld from the LLM server%s", status,
                 status == 401 || status == 403 ? " (check the API key)" : "");
        out = -1;
    } else {
        json_error_t je;
        json_t *root = b.p ? json_loads(b.p, 0, &je) : NULL;
        json_t *msg =
            json_object_get(json_array_get(json_object_get(root, "choices"), 0), "message");
        const char *text = json_string_value(json_object_get(msg, "content"));
        if (!text) {
            snprintf(a->error, sizeof(a->error), "malformed answer: no choices[0].message.content");
            out = -1;
        } else {
            a->text = strdup(text);
            json_t *u = json_object_get(root, "usage");
            a->prompt_tokens = (uint64_t)json_integer_value(json_object_get(u, "prompt_tokens"));
            a->completion_tokens =
                (uint64_t)json_integer_value(json_object_get(u, "completion_tokens"));
            const char *m = json_string_value(json_object_get(root, "model"));
            snprintf(a->model, sizeof(a->model), "%s", m ? m : c->cfg.model);
            a->error[0] = 0;
            out = a->text ? 0 : -1;
        }
        json_decref(root);
    }
    free(b.p);
    return out;
}

/* ---- the call --------------------------------------------------------------------------- */

static struct cache_entry *cache_find(struct llm_client *c, uint64_t hash)
{
    for (uint32_t i = 0; c->cache && i < c->cfg.cache_entries; i++)
        if (c->cache[i].state && c->cache[i].hash == hash) return &c->cache[i];
    return NULL;
}

static void answer_from(struct llm_answer *a, const struct cache_entry *e)
{
    a->text = strdup(e->text);
    snprintf(a->model, sizeof(a->model), "%s", e->model);
    a->prompt_tokens = e->prompt_tokens;
    a->completion_tokens = e->completion_tokens;
    a->cached = 1;
}

int llm_complete(struct llm_client *c, const char *system, const char *user, struct llm_answer *a)
{
    memset(a, 0, sizeof(*a));
    json_t *req =
        json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:i, s:f}", "model", c->cfg.model, "messages",
                  "role", "system", "content", system, "role", "user", "content", user,
                  "max_tokens", (json_int_t)c->cfg.max_tokens, "temperature", 0.0);
    char *payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!payload) {
        snprintf(a->error, sizeof(a->error), "out of memory");
        return -1;
    }
    XXH64_state_t *hs = XXH64_createState();
    XXH64_reset(hs, 0);
    XXH64_update(hs, payload, strlen(payload));
    uint64_t hash = XXH64_digest(hs);
    XXH64_freeState(hs);

    pthread_mutex_lock(&c->mu);
    struct cache_entry *e;
    while ((e = cache_find(c, hash)) && e->state == 1) /* the same prompt is being asked */
        pthread_cond_wait(&c->cv, &c->mu);
    if (e) {
        answer_from(a, e);
        c->st.cache_hits++;
        pthread_mutex_unlock(&c->mu);
        free(payload);
        return a->text ? 0 : -1;
    }
    if (!budget_allows(c, a->error, sizeof(a->error))) {
        c->st.budget_refusals++;
        c->st.failures++;
        pthread_mutex_unlock(&c->mu);
        free(payload);
        return -1;
    }
    if (c->cache) { /* claim a slot: identical prompts wait for this call */
        e = &c->cache[c->cache_next];
        c->cache_next = (c->cache_next + 1) % c->cfg.cache_entries;
        if (e->state == 1)
            e = NULL; /* every slot busy: no caching for this one */
        else {
            free(e->text);
            memset(e, 0, sizeof(*e));
            e->hash = hash;
            e->state = 1;
        }
    }
    while (c->in_flight >= c->cfg.concurrency)
        pthread_cond_wait(&c->cv, &c->mu);
    c->in_flight++;
    spend(c, 0); /* the request counts now; its tokens when they are known */
    c->st.calls++;
    pthread_mutex_unlock(&c->mu);

    uint64_t t0 = now_ns(), backoff = c->cfg.backoff_ns;
    int rc;
    for (;;) {
        uint64_t wait = 0;
        a->attempts++;
        rc = exchange(c, payload, a, &wait);
        if (rc <= 0 || a->attempts > c->cfg.retries) break;
        if (!wait) wait = backoff;
        if (wait > c->cfg.retry_after_max_ns) wait = c->cfg.retry_after_max_ns;
        backoff *= 2;
        pthread_mutex_lock(&c->mu);
        c->st.retries++;
        pthread_mutex_unlock(&c->mu);
        sleep_ns(wait);
    }
    if (rc > 0) rc = -1; /* retries exhausted: the last error stands */
    a->latency_ns = now_ns() - t0;
    free(payload);

    pthread_mutex_lock(&c->mu);
    c->in_flight--;
    c->spent[(c->spent_head + c->spent_cap - 1) % c->spent_cap].tokens +=
        a->prompt_tokens + a->completion_tokens;
    c->st.tokens_prompt += a->prompt_tokens;
    c->st.tokens_completion += a->completion_tokens;
    c->st.latency_sum_ns += a->latency_ns;
    if (a->latency_ns > c->st.latency_max_ns) c->st.latency_max_ns = a->latency_ns;
    if (rc) c->st.failures++;
    if (e) {
        if (!rc && (e->text = strdup(a->text))) {
            snprintf(e->model, sizeof(e->model), "%s", a->model);
            e->prompt_tokens = a->prompt_tokens;
            e->completion_tokens = a->completion_tokens;
            e->state = 2;
        } else {
            e->state = 0; /* a failure is not cached: the next incident may try again */
        }
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void llm_answer_free(struct llm_answer *a)
{
    free(a->text);
    a->text = NULL;
}

void llm_client_stats(struct llm_client *c, struct llm_stats *st)
{
    pthread_mutex_lock(&c->mu);
    *st = c->st;
    spent_window(c, now_ns(), &st->requests_last_hour, &st->tokens_last_hour);
    st->requests_left = c->cfg.requests_per_hour
                            ? (int64_t)c->cfg.requests_per_hour - (int64_t)st->requests_last_hour
                            : -1;
    st->tokens_left = c->cfg.tokens_per_hour
                          ? (int64_t)c->cfg.tokens_per_hour - (int64_t)st->tokens_last_hour
                          : -1;
    if (st->requests_left < -1) st->requests_left = 0;
    if (st->tokens_left < -1) st->tokens_left = 0;
    pthread_mutex_unlock(&c->mu);
}

/* ---- address placeholders --------------------------------------------------------------- */

/* The length of an IPv4 or IPv6 address starting at s, or 0. */
static size_t addr_len(const char *s)
{
    char tmp[48];
    size_t n = 0;
    while ((isdigit((unsigned char)s[n]) || s[n] == '.') && n < 15)
        n++;
    while (n && s[n - 1] == '.') /* a full stop ends a sentence, not an address */
        n--;
    struct in6_addr buf;
    if (n >= 7) {
        memcpy(tmp, s, n);
        tmp[n] = 0;
        if (inet_pton(AF_INET, tmp, &buf) == 1) return n;
    }
    n = 0;
    while ((isxdigit((unsigned char)s[n]) || s[n] == ':' || s[n] == '.') && n < 45)
        n++;
    while (n && (s[n - 1] == '.' || (s[n - 1] == ':' && !(n > 1 && s[n - 2] == ':'))))
        n--;
    if (n < 2 || !memchr(s, ':', n)) return 0;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    return inet_pton(AF_INET6, tmp, &buf) == 1 ? n : 0;
}

static int word_char(int ch)
{
    return isalnum(ch) || ch == '_' || ch == ':' || ch == '.';
}

static int append(char **out, size_t *n, size_t *cap, const char *p, size_t len)
{
    if (*n + len + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 256) + len;
        char *q = realloc(*out, nc);
        if (!q) return -1;
        *out = q;
        *cap = nc;
    }
    memcpy(*out + *n, p, len);
    *n += len;
    (*out)[*n] = 0;
    return 0;
}

char *llm_redact(const char *text, struct llm_redaction *map)
{
    char *out = NULL;
    size_t n = 0, cap = 0;
    if (append(&out, &n, &cap, "", 0)) return NULL;
    for (const char *p = text; *p;) {
        /* "service:10.0.0.1" names one; "1.10.0.0.1" or "x10.0.0.1" are not */
        int starts = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '.' || p[-1] == '_');
        size_t len = starts ? addr_len(p) : 0;
        if (!len || (word_char((unsigned char)p[len]) && p[len] != ':' && p[len] != '.')) {
            if (append(&out, &n, &cap, p, 1)) goto oom;
            p++;
            continue;
        }
        char addr[48], name[24];
        memcpy(addr, p, len);
        addr[len] = 0;
        uint32_t k = 0;
        while (k < map->n && strcmp(map->addr[k], addr))
            k++;
        if (k == map->n) {
            if (map->n == map->cap) {
                uint32_t nc = map->cap ? map->cap * 2 : 16;
                char(*na)[48] = realloc(map->addr, nc * sizeof(*na));
                if (!na) goto oom;
                map->addr = na;
                map->cap = nc;
            }
            snprintf(map->addr[map->n++], sizeof(map->addr[0]), "%s", addr);
        }
        int m = snprintf(name, sizeof(name), "HOST%u", k + 1);
        if (append(&out, &n, &cap, name, (size_t)m)) goto oom;
        p += len;
    }
    return out;
oom:
    free(out);
    return NULL;
}

char *llm_unredact(const char *text, const struct llm_redaction *map)
{
    char *out = NULL;
    size_t n = 0, cap = 0;
    if (append(&out, &n, &cap, "", 0)) return NULL;
    for (const char *p = text; *p;) {
        if (!strncmp(p, "HOST", 4) && isdigit((unsigned char)p[4]) &&
            (p == text || !isalnum((unsigned char)p[-1]))) {
            char *end;
            unsigned long k = strtoul(p + 4, &end, 10);
            if (k >= 1 && k <= map->n && !isalnum((unsigned char)*end)) {
                if (append(&out, &n, &cap, map->addr[k - 1], strlen(map->addr[k - 1]))) goto oom;
                p = end;
                continue;
            }
        }
        if (append(&out, &n, &cap, p, 1)) goto oom;
        p++;
    }
    return out;
oom:
    free(out);
    return NULL;
}

void llm_redaction_free(struct llm_redaction *map)
{
    free(map->addr);
    memset(map, 0, sizeof(*map));
}
