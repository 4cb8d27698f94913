/* capture_pcap.c - offline capture files (pcap, pcap-ns, pcapng) through libpcap.
 *
 * Several files are merged into one stream in timestamp order (ties keep the order of the
 * files on the command line). Timestamps are read at nanosecond precision whatever the file
 * holds (pcap-ns magic, pcapng if_tsresol). A --filter expression is compiled once per file
 * and applied with pcap_offline_filter() so that frame ordinals stay the file's own frame
 * numbers, as tshark shows them. A file that breaks mid-way (truncated record, bad header)
 * is reported once through rx_burst's error and dropped; the others go on.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "capture.h"

#define ARENA_BYTES (4u << 20)

struct pcap_input {
    pcap_t *p;
    const char *path;
    struct bpf_program prog;
    int has_prog;
    int linktype;
    int done;
    struct pcap_pkthdr *hdr; /* pending record, valid until the next pcap_next_ex */
    const uint8_t *data;
    uint64_t ts_ns;
    uint64_t file_frame; /* frame number of the pending record within its file */
};

struct capture {
    struct pcap_input *in;
    int nin;
    uint64_t ordinal;
    uint8_t *arena;
    struct capture_stats st;
    char pending_err[512]; /* an error to report on the next rx_burst */
};

static void pcap_close_all(struct capture *c)
{
    for (int i = 0; i < c->nin; i++) {
        if (c->in[i].has_prog)
            pcap_freecode(&c->in[i].prog);
        if (c->in[i].p)
            pcap_close(c->in[i].p);
    }
    free(c->in);
    free(c->arena);
    free(c);
}

/* Loads the next record of input i into its pending slot; marks the input done at the end or
 * on an error (the error is kept for the next rx_burst). */
static void advance(struct capture *c, struct pcap_input *in)
{
    for (;;) {
        int rc = pcap_next_ex(in->p, &in->hdr, &in->data);
        if (rc == 1) {
            c->ordinal++;
            in->file_frame++;
            in->ts_ns = (uint64_t)in->hdr->ts.tv_sec * 1000000000ull + (uint64_t)in->hdr->ts.tv_usec;
            if (in->has_prog && !pcap_offline_filter(&in->prog, in->hdr, in->data))
                continue;
            return;
        }
        in->done = 1;
        if (rc == PCAP_ERROR) {
            const char *why = pcap_geterr(in->p);
            snprintf(c->pending_err, sizeof(c->pending_err),
                     "%s: capture file is damaged after frame %llu: %s (results up to that "
                     "point are kept)",
                     in->path, (unsigned long long)in->file_frame, why);
            c->st.truncated_files++;
        }
        return;
    }
}

/* gzip-compressed captures (.pcap.gz, as dumpcap and tshark read them): libpcap reads from a
 * stdio stream whose reads go through zlib. */
static ssize_t gz_read(void *cookie, char *buf, size_t len)
{
    int n = gzread((gzFile)cookie, buf, (unsigned)(len > (1u << 30) ? (1u << 30) : len));
    return n < 0 ? -1 : n;
}

static int gz_close(void *cookie)
{
    return gzclose((gzFile)cookie) == Z_OK ? 0 : -1;
}

static int is_gzip(const char *path)
{
    unsigned char m[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(m, 1, 2, f);
    fclose(f);
    return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

static pcap_t *open_any(const char *path, char *ebuf)
{
    if (!is_gzip(path)) {
        /* Our own stream with a 1 MiB buffer: libpcap's two freads per record then rarely
         * reach the kernel (stdio's default 4 KiB buffer means a read() every few frames). */
        FILE *f = fopen(path, "rb");
        if (!f) {
            snprintf(ebuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
            return NULL;
        }
        setvbuf(f, NULL, _IOFBF, 1u << 20);
        pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
        if (!p)
            fclose(f);
        return p;
    }
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        snprintf(ebuf, PCAP_ERRBUF_SIZE, "cannot open gzip stream");
        return NULL;
    }
    cookie_io_functions_t io = {.read = gz_read, .close = gz_close};
    FILE *f = fopencookie(gz, "rb", io);
    if (!f) {
        gzclose(gz);
        snprintf(ebuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
        return NULL;
    }
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!p)
        fclose(f);
    return p;
}

static int pcap_file_open(struct capture **out, const char *const *paths, int npaths,
                          const char *filter, char *err, size_t errlen)
{
    struct capture *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->in = calloc((size_t)npaths, sizeof(*c->in));
    c->arena = malloc(ARENA_BYTES);
    if (!c->in || !c->arena) {
        pcap_close_all(c);
        return -ENOMEM;
    }
    for (int i = 0; i < npaths; i++) {
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        struct pcap_input *in = &c->in[i];
        c->nin = i + 1;
        in->path = paths[i];
        in->p = open_any(paths[i], ebuf);
        if (!in->p) {
            snprintf(err, errlen, "%s: cannot read capture: %s (give a pcap or pcapng file)",
                     paths[i], ebuf);
            pcap_close_all(c);
            return -EINVAL;
        }
        in->linktype = pcap_datalink(in->p);
        if (filter && *filter) {
            if (pcap_compile(in->p, &in->prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
                snprintf(err, errlen, "--filter '%s': %s (use tcpdump filter syntax)", filter,
                         pcap_geterr(in->p));
                pcap_close_all(c);
                return -EINVAL;
            }
            in->has_prog = 1;
        }
    }
    /* Ordinals count records in merged order; load every file's first record. With one file
     * (the usual case) the ordinal is exactly the file's frame number. */
    for (int i = 0; i < c->nin; i++)
        advance(c, &c->in[i]);
    *out = c;
    return 0;
}

static int pcap_file_rx_burst(struct capture *c, struct frame *frames, int max, char *err,
                              size_t errlen)
{
    if (c->pending_err[0]) {
        snprintf(err, errlen, "%s", c->pending_err);
        c->pending_err[0] = 0;
        return -EIO;
    }
    uint32_t used = 0;
    int n = 0;
    while (n < max) {
        struct pcap_input *best = NULL;
        for (int i = 0; i < c->nin; i++) {
            struct pcap_input *in = &c->in[i];
            if (!in->done && (!best || in->ts_ns < best->ts_ns))
                best = in;
        }
        if (!best)
            break;
        uint32_t len = best->hdr->caplen;
        if (len > ARENA_BYTES - used) {
            if (n > 0)
                break;
            len = ARENA_BYTES; /* a record larger than the arena: keep its head */
        }
        struct frame *f = &frames[n++];
        memcpy(c->arena + used, best->data, len);
        f->data = c->arena + used;
        f->caplen = len;
        f->wirelen = best->hdr->len;
        f->ts_ns = best->ts_ns;
        f->linktype = best->linktype;
        used += (len + 7u) & ~7u;
        c->st.frames++;
        c->st.bytes += best->hdr->len;
        /* One file: the file's own frame number (what tshark shows, filter or not). Several
         * files: the position in the merged stream. */
        f->ordinal = c->nin == 1 ? best->file_frame : c->st.frames;
        advance(c, best);
        if (c->pending_err[0])
            break;
    }
    return n;
}

static void pcap_file_stats(struct capture *c, struct capture_stats *st)
{
    *st = c->st;
}

const struct capture_ops capture_pcap_file = {
    .name = "pcap-file",
    .open = pcap_file_open,
    .rx_burst = pcap_file_rx_burst,
    .stats = pcap_file_stats,
    .close = pcap_close_all,
};
