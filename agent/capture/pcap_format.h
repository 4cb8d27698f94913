/* pcap_format.h - the classic pcap file format, read through the bounds-checked cursor.
 *
 *   file header (24 bytes): magic, version, thiszone, sigfigs, snaplen, linktype
 *   record header (16 bytes): seconds, fraction (µs, or ns for the pcap-ns magic),
 *                             captured length, original length; then the bytes
 *
 * Shared by the mapped-file reader (capture_pcap.c) and the follower of a growing file
 * (capture_follow.c), so both read every header the same way. Inline: it is on the
 * per-record path of the mapped reader.
 */
#ifndef TT_PCAP_FORMAT_H
#define TT_PCAP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "../decode/cursor.h"

#define PCAP_FILE_HEADER 24
#define PCAP_RECORD_HEADER 16
#define PCAP_MAX_RECORD 262144u /* libpcap's largest snapshot length for a file record */

struct pcap_file_info {
    int swapped; /* written on a machine of the other byte order */
    int nsec;    /* fractions are nanoseconds (pcap-ns) */
    uint32_t snaplen;
    int linktype; /* as the decoder knows it (LINKTYPE_RAW is DLT_RAW) */
};

/* Parses a file header. Returns 1, 0 when the magic is not classic pcap (pcapng, gzip...),
 * or -1 when fewer than 24 bytes are there. */
static inline int pcap_file_header(const uint8_t *p, size_t len, struct pcap_file_info *fi)
{
    struct cursor c = cur_make(p, len);
    switch (cur_le32(&c)) {
    case 0xa1b2c3d4:
        fi->swapped = 0, fi->nsec = 0;
        break;
    case 0xa1b23c4d:
        fi->swapped = 0, fi->nsec = 1;
        break;
    case 0xd4c3b2a1:
        fi->swapped = 1, fi->nsec = 0;
        break;
    case 0x4d3cb2a1:
        fi->swapped = 1, fi->nsec = 1;
        break;
    default:
        return cur_failed(&c) ? -1 : 0;
    }
    if (len < PCAP_FILE_HEADER) return -1;
    cur_skip(&c, 4 + 4 + 4);
    fi->snaplen = fi->swapped ? cur_be32(&c) : cur_le32(&c);
    uint32_t lt = fi->swapped ? cur_be32(&c) : cur_le32(&c);
    fi->linktype = (int)(lt & 0x0fffffff);
    if (fi->linktype == 101) /* LINKTYPE_RAW is DLT_RAW to libpcap and to the decoder */
        fi->linktype = 12;
    return 1;
}

struct pcap_record {
    uint64_t ts_ns;
    uint32_t incl; /* bytes in the file */
    uint32_t orig; /* bytes on the wire */
};

/* Parses the record header at the cursor (advancing it). Returns 1, or 0 when the 16 bytes
 * are not all there (the cursor then fails). */
static inline int pcap_record_header(const struct pcap_file_info *fi, struct cursor *c,
                                     struct pcap_record *r)
{
    const uint8_t *h = cur_take(c, PCAP_RECORD_HEADER); /* one bounds check for the four */
    if (!h) return 0;
    uint32_t sec, frac;
    if (fi->swapped) {
        sec = ld_be32(h);
        frac = ld_be32(h + 4);
        r->incl = ld_be32(h + 8);
        r->orig = ld_be32(h + 12);
    } else {
        sec = ld_le32(h);
        frac = ld_le32(h + 4);
        r->incl = ld_le32(h + 8);
        r->orig = ld_le32(h + 12);
    }
    r->ts_ns = (uint64_t)sec * 1000000000ull + (fi->nsec ? frac : (uint64_t)frac * 1000ull);
    return 1;
}

#endif
