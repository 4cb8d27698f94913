/* test_capture_pcap.c - the capture file reader: records of every size across read() chunks,
 * frames read into the caller's memory, filters that pass nothing for a long stretch,
 * several files merged in time order, and a file cut mid-record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/capture/capture.h"
#include "../gen/pcapw.h"

#define NFRAMES 3000

static char dir[] = "/tmp/tt-capture-XXXXXX";
static char path_sizes[128], path_a[128], path_b[128], path_filter[128];

/* Frame i of the sizes file: mostly small, some full-size, and a few of the largest sizes a
 * pcap record may have, so records straddle every read() boundary. */
static size_t frame_len(int i)
{
    if (i % 997 == 13) return 262144;
    if (i % 251 == 7) return 200000 + (size_t)i;
    if (i % 5 == 0) return 1514;
    return 60 + (size_t)(i % 40);
}

static uint8_t frame_byte(int i, size_t k)
{
    return (uint8_t)(i * 31 + k * 7);
}

static void write_sizes(const char *path)
{
    static uint8_t data[262144];
    struct pcapw w;
    assert_int_equal(pcapw_open(&w, path, 1), 0);
    for (int i = 0; i < NFRAMES; i++) {
        size_t len = frame_len(i);
        for (size_t k = 0; k < len; k++)
            data[k] = frame_byte(i, k);
        pcapw_write(&w, 1000000000ull + (uint64_t)i * 1000, data, len);
    }
    assert_int_equal(pcapw_close(&w), 0);
}

static void udp_or_tcp(struct buf *b, int tcp)
{
    struct ipaddrs a;
    ipaddrs_set(&a, "10.0.0.1", "10.0.0.2");
    b->n = 0;
    build_eth(b, NULL, 0, 0x0800);
    build_ip(b, &a, tcp ? 6 : 17, tcp ? 20 : 8, 1, 0, 0);
    if (tcp)
        build_tcp(b, 1000, 2000, 1, 1, 0x10, 100, NULL);
    else
        build_udp(b, 1000, 2000, 0);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir)) return -1;
    snprintf(path_sizes, sizeof(path_sizes), "%s/sizes.pcap", dir);
    snprintf(path_a, sizeof(path_a), "%s/a.pcap", dir);
    snprintf(path_b, sizeof(path_b), "%s/b.pcap", dir);
    snprintf(path_filter, sizeof(path_filter), "%s/filter.pcap", dir);
    write_sizes(path_sizes);
    struct pcapw a, b, f;
    struct buf frame;
    if (pcapw_open(&a, path_a, 1) || pcapw_open(&b, path_b, 1) || pcapw_open(&f, path_filter, 1))
        return -1;
    udp_or_tcp(&frame, 0);
    for (int i = 0; i < 1000; i++) /* a: even microseconds, b: odd ones */
        pcapw_write(i % 2 ? &b : &a, 5000000000ull + (uint64_t)i * 1000, frame.b, frame.n);
    for (int i = 0; i < 40000; i++) /* 40000 UDP frames (several MB), then one TCP frame */
        pcapw_write(&f, 7000000000ull + (uint64_t)i, frame.b, frame.n);
    udp_or_tcp(&frame, 1);
    pcapw_write(&f, 8000000000ull, frame.b, frame.n);
    return pcapw_close(&a) || pcapw_close(&b) || pcapw_close(&f);
}

static int teardown(void **state)
{
    (void)state;
    unlink(path_sizes);
    unlink(path_a);
    unlink(path_b);
    unlink(path_filter);
    return rmdir(dir);
}

static struct capture *open_capture(const char *const *paths, int n, const char *filter)
{
    const struct capture_ops *ops = capture_find("pcap-file");
    struct capture *c = NULL;
    char err[512];
    assert_int_equal(ops->open(&c, paths, n, filter, err, sizeof(err)), 0);
    return c;
}

static void check_frame(const struct frame *f, int i)
{
    size_t len = frame_len(i);
    assert_int_equal(f->ordinal, (uint64_t)i + 1);
    assert_int_equal(f->caplen, len);
    assert_int_equal(f->wirelen, len);
    assert_int_equal(f->ts_ns, 1000000000ull + (uint64_t)i * 1000);
    assert_int_equal(f->data[0], frame_byte(i, 0));
    assert_int_equal(f->data[len / 2], frame_byte(i, len / 2));
    assert_int_equal(f->data[len - 1], frame_byte(i, len - 1));
}

static void bursts_cross_every_chunk_boundary(void **state)
{
    (void)state;
    const char *paths[] = {path_sizes};
    const struct capture_ops *ops = capture_find("pcap-file");
    struct capture *c = open_capture(paths, 1, NULL);
    struct frame frames[32];
    char err[512];
    int i = 0, n;
    while ((n = ops->rx_burst(c, frames, 32, err, sizeof(err))) > 0)
        for (int k = 0; k < n; k++)
            check_frame(&frames[k], i++);
    assert_int_equal(n, 0);
    assert_int_equal(i, NFRAMES);
    ops->close(c);
}

/* Frames read into the caller's buffers stay valid as long as those buffers: all are checked
 * after the whole file has been read. */
static void frames_into_callers_memory_outlive_the_call(void **state)
{
    (void)state;
    const char *paths[] = {path_sizes};
    const struct capture_ops *ops = capture_find("pcap-file");
    struct capture *c = open_capture(paths, 1, NULL);
    static struct frame frames[NFRAMES];
    uint8_t *bufs[NFRAMES];
    int nbufs = 0, total = 0, n;
    char err[512];
    do {
        bufs[nbufs] = malloc(CAPTURE_INTO_MIN);
        n = ops->rx_into(c, bufs[nbufs++], CAPTURE_INTO_MIN, frames + total,
                         total + 512 <= NFRAMES ? 512 : NFRAMES - total, err, sizeof(err));
        assert_true(n >= 0);
        total += n;
    } while (n > 0 && total < NFRAMES);
    assert_int_equal(total, NFRAMES);
    assert_int_equal(ops->rx_into(c, bufs[0], CAPTURE_INTO_MIN, frames, 1, err, sizeof(err)), 0);
    for (int i = 0; i < NFRAMES; i++)
        check_frame(&frames[i], i);
    assert_true(nbufs > 3); /* the big records alone need several buffers */
    for (int i = 0; i < nbufs; i++)
        free(bufs[i]);
    ops->close(c);
}

/* A filter that passes nothing for megabytes is not the end of the capture. */
static void long_filtered_stretch_is_not_the_end(void **state)
{
    (void)state;
    const char *paths[] = {path_filter};
    const struct capture_ops *ops = capture_find("pcap-file");
    char err[512];
    struct frame frames[32];
    for (int into = 0; into < 2; into++) {
        struct capture *c = open_capture(paths, 1, "tcp");
        uint8_t *buf = malloc(CAPTURE_INTO_MIN);
        int n = into ? ops->rx_into(c, buf, CAPTURE_INTO_MIN, frames, 32, err, sizeof(err))
                     : ops->rx_burst(c, frames, 32, err, sizeof(err));
        assert_int_equal(n, 1);
        assert_int_equal(frames[0].ordinal, 40001); /* the file's own frame number */
        n = into ? ops->rx_into(c, buf, CAPTURE_INTO_MIN, frames, 32, err, sizeof(err))
                 : ops->rx_burst(c, frames, 32, err, sizeof(err));
        assert_int_equal(n, 0);
        free(buf);
        ops->close(c);
    }
}

static void two_files_merge_in_time_order(void **state)
{
    (void)state;
    const char *paths[] = {path_b, path_a};
    const struct capture_ops *ops = capture_find("pcap-file");
    char err[512];
    static struct frame frames[1000];
    for (int into = 0; into < 2; into++) {
        struct capture *c = open_capture(paths, 2, NULL);
        uint8_t *buf = malloc(CAPTURE_INTO_MIN);
        int total = 0, n;
        while ((n = into ? ops->rx_into(c, buf, CAPTURE_INTO_MIN, frames + total, 100, err,
                                        sizeof(err))
                         : ops->rx_burst(c, frames + total, 100, err, sizeof(err))) > 0) {
            for (int k = total; k < total + n; k++) {
                assert_int_equal(frames[k].ts_ns, 5000000000ull + (uint64_t)k * 1000);
                assert_int_equal(frames[k].ordinal, (uint64_t)k + 1);
            }
            total += n;
        }
        assert_int_equal(total, 1000);
        free(buf);
        ops->close(c);
    }
}

/* Cut in the middle of a record: every whole record first, then one error that names the
 * file, then the end. */
static void cut_file_gives_its_records_then_an_error(void **state)
{
    (void)state;
    char cut[160];
    snprintf(cut, sizeof(cut), "%s/cut.pcap", dir);
    FILE *in = fopen(path_sizes, "rb"), *out = fopen(cut, "wb");
    assert_non_null(in);
    assert_non_null(out);
    size_t whole = 24; /* the records before frame 1500, and half of it */
    for (int i = 0; i < 1500; i++)
        whole += 16 + frame_len(i);
    static uint8_t chunk[1 << 16];
    size_t want = whole + 16 + frame_len(1500) / 2, got = 0;
    while (got < want) {
        size_t n = fread(chunk, 1, want - got < sizeof(chunk) ? want - got : sizeof(chunk), in);
        assert_true(n > 0);
        fwrite(chunk, 1, n, out);
        got += n;
    }
    fclose(in);
    fclose(out);
    const char *paths[] = {cut};
    const struct capture_ops *ops = capture_find("pcap-file");
    for (int into = 0; into < 2; into++) {
        struct capture *c = open_capture(paths, 1, NULL);
        uint8_t *buf = malloc(CAPTURE_INTO_MIN);
        static struct frame frames[64];
        char err[512] = "";
        int i = 0, n;
        while ((n = into ? ops->rx_into(c, buf, CAPTURE_INTO_MIN, frames, 64, err, sizeof(err))
                         : ops->rx_burst(c, frames, 64, err, sizeof(err))) > 0)
            for (int k = 0; k < n; k++)
                check_frame(&frames[k], i++);
        assert_int_equal(i, 1500);
        assert_int_equal(n, -EIO);
        assert_non_null(strstr(err, "cut.pcap"));
        assert_non_null(strstr(err, "damaged after frame 1500"));
        n = into ? ops->rx_into(c, buf, CAPTURE_INTO_MIN, frames, 64, err, sizeof(err))
                 : ops->rx_burst(c, frames, 64, err, sizeof(err));
        assert_int_equal(n, 0);
        struct capture_stats st;
        ops->stats(c, &st);
        assert_int_equal(st.truncated_files, 1);
        free(buf);
        ops->close(c);
    }
    unlink(cut);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bursts_cross_every_chunk_boundary),
        cmocka_unit_test(frames_into_callers_memory_outlive_the_call),
        cmocka_unit_test(long_filtered_stretch_is_not_the_end),
        cmocka_unit_test(two_files_merge_in_time_order),
        cmocka_unit_test(cut_file_gives_its_records_then_an_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
