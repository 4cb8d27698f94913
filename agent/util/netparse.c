/* netparse.c - addresses, port ranges and list keys from settings (see netparse.h). */
#include "netparse.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cidr_parse(const char *s, struct cidr *out)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", s);
    char *slash = strchr(buf, '/');
    long plen = -1;
    if (slash) {
        char *end;
        *slash = 0;
        plen = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1)
            return -1;
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = 4;
        if (plen < 0)
            plen = 32;
        if (plen > 32)
            return -1;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = 6;
        if (plen < 0)
            plen = 128;
        if (plen > 128)
            return -1;
    } else {
        return -1;
    }
    out->plen = (uint8_t)plen;
    for (int bit = (int)plen; bit < 128; bit++) /* clear host bits: 10.1.2.3/16 is 10.1/16 */
        out->addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
    return 0;
}

int cidr_is_multicast(const struct cidr *c)
{
    return c->family == 4 ? (c->addr[0] & 0xf0) == 0xe0 : c->addr[0] == 0xff;
}

int port_range_parse(const char *s, struct port_range *r)
{
    char *end;
    long lo = strtol(s, &end, 10), hi = lo;
    if (end == s)
        return -1;
    if (*end == '-') {
        const char *h = end + 1;
        hi = strtol(h, &end, 10);
        if (end == h)
            return -1;
    }
    if (*end || lo < 0 || hi > 65535 || lo > hi)
        return -1;
    r->lo = (uint16_t)lo;
    r->hi = (uint16_t)hi;
    return 0;
}

int group_port_parse(const char *s, uint8_t addr[16], uint8_t *family, uint16_t *port)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *h = host;
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h[n - 1] = 0;
        h++;
    }
    struct cidr c;
    struct port_range pr;
    if (strchr(h, '/') || cidr_parse(h, &c) || port_range_parse(colon + 1, &pr) || pr.lo != pr.hi)
        return -1;
    memset(addr, 0, 16);
    if (c.family == 4) {
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, c.addr, 4);
    } else {
        memcpy(addr, c.addr, 16);
    }
    *family = c.family;
    *port = pr.lo;
    return 0;
}

int addr16_is_multicast(const uint8_t addr[16])
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!memcmp(addr, v4_mapped, 12))
        return (addr[12] & 0xf0) == 0xe0;
    return addr[0] == 0xff;
}

int list_index(const char *rest, const char **field, uint32_t max)
{
    char *end;
    long idx = strtol(rest, &end, 10);
    if (end == rest || *end != '.' || idx < 0 || idx >= (long)max)
        return -1;
    *field = end + 1;
    return (int)idx;
}
