/* capture_pcap.c - offline capture files: classic pcap (µs and ns) read directly in large
 * chunks; pcapng, gzip and anything else through libpcap.
 *
 *   classic pcap: file header (24 bytes: magic, version, thiszone, sigfigs, snaplen, linktype)
 *                 then records: ts_sec(4) ts_frac(4) incl_len(4) orig_len(4) data[incl_len]
 *
 * Several files are merged into one stream in timestamp order (ties keep command-line order).
 * Timestamps are nanoseconds whatever the file holds (pcap-ns magic, pcapng if_tsresol).
 * A --filter expression is compiled by libpcap and applied with pcap_offline_filter(), so
 * frame ordinals stay the file's own frame numbers, as tshark shows them. A file that breaks
 * part-way (a record running past the end, an impossible length) is reported once through
 * rx_burst's error and dropped; the others go on.
 *
 * Classic pcap is read() into a buffer of a few hundred KiB that stays in the core's cache
 * while its frames are analysed (a memory mapping costs a page fault and a cache miss per
 * new page, and its pages count against the process): frames point into the buffer, which is
 * refilled only at the start of a burst, so a burst's frames stay valid until the next one.
 * libpcap's frames are copied into an arena per burst. rx_into reads into the caller's memory
 * instead (one classic file: read() goes straight there; otherwise frames are copied), which
 * is how several workers share one reading (pipeline/shared_reader.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../decode/cursor.h"
#include "capture.h"
#include "pcap_format.h"
#include "../util/table_mem.h"

#define ARENA_BYTES (4u << 20)
/* Bytes asked of read() at a time: small enough that a chunk is still in the core's L2 cache
 * when its frames are decoded, large enough that the syscall is rare (one per ~2000 small
 * frames). The buffer holds two chunks, or one record of the largest size. */
#define READ_CHUNK (256u << 10)
/* How far ahead of the record being framed its walk asks for the buffer's bytes: each record
 * header's address comes from the one before, so the walk would wait out one L2 hit per
 * frame (1.5-2% of one worker's time on the bench; 1 KiB measured best of 0.5, 1 and 2). */
#define STREAM_PREFETCH 1024
#define DIRECT_BUFFER CAPTURE_INTO_MIN /* two chunks */
_Static_assert(DIRECT_BUFFER >= 2 * READ_CHUNK &&
                   DIRECT_BUFFER >= PCAP_RECORD_HEADER + PCAP_MAX_RECORD,
               "two chunks, and a record of the largest size, fit the buffer");

struct pcap_input {
    const char *path;
    int linktype;
    int done;
    /* libpcap path */
    pcap_t *p;
    struct pcap_pkthdr *hdr;
    /* direct path: the file's bytes [buf_off, buf_off + hi) are in buf; pos is the next record */
    int fd;
    uint8_t *buf;
    size_t buf_cap, pos, hi;
    int eof;        /* read() has returned everything */
    int stalled;    /* the next record is not all in buf: refill at the start of the next burst */
    size_t rec_pos; /* where the record direct_next() returned starts in buf */
    struct pcap_file_info fmt;
    pcap_t *dead; /* for the filter when read directly */
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

struct capture {
    struct pcap_input *in;
    int nin;
    int streaming; /* one directly read file: no pending records, see stream_frames() */
    int nstalled;  /* inputs waiting for a refill */
    uint8_t *arena;
    struct capture_stats st;
    char pending_err[512];
};

/* The inputs' read positions (the kernel's file offsets: read() moves them, and so does
 * libpcap's stdio) against their sizes. */
static void pcap_file_progress(struct capture *c, uint64_t *done, uint64_t *total)
{
    *done = *total = 0;
    for (int i = 0; i < c->nin; i++) {
        struct pcap_input *in = &c->in[i];
        int fd = in->buf ? in->fd : in->p && pcap_file(in->p) ? fileno(pcap_file(in->p)) : -1;
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb)) continue;
        off_t pos = in->done ? sb.st_size : lseek(fd, 0, SEEK_CUR);
        *total += (uint64_t)sb.st_size;
        *done += pos > 0 ? (uint64_t)pos : 0;
    }
}

static void pcap_close_all(struct capture *c)
{
    for (int i = 0; i < c->nin; i++) {
        struct pcap_input *in = &c->in[i];
        if (in->has_prog) pcap_freecode(&in->prog);
        if (in->p) pcap_close(in->p);
        if (in->dead) pcap_close(in->dead);
        if (in->buf) close(in->fd);
        table_release(in->buf);
    }
    free(c->in);
    table_release(c->arena);
    free(c);
}

static void input_fail(struct capture *c, struct pcap_input *in, const char *why)
{
    in->done = 1;
    if (in->file_frame)
        snprintf(c->pending_err, sizeof(c->pending_err),
                 "%s: capture file is damaged after frame %llu: %s (results up to that point "
                 "are kept)",
                 in->path, (unsigned long long)in->file_frame, why);
    else
        snprintf(c->pending_err, sizeof(c->pending_err),
                 "%s: capture file is damaged before its first frame: %s (its header is all "
                 "that could be read)",
                 in->path, why);
    c->st.truncated_files++;
}

/* Bytes the record at pos needs to be whole (its header alone while that is incomplete). */
static size_t first_record_bytes(const struct pcap_input *in)
{
    struct cursor h = cur_make(in->buf + in->pos, in->hi - in->pos);
    struct pcap_record rec;
    if (!pcap_record_header(&in->fmt, &h, &rec) || rec.incl > PCAP_MAX_RECORD)
        return PCAP_RECORD_HEADER; /* direct_next() reports an impossible length */
    return PCAP_RECORD_HEADER + (size_t)rec.incl;
}

/* Refills a direct input's buffer: keeps the unread bytes from pos on (moved to the start)
 * and reads a chunk, more if the next record is still not whole (the buffer, two chunks,
 * holds the largest record), until the file ends. Only between bursts: frames handed out
 * point into the buffer. */
static void refill(struct capture *c, struct pcap_input *in)
{
    size_t keep = in->hi - in->pos;
    memmove(in->buf, in->buf + in->pos, keep);
    in->pos = 0;
    in->hi = keep;
    while (!in->eof && in->hi < in->buf_cap &&
           (in->hi < READ_CHUNK || in->hi < first_record_bytes(in))) {
        size_t want = in->buf_cap - in->hi;
        ssize_t n = read(in->fd, in->buf + in->hi, want > READ_CHUNK ? READ_CHUNK : want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            char why[160];
            snprintf(why, sizeof(why), "read error: %s", strerror(errno));
            input_fail(c, in, why);
            return;
        }
        if (n == 0) in->eof = 1;
        in->hi += (size_t)n;
    }
}

enum { NEXT_END, NEXT_RECORD, NEXT_STALL };

/* Next record of a directly read file, checked against the bytes read and the file's end. */
static int direct_next(struct capture *c, struct pcap_input *in)
{
    size_t left = in->hi - in->pos;
    if (left == 0 && in->eof) return NEXT_END;
    struct cursor h = cur_make(in->buf + in->pos, left);
    struct pcap_record rec;
    int whole = pcap_record_header(&in->fmt, &h, &rec);
    uint32_t incl = rec.incl;
    char why[160];
    if (!whole) {
        if (!in->eof) return NEXT_STALL;
        snprintf(why, sizeof(why), "truncated record header (%zu bytes left)", left);
        input_fail(c, in, why);
        return NEXT_END;
    }
    if (incl > PCAP_MAX_RECORD) {
        snprintf(why, sizeof(why), "record length %u is bigger than the maximum of %u", incl,
                 PCAP_MAX_RECORD);
        input_fail(c, in, why);
        return NEXT_END;
    }
    if (!cur_has(&h, incl)) {
        if (!in->eof) return NEXT_STALL;
        snprintf(why, sizeof(why), "record of %u bytes cut short by the end of the file (%zu left)",
                 incl, cur_left(&h));
        input_fail(c, in, why);
        return NEXT_END;
    }
    in->rec_pos = in->pos;
    in->data = h.p;
    in->caplen =
        in->fmt.snaplen && incl > in->fmt.snaplen ? in->fmt.snaplen : incl; /* as libpcap */
    in->wirelen = rec.orig;
    in->ts_ns = rec.ts_ns;
    in->pos += PCAP_RECORD_HEADER + (size_t)incl;
    return NEXT_RECORD;
}

/* Loads the next record of input in (skipping what the filter rejects) into its pending
 * slot; marks the input done at the end or on an error (kept for the next rx_burst). */
static void advance(struct capture *c, struct pcap_input *in)
{
    for (;;) {
        if (in->buf) {
            int r = direct_next(c, in);
            if (r == NEXT_END) {
                in->done = 1;
                return;
            }
            if (r == NEXT_STALL) {
                in->stalled = 1;
                c->nstalled++;
                return;
            }
        } else {
            const u_char *data;
            int rc = pcap_next_ex(in->p, &in->hdr, &data);
            if (rc != 1) {
                if (rc == PCAP_ERROR) input_fail(c, in, pcap_geterr(in->p));
                in->done = 1;
                return;
            }
            in->data = data;
            in->caplen = in->hdr->caplen;
            in->wirelen = in->hdr->len;
            in->ts_ns =
                (uint64_t)in->hdr->ts.tv_sec * 1000000000ull + (uint64_t)in->hdr->ts.tv_usec;
        }
        in->file_frame++;
        if (in->has_prog) {
            struct pcap_pkthdr ph = {.caplen = in->caplen, .len = in->wirelen};
            if (!pcap_offline_filter(&in->prog, &ph, in->data)) continue;
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
        if (!f) gzclose(gz);
    } else if (!strcmp(path, "-")) {
        int fd = dup(STDIN_FILENO);
        f = fd >= 0 ? fdopen(fd, "rb") : NULL;
        if (!f && fd >= 0) close(fd);
    } else {
        f = fopen(path, "rb");
    }
    if (!f) {
        snprintf(ebuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, 1u << 20); /* libpcap's two freads per record rarely reach read() */
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!p) fclose(f);
    return p;
}

/* Opens a classic pcap file for direct reading (buffer allocated, first chunk read); returns
 * 1 when it is one, 0 to use libpcap instead, -1 on error. */
static int open_direct(struct capture *c, struct pcap_input *in, int *gzip, char *ebuf)
{
    *gzip = 0;
    if (!strcmp(in->path, "-")) return 0; /* standard input: a pipe, which libpcap reads */
    int fd = open(in->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(ebuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    uint8_t hdr[PCAP_FILE_HEADER];
    ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
    if (fstat(fd, &st) || n < 4 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0; /* short, odd or not a regular file: libpcap reads it or says what is wrong */
    }
    if (hdr[0] == 0x1f && hdr[1] == 0x8b) {
        *gzip = 1;
        close(fd);
        return 0;
    }
    struct pcap_file_info fmt;
    if (pcap_file_header(hdr, (size_t)n, &fmt) != 1 || lseek(fd, PCAP_FILE_HEADER, SEEK_SET) < 0) {
        close(fd);
        return 0; /* pcapng, short or odd files: libpcap reads them or says what is wrong */
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    in->buf_cap = DIRECT_BUFFER;
    if (!(in->buf = table_malloc(1, in->buf_cap))) {
        close(fd);
        snprintf(ebuf, PCAP_ERRBUF_SIZE, "out of memory");
        return -1;
    }
    in->fd = fd;
    in->fmt = fmt;
    in->linktype = fmt.linktype;
    refill(c, in);
    return 1;
}

static int pcap_file_open(struct capture **out, const char *const *paths, int npaths,
                          const char *filter, char *err, size_t errlen)
{
    struct capture *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    c->in = calloc((size_t)npaths, sizeof(*c->in));
    if (!c->in) {
        pcap_close_all(c);
        return -ENOMEM;
    }
    for (int i = 0; i < npaths; i++) {
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        struct pcap_input *in = &c->in[i];
        c->nin = i + 1;
        in->path = paths[i];
        int gzip, direct = open_direct(c, in, &gzip, ebuf);
        if (direct == 0) {
            in->p = open_libpcap(paths[i], gzip, ebuf);
            if (in->p) in->linktype = pcap_datalink(in->p);
        }
        struct stat sb;
        if (!stat(paths[i], &sb) && S_ISDIR(sb.st_mode)) {
            snprintf(err, errlen,
                     "%s: is a directory (give the capture files in it, e.g. %s/*.pcap)", paths[i],
                     paths[i]);
            pcap_close_all(c);
            return -EINVAL;
        }
        if (direct < 0 || (!direct && !in->p)) {
            snprintf(err, errlen, "%s: cannot read capture: %s (give a pcap or pcapng file)",
                     paths[i], ebuf);
            pcap_close_all(c);
            return -EINVAL;
        }
        if (filter && *filter) {
            pcap_t *cp = in->p;
            if (!cp)
                cp = in->dead = pcap_open_dead_with_tstamp_precision(in->linktype, PCAP_MAX_RECORD,
                                                                     PCAP_TSTAMP_PRECISION_NANO);
            if (!cp || pcap_compile(cp, &in->prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
                snprintf(err, errlen, "--filter '%s': %s (use tcpdump filter syntax)", filter,
                         cp ? pcap_geterr(cp) : "out of memory");
                pcap_close_all(c);
                return -EINVAL;
            }
            in->has_prog = 1;
        }
    }
    c->streaming = c->nin == 1 && c->in[0].buf;
    for (int i = 0; i < c->nin && !c->streaming; i++) /* merged: each input's first record */
        if (!c->in[i].done) advance(c, &c->in[i]);
    *out = c;
    return 0;
}

static int take_pending_err(struct capture *c, char *err, size_t errlen)
{
    if (!c->pending_err[0]) return 0;
    snprintf(err, errlen, "%s", c->pending_err);
    c->pending_err[0] = 0;
    return -EIO;
}

static void refill_stalled(struct capture *c)
{
    for (int i = 0; c->nstalled && i < c->nin; i++) {
        struct pcap_input *in = &c->in[i];
        while (in->stalled) { /* each refill reads more, or meets the end or an error */
            in->stalled = 0;
            c->nstalled--;
            refill(c, in);
            if (!in->done) advance(c, in);
        }
    }
}

/* Up to max frames of the merged inputs, in time order. Frames of directly read inputs point
 * into their read buffers unless copy_all; the others are copied into arena (cap bytes). */
static int merge_burst(struct capture *c, struct frame *frames, int max, uint8_t *arena, size_t cap,
                       int copy_all)
{
    size_t used = 0;
    int n = 0;
again:
    refill_stalled(c);
    while (n < max && !c->nstalled) { /* a stalled input's next time is unknown: stop */
        struct pcap_input *best = NULL;
        if (c->nin == 1) {
            best = c->in[0].done ? NULL : &c->in[0];
        } else {
            for (int i = 0; i < c->nin; i++) {
                struct pcap_input *in = &c->in[i];
                if (!in->done && (!best || in->ts_ns < best->ts_ns)) best = in;
            }
        }
        if (!best) break;
        struct frame *f = &frames[n];
        uint32_t len = best->caplen; /* <= PCAP_MAX_RECORD, and cap is larger */
        if (best->buf && !copy_all) {
            f->data = best->data; /* in the read buffer: valid until the next burst */
        } else {
            if (len > cap - used) break; /* stays pending for the next call */
            memcpy(arena + used, best->data, len);
            f->data = arena + used;
            used += (len + 7u) & ~(size_t)7;
            if (used > cap) used = cap;
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
        if (c->pending_err[0]) break;
    }
    if (n == 0 && c->nstalled && !c->pending_err[0])
        goto again; /* the filter passed nothing in what was read: read on */
    return n;
}

/* One directly read file is streamed: no record is held pending (nothing to merge), pos is
 * the next record. Frames of whole records from the buffer, up to max; stops early at the end
 * of what was read (refill, then call again) or of the file (in->done). */
static int stream_frames(struct capture *c, struct pcap_input *in, struct frame *frames, int max)
{
    int n = 0;
    while (n < max && !in->done) {
        /* The common case in a tight loop: whole records, one after another. Anything else
         * (the end, a record cut by the buffer, a damaged one) goes to direct_next(). */
        struct cursor cur = cur_make(in->buf + in->pos, in->hi - in->pos);
        uint64_t file_frame = in->file_frame;
        while (n < max) {
            __builtin_prefetch((const void *)((uintptr_t)cur.p + STREAM_PREFETCH));
            struct cursor h = cur;
            struct pcap_record rec;
            if (!pcap_record_header(&in->fmt, &h, &rec) || rec.incl > PCAP_MAX_RECORD) break;
            const uint8_t *data = cur_take(&h, rec.incl);
            if (!data) break;
            cur = h;
            file_frame++;
            uint32_t caplen =
                in->fmt.snaplen && rec.incl > in->fmt.snaplen ? in->fmt.snaplen : rec.incl;
            if (in->has_prog) {
                struct pcap_pkthdr ph = {.caplen = caplen, .len = rec.orig};
                if (!pcap_offline_filter(&in->prog, &ph, data)) continue;
            }
            frames[n++] = (struct frame){.ts_ns = rec.ts_ns,
                                         .ordinal = file_frame,
                                         .data = data,
                                         .caplen = caplen,
                                         .wirelen = rec.orig,
                                         .linktype = in->linktype};
            c->st.bytes += rec.orig;
        }
        in->pos = (size_t)(cur.p - in->buf);
        in->file_frame = file_frame;
        if (n == max) break;
        int r = direct_next(c, in);
        if (r == NEXT_END) in->done = 1;
        if (r != NEXT_RECORD) break;
        in->pos = in->rec_pos; /* whole after all (cannot be, but stay exact): take it above */
    }
    c->st.frames += (uint64_t)n;
    return n;
}

/* Streaming in place: the previous burst's frames may move now. */
static int stream_burst(struct capture *c, struct pcap_input *in, struct frame *frames, int max)
{
    int n = stream_frames(c, in, frames, max);
    while (n == 0 && !in->done) { /* the buffer ran out (or the filter passed nothing) */
        refill(c, in);
        n = stream_frames(c, in, frames, max);
    }
    return n;
}

/* Streaming into the caller's buffer: what the input's own buffer holds moves over, read()
 * fills the rest, and an incomplete record at the end moves back for the next call. */
static int stream_into(struct capture *c, struct pcap_input *in, uint8_t *buf, struct frame *frames,
                       int max)
{
    uint8_t *own = in->buf;
    size_t keep = in->hi - in->pos;
    memcpy(buf, own + in->pos, keep);
    in->buf = buf; /* buf_cap stays the own buffer's: what is left must fit back */
    in->pos = 0;
    in->hi = keep;
    int n = 0;
    while (n == 0 && !in->done) {
        refill(c, in);
        n = stream_frames(c, in, frames, max);
    }
    keep = in->hi - in->pos;
    memcpy(own, buf + in->pos, keep);
    in->buf = own;
    in->pos = 0;
    in->hi = keep;
    return n;
}

static int pcap_file_rx_burst(struct capture *c, struct frame *frames, int max, char *err,
                              size_t errlen)
{
    int rc = take_pending_err(c, err, errlen);
    if (rc) return rc;
    if (c->streaming)
        rc = stream_burst(c, &c->in[0], frames, max);
    else if (!c->arena &&
             !(c->arena = table_malloc(1, ARENA_BYTES))) { /* merging or libpcap only */
        snprintf(err, errlen, "out of memory (%u MiB for the frame arena)", ARENA_BYTES >> 20);
        rc = -ENOMEM;
    } else
        rc = merge_burst(c, frames, max, c->arena, ARENA_BYTES, 0);
    if (!rc) /* an input that broke as the others ended: say so before the end */
        rc = take_pending_err(c, err, errlen);
    return rc;
}

static int pcap_file_rx_into(struct capture *c, uint8_t *buf, size_t cap, struct frame *frames,
                             int max, char *err, size_t errlen)
{
    int rc = take_pending_err(c, err, errlen);
    if (rc) return rc;
    if (cap < DIRECT_BUFFER) return -EINVAL;
    if (c->streaming)
        rc = stream_into(c, &c->in[0], buf, frames, max);
    else
        rc = merge_burst(c, frames, max, buf, cap, 1);
    if (!rc) rc = take_pending_err(c, err, errlen);
    return rc;
}

static void pcap_file_stats(struct capture *c, struct capture_stats *st)
{
    *st = c->st;
    st->frames_stable = 0;
}

const struct capture_ops capture_pcap_file = {
    .name = "pcap-file",
    .progress = pcap_file_progress,
    .open = pcap_file_open,
    .rx_burst = pcap_file_rx_burst,
    .stats = pcap_file_stats,
    .rx_into = pcap_file_rx_into,
    .close = pcap_close_all,
};
