/* netparse.h - parsing of the network values settings name: addresses and prefixes, port
 * ranges, and the item index of a YAML list key ("rules.2.ports").
 *
 * Pure functions over C strings; each returns 0 (or the index) on success and -1 on
 * anything it cannot read whole, so callers turn that into their one-line error.
 */
#ifndef TT_NETPARSE_H
#define TT_NETPARSE_H

#include <stdint.h>

struct cidr {
    uint8_t family; /* 4 or 6 */
    uint8_t plen;
    uint8_t addr[16]; /* network byte order, host bits cleared; IPv4 in addr[0..3] */
};

struct port_range {
    uint16_t lo, hi;
};

/* "10.1.0.0/16", "233.54.12.7" (a /32), "2001:db8::/32", "ff15::1:7". */
int cidr_parse(const char *s, struct cidr *out);
int cidr_is_multicast(const struct cidr *c);

/* "9878" or "26400-26410". */
int port_range_parse(const char *s, struct port_range *r);

/* "GROUP:PORT" ("233.54.12.111:26477", "[ff15::1:7]:31000"): the address as 16 bytes
 * (IPv4 as ::ffff:a.b.c.d, as flow keys hold it), its family and the port. */
int group_port_parse(const char *s, uint8_t addr[16], uint8_t *family, uint16_t *port);

/* 1 when a 16-byte flow-key address (IPv4-mapped or IPv6) is a multicast group. */
int addr16_is_multicast(const uint8_t addr[16]);

/* Splits "N.FIELD" after a list prefix: returns N (< max) with *field set, or -1. */
int list_index(const char *rest, const char **field, uint32_t max);

#endif
