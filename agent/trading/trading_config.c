/* trading_config.c - parsing of the trading settings (see trading_config.h). */
#include "trading_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/netparse.h"
#include "fix.h"
#include "mdp3.h"
#include "moldudp64.h"

/* Tags that carry credentials: Password, NewPassword, RawData (FIX 4.x logon secrets). */
static const uint32_t credential_tags[] = {554, 925, 96, 95};

void trading_config_defaults(struct trading_config *tc)
{
    memset(tc, 0, sizeof(*tc));
    tc->enabled = 1;
    tc->detect = 1;
    tc->max_sessions = 256;
    tc->stream_buffer = 32768;
    tc->hole_timeout_ns = 500000000ull;
    tc->fix_max_message = 16384;
    tc->heartbeat_tolerance = 20;
    tc->pending_orders = 16384; /* 384 KiB: stays in cache; outstanding orders are few */
    tc->arbitration_window_ns = 50000000ull;
    tc->md_sessions = 256;
    snprintf(tc->itch_timezone, sizeof(tc->itch_timezone), "America/New_York");
}

static int parse_ports(const char *s, uint8_t *set, const char *what, char *err, size_t errlen)
{
    memset(set, 0, 65536 / 8);
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save = NULL, *item = strtok_r(buf, ", ", &save); item;
         item = strtok_r(NULL, ", ", &save)) {
        struct port_range r;
        if (port_range_parse(item, &r)) {
            snprintf(err, errlen, "%s: '%s' is not a port or range (like 9876,9880-9889)", what,
                     item);
            return -1;
        }
        for (uint32_t p = r.lo; p <= r.hi; p++)
            set[p >> 3] |= (uint8_t)(1u << (p & 7));
    }
    return 0;
}

int trading_feed_set(struct trading_config *tc, const char *key, const char *value, char *err,
                     size_t errlen)
{
    const char *field;
    int idx = list_index(key, &field, TRADING_FEED_PAIRS_MAX);
    if (idx < 0) {
        snprintf(err, errlen, "'trading.feeds.%s': at most %d feed pairs", key,
                 TRADING_FEED_PAIRS_MAX);
        return -1;
    }
    struct md_feed_pair *p = &tc->pairs[idx];
    if (!p->used) snprintf(p->name, sizeof(p->name), "feed%d", idx + 1);
    p->used = 1;
    if (!strcmp(field, "name")) {
        snprintf(p->name, sizeof(p->name), "%s", value);
        return 0;
    }
    if (!strcmp(field, "a") || !strcmp(field, "b")) {
        int side = field[0] == 'b';
        if (group_port_parse(value, p->addr[side], &p->family[side], &p->port[side])) {
            snprintf(err, errlen, "feed %s: '%s' is not GROUP:PORT (like 233.54.12.111:26477)",
                     field, value);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "unknown feed setting '%s' (name, a, b)", field);
    return -1;
}

static int zone_exists(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    return access(path, R_OK) == 0;
}

int trading_config_finish(struct trading_config *tc, char *err, size_t errlen)
{
    if (parse_ports(tc->fix_ports_str, tc->fix_ports, "trading.fix.ports", err, errlen) ||
        parse_ports(tc->mold_ports_str, tc->mold_ports, "trading.moldudp64.ports", err, errlen) ||
        parse_ports(tc->mdp3_ports_str, tc->mdp3_ports, "trading.mdp3.ports", err, errlen) ||
        parse_ports(tc->soup_ports_str, tc->soup_ports, "trading.soupbintcp.ports", err, errlen))
        return -1;
    tc->nredact = 0;
    for (size_t i = 0; i < sizeof(credential_tags) / sizeof(credential_tags[0]); i++)
        tc->redact_tags[tc->nredact++] = credential_tags[i];
    for (const char *s = tc->redact_str; *s;) {
        char *end;
        long t = strtol(s, &end, 10);
        if (end == s || t <= 0 || t > 99999 || tc->nredact == TRADING_REDACT_MAX) {
            snprintf(err, errlen, "trading.fix.redact_tags: '%s' is not a list of tag numbers", s);
            return -1;
        }
        tc->redact_tags[tc->nredact++] = (uint32_t)t;
        s = end;
        while (*s == ',' || *s == ' ')
            s++;
    }
    tc->npairs = 0;
    for (int i = 0; i < TRADING_FEED_PAIRS_MAX; i++)
        if (tc->pairs[i].used) tc->npairs = i + 1;
    for (int i = 0; i < TRADING_FEED_PAIRS_MAX; i++)
        if (tc->pairs[i].used && (!tc->pairs[i].family[0] || !tc->pairs[i].family[1])) {
            snprintf(err, errlen, "feed pair '%s' needs both a and b (GROUP:PORT)",
                     tc->pairs[i].name);
            return -1;
        }
    if (tc->itch_timezone[0] && !strpbrk(tc->itch_timezone, "0123456789,") &&
        (strstr(tc->itch_timezone, "..") || !zone_exists(tc->itch_timezone))) {
        snprintf(err, errlen,
                 "trading.itch_timezone '%s': no such time zone (a name from /usr/share/zoneinfo, "
                 "like America/New_York or UTC)",
                 tc->itch_timezone);
        return -1;
    }
    if (tc->stream_buffer < 1024 || tc->max_sessions < 1 || tc->md_sessions < 1 ||
        tc->fix_max_message < 64 || tc->fix_max_message > FIX_MAX_MESSAGE) {
        snprintf(err, errlen,
                 "trading.stream_buffer must be >= 1024, trading.max_sessions and "
                 "trading.md_sessions >= 1, trading.fix.max_message 64..65535");
        return -1;
    }
    return 0;
}

int trading_tag_redacted(const struct trading_config *tc, uint32_t tag)
{
    for (uint32_t i = 0; i < tc->nredact; i++)
        if (tc->redact_tags[i] == tag) return 1;
    return 0;
}

int trading_pair_of(const struct trading_config *tc, const uint8_t dst[16], uint16_t port,
                    int *side)
{
    for (int i = 0; i < tc->npairs; i++) { /* checked per market-data packet: few, if any */
        const struct md_feed_pair *p = &tc->pairs[i];
        if (!p->used) continue;
        for (int s = 0; s < 2; s++)
            if (p->port[s] == port && !memcmp(p->addr[s], dst, 16)) {
                *side = s;
                return i;
            }
    }
    return -1;
}

uint64_t trading_steer_key(const struct trading_config *tc, const uint8_t dst[16], uint16_t dport,
                           const uint8_t *payload, size_t len)
{
    if (!tc->enabled) return 0;
    int side;
    int pair = tc->npairs ? trading_pair_of(tc, dst, dport, &side) : -1;
    if (pair >= 0) return 0x7070000000000000ull | (uint64_t)(pair + 1);
    return trading_mold_steer_key(tc, addr16_is_multicast(dst), dport, payload, len);
}
