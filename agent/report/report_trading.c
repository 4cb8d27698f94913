/* report_trading.c - trading sessions, message counts and latency distributions as JSON and
 * as text (see report_trading.h). */
#include "report_trading.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

json_t *report_latency_json(const struct hist *h)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:I}", "p50", hist_quantile(h, 0.50) / 1e3, "p90",
                     hist_quantile(h, 0.90) / 1e3, "p99", hist_quantile(h, 0.99) / 1e3, "p99.9",
                     hist_quantile(h, 0.999) / 1e3, "max", h->max / 1e3, "n", (json_int_t)h->n);
}

void report_latency_line(FILE *out, const char *title, const struct hist *h)
{
    if (!h->n) {
        fprintf(out, "  %-22s no samples\n", title);
        return;
    }
    fprintf(out,
            "  %-22s n=%-8" PRIu64
            " p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
            title, h->n, hist_quantile(h, 0.5) / 1e3, hist_quantile(h, 0.9) / 1e3,
            hist_quantile(h, 0.99) / 1e3, hist_quantile(h, 0.999) / 1e3, h->max / 1e3);
}

static int cmp_session(const void *a, const void *b)
{
    const struct trading_session_stats *x = *(const struct trading_session_stats *const *)a;
    const struct trading_session_stats *y = *(const struct trading_session_stats *const *)b;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Sessions of the table, sorted; returns how many. */
static uint32_t sorted_sessions(const struct trading_stats *t,
                                const struct trading_session_stats **out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->nsessions; i++)
        out[n++] = &t->sessions[i];
    qsort(out, n, sizeof(out[0]), cmp_session);
    return n;
}

#define JI(v) json_integer((json_int_t)(v))

struct named_count {
    const char *k;
    uint64_t v;
};

static void set_counts(json_t *o, const struct named_count *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, f[i].k, JI(f[i].v));
}

static json_t *fix_session_json(const struct trading_session_stats *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "messages",
                        json_pack("{s:I, s:I}", "from_initiator", (json_int_t)s->messages[0],
                                  "from_acceptor", (json_int_t)s->messages[1]));
    const struct named_count f[] = {
        {"logons", s->logons},
        {"logouts", s->logouts},
        {"seq_gaps", s->seq_gaps},
        {"seq_missing", s->seq_missing},
        {"seq_too_low", s->seq_too_low},
        {"resend_requests", s->resend_requests},
        {"gap_fills", s->gap_fills},
        {"sequence_resets", s->seq_resets},
        {"poss_dup", s->poss_dup},
        {"rejects", s->rejects},
        {"business_rejects", s->business_rejects},
        {"order_rejects", s->order_rejects},
        {"heartbeats_missed", s->heartbeats_missed},
        {"test_requests", s->test_requests},
        {"bad_checksum", s->bad_checksum},
        {"unanswered_orders", s->unanswered},
    };
    set_counts(o, f, sizeof(f) / sizeof(f[0]));
    json_t *orders = json_object();
    for (int p = 0; p < OP_MAX; p++)
        json_object_set_new(orders, order_pair_name((enum order_pair)p), JI(s->orders[p]));
    json_object_set_new(o, "orders", orders);
    json_object_set_new(o, "order_latency_us", report_latency_json(&s->latency));
    return o;
}

static json_t *md_session_json(const struct trading_session_stats *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "protocol", json_string(trading_kind_name((enum trading_kind)s->kind)));
    json_object_set_new(o, "gaps", JI(s->md_gaps));
    json_object_set_new(o, "lost", JI(s->md_lost));
    json_object_set_new(o, "duplicates", JI(s->md_duplicates));
    json_object_set_new(o, "end_of_session", JI(s->end_of_session));
    json_object_set_new(o, "latency_negative", JI(s->latency_negative));
    json_object_set_new(o, "latency_us", report_latency_json(&s->latency));
    json_object_set_new(o, "feed_skew_us", report_latency_json(&s->skew));
    json_t *feeds = json_array();
    for (uint32_t i = 0; i < s->nfeeds; i++) {
        const struct md_feed_stats *f = &s->feed[i];
        if (!f->name[0]) continue;
        json_array_append_new(
            feeds,
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "name", f->name, "packets",
                      (json_int_t)f->packets, "messages", (json_int_t)f->messages, "heartbeats",
                      (json_int_t)f->heartbeats, "gaps", (json_int_t)f->gaps, "lost",
                      (json_int_t)f->lost, "duplicates", (json_int_t)f->duplicates, "trailed",
                      (json_int_t)f->trailed, "trail_max_us", (double)f->trail_max_ns / 1e3));
    }
    json_object_set_new(o, "feeds", feeds);
    return o;
}

static json_t *soup_session_json(const struct trading_session_stats *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "messages",
                        json_pack("{s:I, s:I}", "from_client", (json_int_t)s->messages[0],
                                  "from_server", (json_int_t)s->messages[1]));
    const struct named_count f[] = {
        {"logins_accepted", s->logins_accepted},
        {"logins_rejected", s->logins_rejected},
        {"sequenced", s->sequenced},
        {"unsequenced", s->unsequenced},
        {"heartbeats", s->soup_heartbeats},
        {"end_of_session", s->end_of_session},
        {"accepted", s->accepted},
        {"rejected", s->order_rejects},
        {"canceled", s->canceled},
        {"executions", s->executions},
        {"unanswered_orders", s->unanswered},
    };
    set_counts(o, f, sizeof(f) / sizeof(f[0]));
    json_t *orders = json_object();
    static const char *const names[OP_MAX] = {"enter_order", "cancel", "replace"};
    for (int p = 0; p < OP_MAX; p++)
        json_object_set_new(orders, names[p], JI(s->orders[p]));
    json_object_set_new(o, "orders", orders);
    json_object_set_new(o, "order_latency_us", report_latency_json(&s->latency));
    return o;
}

static json_t *type_counts(const uint64_t *types)
{
    json_t *o = json_object();
    for (int i = 0; i < 256; i++)
        if (types[i]) {
            char k[8];
            if (i > 0x20 && i < 0x7f)
                snprintf(k, sizeof(k), "%c", i);
            else
                snprintf(k, sizeof(k), "0x%02x", i);
            json_object_set_new(o, k, JI(types[i]));
        }
    return o;
}

json_t *report_trading_json(const struct trading_stats *t)
{
    const struct trading_session_stats *ss[TRADING_SESSIONS_MAX];
    uint32_t n = sorted_sessions(t, ss);
    json_t *root = json_object();
    const struct stream_counters *r = &t->stream;
    json_object_set_new(
        root, "reassembly",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "segments", (json_int_t)r->segments,
                  "bytes_delivered", (json_int_t)r->bytes_delivered, "duplicates",
                  (json_int_t)r->duplicates, "overlap_bytes", (json_int_t)r->overlap_bytes,
                  "out_of_order_held", (json_int_t)r->ooo_held, "holes_skipped",
                  (json_int_t)r->holes_skipped, "hole_bytes", (json_int_t)r->hole_bytes,
                  "discarded_bytes", (json_int_t)r->discarded_bytes));

    json_t *fix = json_object();
    json_object_set_new(fix, "messages", JI(t->fix_messages));
    json_object_set_new(fix, "garbage_bytes", JI(t->fix_garbage_bytes));
    json_t *types = json_object();
    for (int i = 0; i < FIX_TYPES_MAX && t->fix_types[i].n; i++)
        json_object_set_new(types, t->fix_types[i].type, JI(t->fix_types[i].n));
    if (t->fix_types_other) json_object_set_new(types, "other", JI(t->fix_types_other));
    json_object_set_new(fix, "messages_by_type", types);
    json_t *ol = json_object();
    for (int p = 0; p < OP_MAX; p++)
        json_object_set_new(ol, order_pair_name((enum order_pair)p),
                            report_latency_json(&t->order_latency[p]));
    json_object_set_new(fix, "order_latency_us", ol);
    json_t *fs = json_array();
    for (uint32_t i = 0; i < n; i++)
        if (ss[i]->kind == TK_FIX) json_array_append_new(fs, fix_session_json(ss[i]));
    json_object_set_new(fix, "sessions", fs);
    json_object_set_new(root, "fix", fix);

    json_t *soup = json_object();
    json_object_set_new(soup, "packets", JI(t->soup_packets));
    json_object_set_new(soup, "garbage_bytes", JI(t->soup_garbage_bytes));
    json_object_set_new(soup, "ouch_client_messages_by_type", type_counts(t->ouch_client_types));
    json_object_set_new(soup, "ouch_server_messages_by_type", type_counts(t->ouch_server_types));
    json_t *sl = json_object();
    static const char *const ouch_pairs[OP_MAX] = {"enter_order", "cancel", "replace"};
    for (int p = 0; p < OP_MAX; p++)
        json_object_set_new(sl, ouch_pairs[p], report_latency_json(&t->ouch_latency[p]));
    json_object_set_new(soup, "order_latency_us", sl);
    json_t *sps = json_array();
    for (uint32_t i = 0; i < n; i++)
        if (ss[i]->kind == TK_SOUP) json_array_append_new(sps, soup_session_json(ss[i]));
    json_object_set_new(soup, "sessions", sps);
    json_object_set_new(root, "soupbintcp", soup);

    json_t *md = json_object();
    json_t *itch = type_counts(t->itch_types);
    json_object_set_new(md, "moldudp64",
                        json_pack("{s:I, s:I, s:I, s:o, s:o}", "packets",
                                  (json_int_t)t->mold_packets, "messages",
                                  (json_int_t)t->mold_messages, "heartbeats",
                                  (json_int_t)t->mold_heartbeats, "itch_messages_by_type", itch,
                                  "itch_latency_us", report_latency_json(&t->itch_latency)));
    json_t *tpl = json_object();
    for (int i = 0; i < 256; i++)
        if (t->mdp3_templates[i]) {
            char k[8];
            snprintf(k, sizeof(k), "%d", i);
            json_object_set_new(tpl, k, JI(t->mdp3_templates[i]));
        }
    if (t->mdp3_templates_other) json_object_set_new(tpl, "other", JI(t->mdp3_templates_other));
    json_object_set_new(md, "mdp3",
                        json_pack("{s:I, s:I, s:o, s:o}", "packets", (json_int_t)t->mdp3_packets,
                                  "messages", (json_int_t)t->mdp3_messages, "messages_by_template",
                                  tpl, "latency_us", report_latency_json(&t->mdp3_latency)));
    json_t *ms = json_array();
    for (uint32_t i = 0; i < n; i++)
        if (ss[i]->kind == TK_MOLD || ss[i]->kind == TK_MDP3)
            json_array_append_new(ms, md_session_json(ss[i]));
    json_object_set_new(md, "sessions", ms);
    json_object_set_new(root, "md", md);
    json_object_set_new(root, "sessions_untracked", JI(t->sessions_untracked));
    json_object_set_new(root, "tap_timestamps",
                        json_pack("{s:I, s:I, s:I, s:I}", "metamako_trailers",
                                  (json_int_t)t->hw_ts_frames[1], "arista_headers",
                                  (json_int_t)t->hw_ts_frames[2], "capture_minus_tap_min_ns",
                                  (json_int_t)t->hw_ts_offset_min_ns, "capture_minus_tap_max_ns",
                                  (json_int_t)t->hw_ts_offset_max_ns));
    json_object_set_new(root, "microbursts",
                        json_pack("{s:I, s:I, s:I, s:f}", "count", (json_int_t)t->bursts.bursts,
                                  "bytes", (json_int_t)t->bursts.bytes, "peak_bps",
                                  (json_int_t)t->bursts.peak_bps, "longest_us",
                                  (double)t->bursts.longest_ns / 1e3));
    return root;
}

static uint64_t fix_findings(const struct trading_session_stats *s)
{
    return s->seq_gaps + s->resend_requests + s->rejects + s->business_rejects + s->order_rejects +
           s->heartbeats_missed + s->bad_checksum + s->unanswered;
}

static int cmp_findings(const void *a, const void *b)
{
    const struct trading_session_stats *x = *(const struct trading_session_stats *const *)a;
    const struct trading_session_stats *y = *(const struct trading_session_stats *const *)b;
    uint64_t fx = fix_findings(x), fy = fix_findings(y);
    if (fx != fy) return fx > fy ? -1 : 1;
    return strcmp(x->name, y->name);
}

#define HUMAN_SESSIONS 5 /* sessions detailed in the human summary, the worst first */

static void human_fix(const struct trading_stats *t, const struct trading_session_stats **ss,
                      uint32_t n, FILE *out)
{
    const struct trading_session_stats *fs[TRADING_SESSIONS_MAX];
    uint32_t nf = 0;
    struct trading_session_stats sum;
    memset(&sum, 0, offsetof(struct trading_session_stats, latency));
    for (uint32_t i = 0; i < n; i++) {
        if (ss[i]->kind != TK_FIX) continue;
        fs[nf++] = ss[i];
        const uint64_t *src = &ss[i]->messages[0];
        uint64_t *dst = &sum.messages[0];
        for (size_t k = 0; k <= (size_t)(&ss[i]->unanswered - src); k++)
            dst[k] += src[k];
    }
    fprintf(out, "  FIX: %" PRIu64 " messages in %u session%s", t->fix_messages, nf,
            nf == 1 ? "" : "s");
    if (t->stream.holes_skipped)
        fprintf(out, ", %" PRIu64 " TCP holes skipped (%" PRIu64 " bytes)", t->stream.holes_skipped,
                t->stream.hole_bytes);
    fprintf(out,
            "\n    seq gaps %" PRIu64 " (%" PRIu64 " missing), resend requests %" PRIu64
            ", gap fills %" PRIu64 ", poss-dup %" PRIu64 ", heartbeats missed %" PRIu64
            ", logouts %" PRIu64 "\n    rejects: session %" PRIu64 ", business %" PRIu64
            ", order %" PRIu64 "; orders %" PRIu64 " new, %" PRIu64 " cancel, %" PRIu64
            " replace, unanswered %" PRIu64 "\n",
            sum.seq_gaps, sum.seq_missing, sum.resend_requests, sum.gap_fills, sum.poss_dup,
            sum.heartbeats_missed, sum.logouts, sum.rejects, sum.business_rejects,
            sum.order_rejects, sum.orders[OP_NEW], sum.orders[OP_CANCEL], sum.orders[OP_REPLACE],
            sum.unanswered);
    for (int p = 0; p < OP_MAX; p++)
        if (t->order_latency[p].n) {
            char title[48];
            snprintf(title, sizeof(title), "%s -> first ack", order_pair_name((enum order_pair)p));
            report_latency_line(out, title, &t->order_latency[p]);
        }
    qsort(fs, nf, sizeof(fs[0]), cmp_findings);
    for (uint32_t i = 0; i < nf && i < HUMAN_SESSIONS && fix_findings(fs[i]); i++) {
        const struct trading_session_stats *s = fs[i];
        fprintf(
            out,
            "  session %s: %" PRIu64 "+%" PRIu64 " msgs, seq gaps %" PRIu64
            ", resend requests %" PRIu64 ", rejects %" PRIu64 "/%" PRIu64 "/%" PRIu64
            " (session/business/order), heartbeats missed %" PRIu64 ", unanswered %" PRIu64 "\n",
            s->name, s->messages[0], s->messages[1], s->seq_gaps, s->resend_requests, s->rejects,
            s->business_rejects, s->order_rejects, s->heartbeats_missed, s->unanswered);
    }
}

static uint64_t md_findings(const struct trading_session_stats *s)
{
    uint64_t n = s->md_gaps + s->md_duplicates + s->latency_negative;
    for (uint32_t k = 0; k < s->nfeeds; k++)
        n += s->feed[k].gaps;
    return n;
}

static int cmp_md_findings(const void *a, const void *b)
{
    const struct trading_session_stats *x = *(const struct trading_session_stats *const *)a;
    const struct trading_session_stats *y = *(const struct trading_session_stats *const *)b;
    uint64_t fx = md_findings(x), fy = md_findings(y);
    if (fx != fy) return fx > fy ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void human_md(const struct trading_stats *t, const struct trading_session_stats **ss,
                     uint32_t n, FILE *out)
{
    const struct trading_session_stats *ms[TRADING_SESSIONS_MAX];
    uint32_t nm = 0;
    uint64_t gaps = 0, lost = 0, dups = 0, feed_gaps = 0;
    for (uint32_t i = 0; i < n; i++)
        if (ss[i]->kind == TK_MOLD || ss[i]->kind == TK_MDP3) {
            ms[nm++] = ss[i];
            gaps += ss[i]->md_gaps;
            lost += ss[i]->md_lost;
            dups += ss[i]->md_duplicates;
            for (uint32_t k = 0; k < ss[i]->nfeeds; k++)
                feed_gaps += ss[i]->feed[k].gaps;
        }
    fprintf(out,
            "  market data: %u sessions; MoldUDP64 %" PRIu64 " packets / %" PRIu64
            " messages, MDP3 %" PRIu64 " packets / %" PRIu64 " messages\n"
            "    gaps %" PRIu64 " (%" PRIu64
            " messages no feed delivered); feeds' own gaps %" PRIu64
            " (the other feed filled all but those); duplicates %" PRIu64 "\n",
            nm, t->mold_packets, t->mold_messages, t->mdp3_packets, t->mdp3_messages, gaps, lost,
            feed_gaps, dups);
    if (t->itch_latency.n) report_latency_line(out, "ITCH feed latency", &t->itch_latency);
    if (t->mdp3_latency.n) report_latency_line(out, "MDP3 feed latency", &t->mdp3_latency);
    qsort(ms, nm, sizeof(ms[0]), cmp_md_findings);
    for (uint32_t i = 0; i < nm && i < HUMAN_SESSIONS && md_findings(ms[i]); i++) {
        const struct trading_session_stats *s = ms[i];
        fprintf(out, "  %s %s: gaps %" PRIu64 " (%" PRIu64 " lost), duplicates %" PRIu64 "\n",
                trading_kind_name((enum trading_kind)s->kind), s->name, s->md_gaps, s->md_lost,
                s->md_duplicates);
        for (uint32_t k = 0; k < s->nfeeds; k++)
            if (s->feed[k].name[0])
                fprintf(out,
                        "    feed %-26s packets %-8" PRIu64 " own gaps %" PRIu64 " (%" PRIu64
                        " lost), trailed %" PRIu64 " times (max %.1f us)\n",
                        s->feed[k].name, s->feed[k].packets, s->feed[k].gaps, s->feed[k].lost,
                        s->feed[k].trailed, (double)s->feed[k].trail_max_ns / 1e3);
        if (s->skew.n) report_latency_line(out, "  A/B skew", &s->skew);
    }
}

static void human_soup(const struct trading_stats *t, const struct trading_session_stats **ss,
                       uint32_t n, FILE *out)
{
    uint32_t ns = 0;
    for (uint32_t i = 0; i < n; i++)
        ns += ss[i]->kind == TK_SOUP;
    fprintf(out, "  SoupBinTCP/OUCH: %" PRIu64 " packets in %u session%s\n", t->soup_packets, ns,
            ns == 1 ? "" : "s");
    static const char *const names[OP_MAX] = {"enter order", "cancel", "replace"};
    for (int p = 0; p < OP_MAX; p++)
        if (t->ouch_latency[p].n) {
            char title[48];
            snprintf(title, sizeof(title), "%s -> first ack", names[p]);
            report_latency_line(out, title, &t->ouch_latency[p]);
        }
    uint32_t shown = 0;
    for (uint32_t i = 0; i < n && shown < HUMAN_SESSIONS; i++) {
        const struct trading_session_stats *s = ss[i];
        if (s->kind != TK_SOUP) continue;
        shown++;
        fprintf(out,
                "  session %s: logins %" PRIu64 " accepted / %" PRIu64 " rejected, orders %" PRIu64
                " (accepted %" PRIu64 ", rejected %" PRIu64 ", canceled %" PRIu64
                ", executions %" PRIu64 "), unanswered %" PRIu64 "\n",
                s->name, s->logins_accepted, s->logins_rejected, s->orders[OP_NEW], s->accepted,
                s->order_rejects, s->canceled, s->executions, s->unanswered);
    }
}

void report_trading_human(const struct trading_stats *t, FILE *out)
{
    if (!t->fix_messages && !t->mold_packets && !t->mdp3_packets && !t->soup_packets &&
        !t->bursts.bursts)
        return;
    const struct trading_session_stats *ss[TRADING_SESSIONS_MAX];
    uint32_t n = sorted_sessions(t, ss);
    fprintf(out, "\nTrading\n");
    if (t->fix_messages) human_fix(t, ss, n, out);
    if (t->soup_packets) human_soup(t, ss, n, out);
    if (t->mold_packets || t->mdp3_packets) human_md(t, ss, n, out);
    if (t->bursts.bursts)
        fprintf(out,
                "  microbursts: %" PRIu64 " (%" PRIu64 " bytes), peak %.2f Gb/s, longest %.1f us\n",
                t->bursts.bursts, t->bursts.bytes, (double)t->bursts.peak_bps / 1e9,
                (double)t->bursts.longest_ns / 1e3);
    if (t->sessions_untracked)
        fprintf(out, "  (%" PRIu64 " sessions beyond the table: in the totals only)\n",
                t->sessions_untracked);
}
