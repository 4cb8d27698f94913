/* live_config.c - interfaces and capture rules: parsing, checks, bit-vector compilation. */
#include "live_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_proto(const char *s, uint8_t *p)
{
    static const struct {
        const char *name;
        uint8_t num;
    } names[] = {{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"sctp", 132}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s, names[i].name)) {
            *p = names[i].num;
            return 0;
        }
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < 0 || v > 255) return -1;
    *p = (uint8_t)v;
    return 0;
}

static int iface_set(struct live_iface *ifc, const char *field, const char *v, char *err,
                     size_t errlen)
{
    ifc->used = 1;
    if (!strcmp(field, "name")) { /* checked against the mode in live_config_finish */
        if (strlen(v) >= sizeof(ifc->dev) || !*v) {
            snprintf(err, errlen, "interface name '%s': empty or too long", v);
            return -1;
        }
        snprintf(ifc->dev, sizeof(ifc->dev), "%s", v);
        snprintf(ifc->name, sizeof(ifc->name), "%.*s", (int)strcspn(v, ","), v);
    } else if (!strcmp(field, "mode")) {
        if (!strcmp(v, "host"))
            ifc->mode = LIVE_HOST;
        else if (!strcmp(v, "tap"))
            ifc->mode = LIVE_TAP;
        else if (!strcmp(v, "pcap"))
            ifc->mode = LIVE_PCAP;
        else if (!strcmp(v, "dpdk"))
            ifc->mode = LIVE_DPDK;
        else if (!strcmp(v, "auto"))
            ifc->mode = LIVE_TAP; /* and handed to DPDK when it saturates */
        else {
            snprintf(err, errlen, "interface mode '%s': use host, tap, pcap, dpdk or auto", v);
            return -1;
        }
        ifc->handoff = !strcmp(v, "auto");
    } else if (!strcmp(field, "xdp_mode")) {
        if (!strcmp(v, "auto"))
            ifc->attach = XDP_ATTACH_AUTO;
        else if (!strcmp(v, "native"))
            ifc->attach = XDP_ATTACH_NATIVE;
        else if (!strcmp(v, "generic"))
            ifc->attach = XDP_ATTACH_GENERIC;
        else {
            snprintf(err, errlen, "xdp_mode '%s': use auto, native or generic", v);
            return -1;
        }
    } else if (!strcmp(field, "unmatched")) {
        if (strcmp(v, "pass") && strcmp(v, "drop")) {
            snprintf(err, errlen, "unmatched '%s': use pass or drop", v);
            return -1;
        }
        ifc->pass_unmatched = !strcmp(v, "pass");
    } else if (!strcmp(field, "queues")) {
        char *end;
        long q = strtol(v, &end, 10);
        if (*end || q < 0 || q > 64) {
            snprintf(err, errlen, "queues '%s': give 0 (all) to 64", v);
            return -1;
        }
        ifc->queues = (uint32_t)q;
    } else if (!strcmp(field, "busy_poll")) {
        if (strcmp(v, "true") && strcmp(v, "false")) {
            snprintf(err, errlen, "busy_poll '%s': use true or false", v);
            return -1;
        }
        ifc->busy_poll = !strcmp(v, "true");
    } else if (!strcmp(field, "rss")) {
        if (strcmp(v, "l3l4") && strcmp(v, "l3")) {
            snprintf(err, errlen, "rss '%s': use l3l4 (addresses and ports) or l3", v);
            return -1;
        }
        ifc->rss_l3 = !strcmp(v, "l3");
    } else if (!strcmp(field, "rx_descriptors") || !strcmp(field, "mempool_size")) {
        char *end;
        long n = strtol(v, &end, 10);
        int pool = field[0] == 'm';
        if (pool && !strcmp(v, "auto")) {
            n = 0;
        } else if (*end || end == v || n < 1 || n > (pool ? 16777216 : 65536)) {
            snprintf(err, errlen, "%s '%s': give a number%s", field, v,
                     pool ? " of mbufs, or auto" : " of descriptors (64-65536)");
            return -1;
        }
        *(pool ? &ifc->mempool_size : &ifc->rx_descriptors) = (uint32_t)n;
    } else if (!strcmp(field, "handoff_to")) {
        if (strlen(v) >= sizeof(ifc->handoff_to)) {
            snprintf(err, errlen, "handoff_to '%s': too long", v);
            return -1;
        }
        snprintf(ifc->handoff_to, sizeof(ifc->handoff_to), "%s", v);
    } else if (!strcmp(field, "handoff_after") || !strcmp(field, "handback_after") ||
               !strcmp(field, "handback_below")) {
        char *end;
        long long n = strtoll(v, &end, 10);
        int below = !strcmp(field, "handback_below");
        if (*end || end == v || n < (below ? 0 : 1) || n > (below ? 1000000000LL : 10000)) {
            snprintf(err, errlen, "%s '%s': give %s", field, v,
                     below ? "frames per second (0: never back)"
                           : "a number of intervals (1-10000)");
            return -1;
        }
        if (below)
            ifc->handback_below = (uint64_t)n;
        else
            *(field[4] == 'o' ? &ifc->handoff_after : &ifc->handback_after) = (uint32_t)n;
    } else {
        snprintf(err, errlen,
                 "unknown interface setting '%s' (name, mode, xdp_mode, queues, unmatched, "
                 "rx_descriptors, mempool_size, rss, busy_poll, handoff_to, handoff_after, "
                 "handback_below, handback_after)",
                 field);
        return -1;
    }
    return 0;
}

/* Appends one item of a list field; "a,b" appends both. */
static int rule_add_item(struct capture_rule *r, const char *field, const char *item, char *err,
                         size_t errlen)
{
    if (!strcmp(field, "src") || !strcmp(field, "dst") || !strcmp(field, "group")) {
        int src = !strcmp(field, "src");
        uint8_t *n = src ? &r->nsrc : &r->ndst;
        if (*n >= RULE_MAX_ITEMS) goto full;
        struct cidr *c = src ? &r->src[*n] : &r->dst[*n];
        if (cidr_parse(item, c)) {
            snprintf(err, errlen, "rule '%s': %s '%s' is not an address or CIDR", r->name, field,
                     item);
            return -1;
        }
        if (field[0] == 'g' && !cidr_is_multicast(c)) {
            snprintf(err, errlen, "rule '%s': group '%s' is not a multicast address", r->name,
                     item);
            return -1;
        }
        (*n)++;
    } else if (!strcmp(field, "ports") || !strcmp(field, "port")) {
        if (r->nports >= RULE_MAX_ITEMS) goto full;
        if (port_range_parse(item, &r->ports[r->nports])) {
            snprintf(err, errlen, "rule '%s': port '%s': give N or LOW-HIGH within 0-65535",
                     r->name, item);
            return -1;
        }
        r->nports++;
    } else if (!strcmp(field, "vlan") || !strcmp(field, "vlans")) {
        char *end;
        long v = strtol(item, &end, 10);
        if (r->nvlans >= RULE_MAX_ITEMS) goto full;
        if (*end || end == item || v < 0 || v > 4094) {
            snprintf(err, errlen, "rule '%s': vlan '%s': give 1-4094 (0: untagged)", r->name, item);
            return -1;
        }
        r->vlans[r->nvlans++] = (uint16_t)v;
    } else if (!strcmp(field, "proto") || !strcmp(field, "protocol")) {
        if (r->nprotos >= RULE_MAX_ITEMS) goto full;
        if (parse_proto(item, &r->protos[r->nprotos])) {
            snprintf(err, errlen, "rule '%s': proto '%s': use tcp, udp, icmp or a number", r->name,
                     item);
            return -1;
        }
        r->nprotos++;
    } else {
        snprintf(err, errlen,
                 "unknown rule setting '%s' (id, name, src, dst, group, ports, vlan, proto)",
                 field);
        return -1;
    }
    return 0;
full:
    snprintf(err, errlen, "rule '%s': more than %d items in '%s' (split the rule)", r->name,
             RULE_MAX_ITEMS, field);
    return -1;
}

static int rule_set(struct capture_rule *r, const char *field, const char *v, char *err,
                    size_t errlen)
{
    r->used = 1;
    if (!strcmp(field, "name")) {
        snprintf(r->name, sizeof(r->name), "%s", v);
        return 0;
    }
    if (!strcmp(field, "id")) {
        char *end;
        long id = strtol(v, &end, 10);
        if (*end || id < 1 || id > 255) {
            snprintf(err, errlen, "rule id '%s': give 1 to 255", v);
            return -1;
        }
        r->id = (uint32_t)id;
        return 0;
    }
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", v);
    char *save = NULL;
    for (char *item = strtok_r(buf, ", ", &save); item; item = strtok_r(NULL, ", ", &save))
        if (rule_add_item(r, field, item, err, errlen)) return -1;
    return 0;
}

int live_config_set(struct live_config *lc, const char *key, const char *value, char *err,
                    size_t errlen)
{
    const char *field;
    int idx;
    if (!strncmp(key, "capture.interfaces.", 19)) {
        if ((idx = list_index(key + 19, &field, LIVE_MAX_IFACES)) < 0) {
            snprintf(err, errlen, "'%s': at most %d interfaces", key, LIVE_MAX_IFACES);
            return -1;
        }
        struct live_iface *ifc = &lc->ifaces[idx];
        if (!ifc->used) {
            ifc->pass_unmatched = 1;
            ifc->mode = LIVE_HOST;
            ifc->handoff_after = 3;
            ifc->handback_after = 10;
        }
        return iface_set(ifc, field, value, err, errlen);
    }
    if (!strncmp(key, "rules.", 6)) {
        if ((idx = list_index(key + 6, &field, LIVE_MAX_RULES)) < 0) {
            snprintf(err, errlen, "'%s': at most %d rules", key, LIVE_MAX_RULES);
            return -1;
        }
        struct capture_rule *r = &lc->rules[idx];
        if (!r->used && !r->name[0]) snprintf(r->name, sizeof(r->name), "rule%d", idx + 1);
        return rule_set(r, field, value, err, errlen);
    }
    snprintf(err, errlen, "unknown setting '%s'", key);
    return -1;
}

int live_config_finish(struct live_config *lc, char *err, size_t errlen)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < LIVE_MAX_IFACES; i++) {
        if (!lc->ifaces[i].used) continue;
        if (!lc->ifaces[i].name[0]) {
            snprintf(err, errlen, "capture.interfaces[%u] has no name", i);
            return -1;
        }
        if (lc->ifaces[i].mode != LIVE_DPDK && strcmp(lc->ifaces[i].dev, lc->ifaces[i].name)) {
            snprintf(err, errlen,
                     "interface name '%s': a network interface has at most 15 "
                     "characters (a DPDK device string wants mode: dpdk)",
                     lc->ifaces[i].dev);
            return -1;
        }
        for (uint32_t j = 0; j < n; j++)
            if (!strcmp(lc->ifaces[j].name, lc->ifaces[i].name)) {
                snprintf(err, errlen, "interface %s is listed twice", lc->ifaces[i].name);
                return -1;
            }
        lc->ifaces[n++] = lc->ifaces[i];
    }
    for (uint32_t i = n; i < LIVE_MAX_IFACES; i++)
        memset(&lc->ifaces[i], 0, sizeof(lc->ifaces[i]));
    lc->nifaces = n;

    n = 0;
    for (uint32_t i = 0; i < LIVE_MAX_RULES; i++) {
        struct capture_rule *r = &lc->rules[i];
        if (!r->used) continue;
        if (!r->id) r->id = i + 1;
        if (i != n) lc->rules[n] = *r;
        n++;
    }
    for (uint32_t i = n; i < LIVE_MAX_RULES; i++)
        memset(&lc->rules[i], 0, sizeof(lc->rules[i]));
    lc->nrules = n;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < i; j++)
            if (lc->rules[i].id == lc->rules[j].id) {
                snprintf(err, errlen, "rules '%s' and '%s' share id %u (ids must be unique)",
                         lc->rules[j].name, lc->rules[i].name, lc->rules[i].id);
                return -1;
            }
    return 0;
}

/* Does prefix a contain prefix b? */
static int cidr_covers(const struct cidr *a, const struct cidr *b)
{
    if (a->family != b->family || a->plen > b->plen) return 0;
    for (int bit = 0; bit < a->plen; bit++) {
        uint8_t m = (uint8_t)(0x80 >> (bit % 8));
        if ((a->addr[bit / 8] & m) != (b->addr[bit / 8] & m)) return 0;
    }
    return 1;
}

/* Every distinct prefix of one field (src or dst) with the rules of every prefix covering it:
 * the LPM trie returns only the longest match, which must therefore carry them all. */
static int compile_prefixes(const struct live_config *lc, int dst, struct lpm_entry **out,
                            uint32_t *nout)
{
    uint32_t cap = 0;
    for (uint32_t i = 0; i < lc->nrules; i++)
        cap += dst ? lc->rules[i].ndst : lc->rules[i].nsrc;
    struct lpm_entry *e = calloc(cap ? cap : 1, sizeof(*e));
    if (!e) return -ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < lc->nrules; i++) {
        const struct capture_rule *r = &lc->rules[i];
        const struct cidr *list = dst ? r->dst : r->src;
        for (uint32_t k = 0; k < (dst ? r->ndst : r->nsrc); k++) {
            uint32_t j = 0;
            while (j < n && memcmp(&e[j].net, &list[k], sizeof(struct cidr)))
                j++;
            if (j == n) e[n++].net = list[k];
        }
    }
    for (uint32_t j = 0; j < n; j++)
        for (uint32_t i = 0; i < lc->nrules; i++) {
            const struct capture_rule *r = &lc->rules[i];
            const struct cidr *list = dst ? r->dst : r->src;
            for (uint32_t k = 0; k < (dst ? r->ndst : r->nsrc); k++)
                if (cidr_covers(&list[k], &e[j].net)) e[j].rules |= 1ull << i;
        }
    *out = e;
    *nout = n;
    return 0;
}

int rules_compile(const struct live_config *lc, struct compiled_rules *c)
{
    memset(c, 0, sizeof(*c));
    c->port = calloc(65536, sizeof(uint64_t));
    c->vlan = calloc(4096, sizeof(uint64_t));
    if (!c->port || !c->vlan || compile_prefixes(lc, 0, &c->src, &c->nsrc) ||
        compile_prefixes(lc, 1, &c->dst, &c->ndst)) {
        rules_compiled_free(c);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < lc->nrules && i < LIVE_MAX_RULES; i++) {
        const struct capture_rule *r = &lc->rules[i];
        uint64_t bit = 1ull << i;
        c->active |= bit;
        c->id[i] = (uint8_t)r->id;
        if (!r->nsrc) c->any_src |= bit;
        if (!r->ndst) c->any_dst |= bit;
        if (!r->nports) c->any_port |= bit;
        if (!r->nvlans) c->any_vlan |= bit;
        if (!r->nprotos) c->any_proto |= bit;
        for (uint32_t k = 0; k < r->nports; k++)
            for (uint32_t p = r->ports[k].lo; p <= r->ports[k].hi; p++)
                c->port[p] |= bit;
        for (uint32_t k = 0; k < r->nvlans; k++)
            c->vlan[r->vlans[k]] |= bit;
        for (uint32_t k = 0; k < r->nprotos; k++)
            c->proto[r->protos[k]] |= bit;
    }
    return 0;
}

void rules_compiled_free(struct compiled_rules *c)
{
    free(c->src);
    free(c->dst);
    free(c->port);
    free(c->vlan);
    memset(c, 0, sizeof(*c));
}

static void cat(char *out, size_t len, const char *s)
{
    strncat(out, s, len - strlen(out) - 1);
}

static void cidr_str(const struct cidr *c, char *buf, size_t len)
{
    char a[64];
    inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
    snprintf(buf, len, "%s/%u", a, c->plen);
}

int rules_pcap_filter(const struct live_config *lc, char *out, size_t len, char *err, size_t errlen)
{
    out[0] = 0;
    char item[96];
    for (uint32_t i = 0; i < lc->nrules; i++) {
        const struct capture_rule *r = &lc->rules[i];
        if (r->nvlans) {
            snprintf(err, errlen, "rule '%s': VLAN rules need host or tap mode, not pcap", r->name);
            return -1;
        }
        if (!r->nsrc && !r->ndst && !r->nports && !r->nprotos) {
            out[0] = 0; /* a rule that takes everything: no filter at all */
            return 0;
        }
        cat(out, len, i ? " or (" : "(");
        int parts = 0;
        for (int dst = 0; dst < 2; dst++) {
            uint32_t n = dst ? r->ndst : r->nsrc;
            if (!n) continue;
            cat(out, len, parts++ ? " and (" : "(");
            for (uint32_t k = 0; k < n; k++) {
                char c[80];
                cidr_str(dst ? &r->dst[k] : &r->src[k], c, sizeof(c));
                snprintf(item, sizeof(item), "%s%s net %s", k ? " or " : "", dst ? "dst" : "src",
                         c);
                cat(out, len, item);
            }
            cat(out, len, ")");
        }
        if (r->nports) {
            cat(out, len, parts++ ? " and (" : "(");
            for (uint32_t k = 0; k < r->nports; k++) {
                if (r->ports[k].lo == r->ports[k].hi)
                    snprintf(item, sizeof(item), "%sport %u", k ? " or " : "", r->ports[k].lo);
                else
                    snprintf(item, sizeof(item), "%sportrange %u-%u", k ? " or " : "",
                             r->ports[k].lo, r->ports[k].hi);
                cat(out, len, item);
            }
            cat(out, len, ")");
        }
        if (r->nprotos) {
            cat(out, len, parts++ ? " and (" : "(");
            for (uint32_t k = 0; k < r->nprotos; k++) {
                snprintf(item, sizeof(item), "%sip proto %u or ip6 proto %u", k ? " or " : "",
                         r->protos[k], r->protos[k]);
                cat(out, len, item);
            }
            cat(out, len, ")");
        }
        cat(out, len, ")");
    }
    if (strlen(out) + 1 >= len) {
        snprintf(err, errlen, "the rules make a pcap filter longer than %zu characters", len);
        return -1;
    }
    return 0;
}
