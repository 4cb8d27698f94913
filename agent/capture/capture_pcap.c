/* capture_pcap.c - offline capture files: classic pcap (µs and ns) read in place from a
 * memory mapping; pcapng, gzip and anything else through libpcap.
 *
 *   classic pcap: file header (24 bytes: magic, version, thiszone, sigfigs, snaplen, linktype)
 *                 then records: ts_sec(4) ts_frac(4) incl_len(4) orig_len(4) data[incl_len]
 *
 * Several files are merged into one stream in timestamp order (ties keep command-line order).
 * Timestamps are nanoseconds whatever the file holds (pcap-ns magic, pcapng if_tsresol).
 * A --filter expression is compiled by libpcap and applied with pcap_offline_filter(), so
 * frame ordinals stay the file's own frame numbers, as tshark shows them. A file that breaks
 * part-way (a record running past the end, an impossible length) is reported once through
 * rx_burst's error and dropped; the others go on. Mapped files give frames that stay valid
 * until close (capture_frames_stable); libpcap's are copied into an arena per burst.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../decode/cursor.h"
#include "capture.h"
#include "pcap_format.h"

#define ARENA_BYTES (4u << 20)
/* The mapping is released behind the reader in chunks of this size (two chunks behind, so the
 * frames of the burst in flight stay resident): memory follows the flows, not the file size.
 * Released pages are still mapped: touching one again re-reads it from the page cache. */
#define RELEASE_CHUNK (16u << 20)

struct pcap_input {
    const char *path;
    int linktype;
    int done;
    /* libpcap path */
    pcap_t *p;
    struct pcap_pkthdr *hdr;
    /* mapped path */
    const uint8_t *map;
    size_t map_len;
    size_t off;
    size_t released; /* the mapping below this offset has been released */
    struct pcap_file_info fmt;
    pcap_t *dead; /* for the filter when mapped */
    /* filter */
    struct bpf_program prog;
    int has_prog;
    /* pending record */
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
    uint64_t ts_ns;
    uint64_t file_frame;
};

/* Readers of one mapping (an original and its clones) publish how far they have read, so that
 * the original can release what all of them have passed. Single-file captures only. */
#define MAX_READERS 64
struct reader_group {
    _Atomic size_t pos[MAX_READERS];
    _Atomic int n;
};

struct capture {
    struct pcap_input *in;
    struct reader_group *group; /* owned by the original */
    int reader;                 /* index in group */
    int nin;
    int is_clone;   /* shares the original's mappings: does not unmap */
    int has_clones; /* others read the same mappings: do not release pages behind */
    int all_mapped;
    uint8_t *arena;
    struct capture_stats st;
    char pending_err[512];
};

static void pcap_close_all(struct capture *c)
{
    for (int i = 0; i < c->nin; i++) {
        struct pcap_input *in = &c->in[i];
        if (in->has_prog)
            pcap_freecode(&in->prog);
        if (in->p)
            pcap_close(in->p);
        if (in->dead)
            pcap_close(in->dead);
        if (in->map && !c->is_clone)
            munmap((void *)in->map, in->map_len);
    }
    if (!c->is_clone)
        free(c->group);
    free(c->in);
    free(c->arena);
    free(c);
}

static void input_fail(struct capture *c, struct pcap_input *in, const char *why)
{
    in->done = 1;
    snprintf(c->pending_err, sizeof(c->pending_err),
             "%s: capture file is damaged after frame %llu: %s (results up to that point are kept)",
             in->path, (unsigned long long)in->file_frame, why);
    c->st.truncated_files++;
}

/* Next record of a mapped file, checked against the mapping's end. */
static int mapped_next(struct capture *c, struct pcap_input *in)
{
    if (in->off == in->map_len)
        return 0;
    if (in->off >= in->released + 3 * (size_t)RELEASE_CHUNK) {
        size_t low = in->off;
        if (c->group && c->nin == 1) {
            atomic_store_explicit(&c->group->pos[c->reader], in->off, memory_order_relaxed);
            int n = atomic_load_explicit(&c->group->n, memory_order_relaxed);
            for (int r = 0; r < n; r++) {
                size_t p = atomic_load_explicit(&c->group->pos[r], memory_order_relaxed);
                if (p < low)
                    low = p;
            }
        }
        if (!c->is_clone && (!c->has_clones || c->nin == 1) &&
            low >= in->released + 3 * (size_t)RELEASE_CHUNK) {
            madvise((void *)(in->map + in->released), RELEASE_CHUNK, MADV_DONTNEED);
            in->released += RELEASE_CHUNK;
        }
    }
    /* Records are read in order: ask for the lines a few records ahead now (hardware
     * prefetchers stop at page boundaries, and every line here is a first touch). */
    if (in->off + 1024 + 128 < in->map_len) {
        __builtin_prefetch(in->map + in->off + 1024);
        __builtin_prefetch(in->map + in->off + 1024 + 64);
    }
    struct cursor h = cur_make(in->map + in->off, in->map_len - in->off);
    struct pcap_record rec;
    int whole = pcap_record_header(&in->fmt, &h, &rec);
    uint32_t incl = rec.incl;
    char why[160];
    if (!whole) {
        snprintf(why, sizeof(why), "truncated record header (%zu bytes left)", in->map_len - in->off);
        input_fail(c, in, why);
        return 0;
    }
    if (incl > PCAP_MAX_RECORD) {
        snprintf(why, sizeof(why), "record length %u is bigger than the maximum of %u", incl,
                 PCAP_MAX_RECORD);
        input_fail(c, in, why);
        return 0;
    }
    if (!cur_has(&h, incl)) {
        snprintf(why, sizeof(why), "record of %u bytes cut short by the end of the file (%zu left)",
                 incl, cur_left(&h));
        input_fail(c, in, why);
        return 0;
    }
    in->data = h.p;
    in->caplen = in->fmt.snaplen && incl > in->fmt.snaplen ? in->fmt.snaplen : incl; /* as libpcap */
    in->wirelen = rec.orig;
    in->ts_ns = rec.ts_ns;
    in->off += 16 + (size_t)incl;
    return 1;
}

/* Loads the next record of input in (skipping what the filter rejects) into its pending
 * slot; marks the input done at the end or on an error (kept for the next rx_burst). */
static void advance(struct capture *c, struct pcap_input *in)
{
    for (;;) {
        if (in->map) {
            if (!mapped_next(c, in)) {
                in->done = 1;
                return;
            }
        } else {
            const u_char *data;
            int rc = pcap_next_ex(in->p, &in->hdr, &data);
            if (rc != 1) {
                if (rc == PCAP_ERROR)
                    input_fail(c, in, pcap_geterr(in->p));
                in->done = 1;
                return;
            }
            in->data = data;
            in->caplen = in->hdr->caplen;
            in->wirelen = in->hdr->len;
            in->ts_ns = (uint64_t)in->hdr->ts.tv_sec * 1000000000ull + (uint64_t)in->hdr->ts.tv_usec;
        }
        in->file_frame++;
        if (in->has_prog) {
            struct pcap_pkthdr ph = {.caplen = in->caplen, .len = in->wirelen};
            if (!pcap_offline_filter(&in->prog, &ph, in->data))
                continue;
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

static pcap_t *open_libpcap(const char *path, int gzip, char *ebuf)
{
    FILE *f;
    if (gzip) {
        gzFile gz = gzopen(path, "rb");
        if (!gz) {
            snprintf(ebuf, PCAP_ERRBUF_SIZE, "cannot open gzip stream");
            return NULL;
        }
        cookie_io_functions_t io = {.read = gz_read, .close = gz_close};
        f = fopencookie(gz, "rb", io);
        if (!f)
            gzclose(gz);
    } else {
        f = fopen(path, "rb");
    }
    if (!f) {
        snprintf(ebuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, 1u << 20); /* libpcap's two freads per record rarely reach read() */
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!p)
        fclose(f);
    return p;
}

/* Maps a classic pcap file; returns 1 when mapped, 0 to use libpcap instead, -1 on error. */
static int try_map(struct pcap_input *in, int *gzip, char *ebuf)
{
    *gzip = 0;
    int fd = open(in->path, O_RDONLY);
    if (fd < 0) {
        snprintf(ebuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    uint8_t hdr[24];
    ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
    if (fstat(fd, &st) || n < 4) {
        close(fd);
        return 0; /* too short or odd: libpcap will say what is wrong */
    }
    if (hdr[0] == 0x1f && hdr[1] == 0x8b) {
        *gzip = 1;
        close(fd);
        return 0;
    }
    struct pcap_file_info fmt;
    if (pcap_file_header(hdr, (size_t)n, &fmt) != 1 || st.st_size < PCAP_FILE_HEADER) {
        close(fd);
        return 0; /* pcapng, short or odd files: libpcap reads them or says what is wrong */
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return 0;
    madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
    in->map = m;
    in->map_len = (size_t)st.st_size;
    in->off = PCAP_FILE_HEADER;
    in->fmt = fmt;
    in->linktype = fmt.linktype;
    return 1;
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
    c->all_mapped = 1;
    for (int i = 0; i < npaths; i++) {
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        struct pcap_input *in = &c->in[i];
        c->nin = i + 1;
        in->path = paths[i];
        int gzip, mapped = try_map(in, &gzip, ebuf);
        if (mapped == 0) {
            c->all_mapped = 0;
            in->p = open_libpcap(paths[i], gzip, ebuf);
            if (in->p)
                in->linktype = pcap_datalink(in->p);
        }
        if (mapped < 0 || (!mapped && !in->p)) {
            snprintf(err, errlen, "%s: cannot read capture: %s (give a pcap or pcapng file)",
                     paths[i], ebuf);
            pcap_close_all(c);
            return -EINVAL;
        }
        if (filter && *filter) {
            pcap_t *cp = in->p;
            if (!cp)
                cp = in->dead = pcap_open_dead_with_tstamp_precision(
                    in->linktype, PCAP_MAX_RECORD, PCAP_TSTAMP_PRECISION_NANO);
            if (!cp || pcap_compile(cp, &in->prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
                snprintf(err, errlen, "--filter '%s': %s (use tcpdump filter syntax)", filter,
                         cp ? pcap_geterr(cp) : "out of memory");
                pcap_close_all(c);
                return -EINVAL;
            }
            in->has_prog = 1;
        }
    }
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
        if (c->nin == 1) {
            best = c->in[0].done ? NULL : &c->in[0];
        } else {
            for (int i = 0; i < c->nin; i++) {
                struct pcap_input *in = &c->in[i];
                if (!in->done && (!best || in->ts_ns < best->ts_ns))
                    best = in;
            }
        }
        if (!best)
            break;
        struct frame *f = &frames[n];
        uint32_t len = best->caplen;
        if (best->map) {
            f->data = best->data; /* in place: valid until close */
        } else {
            if (len > ARENA_BYTES - used) {
                if (n > 0)
                    break;
                len = ARENA_BYTES;
            }
            memcpy(c->arena + used, best->data, len);
            f->data = c->arena + used;
            used += (len + 7u) & ~7u;
        }
        n++;
        f->caplen = len;
        f->wirelen = best->wirelen;
        f->ts_ns = best->ts_ns;
        f->linktype = best->linktype;
        c->st.frames++;
        c->st.bytes += best->wirelen;
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
    st->frames_stable = c->all_mapped;
}

/* Only for fully mapped inputs: a clone walks the same mappings with cursors of its own. */
static struct capture *pcap_file_clone(struct capture *orig)
{
    if (!orig->all_mapped)
        return NULL;
    struct capture *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->in = calloc((size_t)orig->nin, sizeof(*c->in));
    c->arena = malloc(8);
    if (!c->in || !c->arena) {
        free(c->in);
        free(c->arena);
        free(c);
        return NULL;
    }
    c->is_clone = 1;
    orig->has_clones = 1;
    if (!orig->group && (orig->group = calloc(1, sizeof(*orig->group))))
        atomic_store(&orig->group->n, 1); /* the original is reader 0 */
    if (orig->group) {
        int r = atomic_load(&orig->group->n);
        if (r < MAX_READERS) {
            c->group = orig->group;
            c->reader = r;
            atomic_store(&orig->group->n, r + 1);
        }
    }
    c->all_mapped = 1;
    c->nin = orig->nin;
    for (int i = 0; i < orig->nin; i++) {
        struct pcap_input *in = &c->in[i], *o = &orig->in[i];
        in->path = o->path;
        in->linktype = o->linktype;
        in->map = o->map;
        in->map_len = o->map_len;
        in->off = PCAP_FILE_HEADER;
        in->fmt = o->fmt;
        if (o->has_prog) { /* the compiled filter is read-only: copy the program */
            in->prog.bf_len = o->prog.bf_len;
            in->prog.bf_insns = malloc(o->prog.bf_len * sizeof(*o->prog.bf_insns));
            if (in->prog.bf_insns) {
                memcpy(in->prog.bf_insns, o->prog.bf_insns, o->prog.bf_len * sizeof(*o->prog.bf_insns));
                in->has_prog = 1;
            }
        }
        advance(c, in);
    }
    return c;
}

const struct capture_ops capture_pcap_file = {
    .name = "pcap-file",
    .open = pcap_file_open,
    .rx_burst = pcap_file_rx_burst,
    .stats = pcap_file_stats,
    .clone = pcap_file_clone,
    .close = pcap_close_all,
};
