/* llm.h - an OpenAI-compatible chat-completions client (libcurl, jansson), careful with money
 * and secrets.
 *
 * POST {base_url}/chat/completions with {model, messages: [system, user], max_tokens,
 * temperature 0}. The API key (environment variable llm.api_key_env, else the file
 * llm.api_key_file) travels only in the Authorization header; it is never logged or put in
 * a prompt. TLS peers are always verified (llm.ca_file adds a CA bundle).
 *
 * Each call: the cache first (key: a hash of the model and the prompt; a storm of identical
 * prompts waits for the one call in flight and shares its answer), then the budgets (requests
 * and tokens in the last hour), then at most llm.concurrency requests at once. 429 and 5xx
 * answers and transport errors (timeouts included) are retried llm.retries times with
 * exponential backoff from llm.backoff, or after Retry-After when the server says so (capped
 * at llm.retry_after_max). Any other status, or a body without choices[0].message.content,
 * fails at once. Thread-safe: llm_complete may be called from several threads.
 */
#ifndef TT_LLM_H
#define TT_LLM_H

#include <stddef.h>
#include <stdint.h>

struct llm_config {
    char base_url[256]; /* e.g. https://openrouter.ai/api/v1; empty: no LLM */
    char model[128];
    char api_key_env[128];  /* the environment variable holding the key */
    char api_key_file[256]; /* or a file holding it (first line) */
    char ca_file[256];      /* extra CA bundle for TLS; empty: the system's */
    uint64_t timeout_ns;    /* a whole request */
    uint32_t retries;
    uint64_t backoff_ns;         /* the first retry's wait; doubled each time */
    uint64_t retry_after_max_ns; /* a server's Retry-After is honoured up to this */
    uint32_t concurrency;        /* requests in flight at once */
    uint32_t requests_per_hour;  /* 0: no limit */
    uint64_t tokens_per_hour;    /* prompt + completion; 0: no limit */
    uint32_t max_tokens;         /* of an answer */
    uint32_t cache_entries;      /* answers kept (0: no cache) */
    uint32_t redact_addresses;   /* IP addresses replaced by placeholders in prompts */
};

void llm_config_default(struct llm_config *c);

struct llm_answer {
    char *text; /* malloc'd; NULL on failure */
    char model[128];
    uint64_t prompt_tokens, completion_tokens;
    uint64_t latency_ns; /* of the call that produced it (0 from the cache) */
    uint32_t attempts;
    int cached;
    char error[256]; /* on failure: why (budget, status, timeout, malformed answer) */
};

struct llm_stats {
    uint64_t calls, failures, retries, cache_hits, tokens_prompt, tokens_completion;
    uint64_t budget_refusals;
    uint64_t requests_last_hour, tokens_last_hour; /* what the budgets counted now */
    int64_t requests_left, tokens_left;            /* -1: no limit */
    uint64_t latency_sum_ns, latency_max_ns;
};

struct llm_client;

/* NULL *out (and 0) when base_url is empty: no LLM configured. -1 with a reason in err when
 * the configuration is unusable (no model, no key where one is needed, curl fails). A
 * missing key is allowed for loopback servers (Ollama, vLLM on 127.0.0.1). */
int llm_client_new(const struct llm_config *cfg, struct llm_client **out, char *err, size_t errlen);
void llm_client_free(struct llm_client *c);

/* Asks. Returns 0 with a->text set, or -1 with a->error. Blocks up to the timeouts and
 * retries. a is filled either way; llm_answer_free releases it. */
int llm_complete(struct llm_client *c, const char *system, const char *user, struct llm_answer *a);
void llm_answer_free(struct llm_answer *a);

void llm_client_stats(struct llm_client *c, struct llm_stats *st);
const char *llm_client_model(const struct llm_client *c);

/* ---- address placeholders ---------------------------------------------------------------
 * llm_redact replaces every IPv4 and IPv6 address in text by HOST1, HOST2... (the same
 * address, the same name) and records the mapping in map; llm_unredact maps the names in an
 * answer back. Both return malloc'd strings (NULL when out of memory). */
struct llm_redaction {
    char (*addr)[48];
    uint32_t n, cap;
};
char *llm_redact(const char *text, struct llm_redaction *map);
char *llm_unredact(const char *text, const struct llm_redaction *map);
void llm_redaction_free(struct llm_redaction *map);

#endif
