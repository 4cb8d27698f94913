/* capture_follow.c - follows a growing pcap file (`ticktap analyze --follow FILE`), as
 * tcpdump -w or dumpcap -P write it: reads to the end, waits, reads what was appended.
 *
 * A record the writer has only half written is left for the next read. When the path is
 * replaced by a new file (tcpdump -C/-G rotation onto one name, logrotate), the rest of the
 * old file is read, then the new one from its start. Classic pcap only (µs or ns, either
 * byte order): pcapng is refused with a hint. Frames point into the read buffer, which is
 * compacted only at the next burst, so they stay valid as capture.h promises.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture_live.h"
#include "pcap_format.h"

#define FOLLOW_BUF (4u << 20) /* > PCAP_MAX_RECORD: a whole record always fits */
#define FOLLOW_WAIT_MS 50

struct follow {
    char path[4096];
    int fd;
    ino_t ino;
    uint8_t *buf;
    size_t start, end; /* unread bytes are buf[start, end) */
    int have_header;
    struct pcap_file_info fmt;
    pcap_t *dead;
    struct bpf_program prog;
    int filtered;
    uint64_t ordinal, frames, bytes;
};

static int follow_reopen(struct follow *f, char *err, size_t errlen)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = open(f->path, O_RDONLY);
    if (f->fd < 0) {
        snprintf(err, errlen, "%s: cannot read capture: %s", f->path, strerror(errno));
        return -errno;
    }
    struct stat st;
    fstat(f->fd, &st);
    f->ino = st.st_ino;
    f->start = f->end = 0;
    f->have_header = 0;
    return 0;
}

/* Appends what the file has beyond what was read; returns bytes read (0: none yet). */
static ssize_t fill(struct follow *f)
{
    if (f->start > 0) { /* the previous burst's frames are done with */
        memmove(f->buf, f->buf + f->start, f->end - f->start);
        f->end -= f->start;
        f->start = 0;
    }
    ssize_t n = read(f->fd, f->buf + f->end, FOLLOW_BUF - f->end);
    if (n > 0) f->end += (size_t)n;
    return n;
}

static int parse_header(struct follow *f, char *err, size_t errlen)
{
    const uint8_t *h = f->buf + f->start;
    int rc = pcap_file_header(h, f->end - f->start, &f->fmt);
    if (rc < 0) return 0; /* not all written yet */
    if (rc == 0) {
        if (!memcmp(h, "\x0a\x0d\x0d\x0a", 4))
            snprintf(err, errlen,
                     "%s: --follow reads classic pcap files; this is pcapng "
                     "(write it with tcpdump -w or dumpcap -P)",
                     f->path);
        else
            snprintf(err, errlen, "%s: cannot read capture: not a pcap file", f->path);
        return -EINVAL;
    }
    f->start += PCAP_FILE_HEADER;
    f->have_header = 1;
    return 1;
}

static int follow_rx_burst(struct capture *c, struct frame *frames, int max, char *err,
                           size_t errlen)
{
    struct follow *f = (struct follow *)c;
    fill(f);
    if (!f->have_header) {
        int rc = parse_header(f, err, errlen);
        if (rc < 0) return rc;
        if (rc == 0) {
            struct timespec ts = {0, FOLLOW_WAIT_MS * 1000000L};
            nanosleep(&ts, NULL);
            return -EAGAIN;
        }
    }
    int n = 0;
    while (n < max) {
        struct cursor h = cur_make(f->buf + f->start, f->end - f->start);
        struct pcap_record rec;
        if (!pcap_record_header(&f->fmt, &h, &rec))
            break; /* the writer is part-way through this record's header */
        if (rec.incl > PCAP_MAX_RECORD) {
            snprintf(err, errlen, "%s: damaged record after frame %llu (length %u)", f->path,
                     (unsigned long long)f->ordinal, rec.incl);
            return n ? n : -EINVAL;
        }
        if (!cur_has(&h, rec.incl)) break; /* ... or through its bytes */
        struct frame *fr = &frames[n];
        fr->ts_ns = rec.ts_ns;
        fr->ordinal = ++f->ordinal;
        fr->data = h.p;
        fr->caplen = f->fmt.snaplen && rec.incl > f->fmt.snaplen ? f->fmt.snaplen : rec.incl;
        fr->wirelen = rec.orig < fr->caplen ? fr->caplen : rec.orig;
        fr->linktype = f->fmt.linktype;
        f->start += PCAP_RECORD_HEADER + (size_t)rec.incl;
        if (f->filtered) {
            struct pcap_pkthdr ph = {.caplen = fr->caplen, .len = fr->wirelen};
            if (!pcap_offline_filter(&f->prog, &ph, fr->data)) continue;
        }
        f->frames++;
        f->bytes += fr->wirelen;
        n++;
    }
    if (n) return n;
    /* At the end of what is written: replaced by a new file? Else wait for more. */
    struct stat st;
    if (stat(f->path, &st) == 0 && st.st_ino != f->ino && f->end == f->start) {
        int rc = follow_reopen(f, err, errlen);
        if (rc) return rc;
        return -EAGAIN;
    }
    struct timespec ts = {0, FOLLOW_WAIT_MS * 1000000L};
    nanosleep(&ts, NULL);
    return -EAGAIN;
}

struct capture *capture_follow_open(const char *path, const char *filter, char *err, size_t errlen)
{
    struct follow *f = calloc(1, sizeof(*f));
    if (!f || !(f->buf = malloc(FOLLOW_BUF))) {
        snprintf(err, errlen, "out of memory");
        free(f);
        return NULL;
    }
    f->fd = -1;
    snprintf(f->path, sizeof(f->path), "%s", path);
    if (follow_reopen(f, err, errlen)) goto fail;
    fill(f);
    if (parse_header(f, err, errlen) < 0) goto fail;
    if (filter && *filter) {
        /* Link type of a file not written yet: Ethernet, the tcpdump default. */
        f->dead = pcap_open_dead(f->have_header ? f->fmt.linktype : DLT_EN10MB, 65535);
        if (!f->dead || pcap_compile(f->dead, &f->prog, filter, 1, PCAP_NETMASK_UNKNOWN)) {
            snprintf(err, errlen, "--filter '%s': %s", filter,
                     f->dead ? pcap_geterr(f->dead) : "out of memory");
            goto fail;
        }
        f->filtered = 1;
    }
    return (struct capture *)f;
fail:
    capture_follow_ops.close((struct capture *)f);
    return NULL;
}

static void follow_stats(struct capture *c, struct capture_stats *st)
{
    struct follow *f = (struct follow *)c;
    memset(st, 0, sizeof(*st));
    st->frames = f->frames;
    st->bytes = f->bytes;
}

static void follow_close(struct capture *c)
{
    struct follow *f = (struct follow *)c;
    if (!f) return;
    if (f->filtered) pcap_freecode(&f->prog);
    if (f->dead) pcap_close(f->dead);
    if (f->fd >= 0) close(f->fd);
    free(f->buf);
    free(f);
}

const struct capture_ops capture_follow_ops = {
    .name = "pcap-follow",
    .rx_burst = follow_rx_burst,
    .stats = follow_stats,
    .close = follow_close,
};
