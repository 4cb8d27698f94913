/* ttsend.c - replays a capture file's frames out of an interface, for the live tests.
 *
 * usage: ttsend IFACE FILE.pcap [PPS] [REPEAT]
 * Sends every frame as it is (libpcap pcap_inject), PPS frames per second at most (0: as
 * fast as the interface takes them), the whole file REPEAT times. Prints what it sent.
 * Paced, it never catches up with more than CATCH_UP frames back to back after it was held
 * up (a busy machine): the rate is a ceiling, a burst would test the machine, not the agent.
 * Ahead of time it sleeps rather than spins, leaving the CPU to what it sends to.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CATCH_UP 16

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ttsend IFACE FILE.pcap [PPS] [REPEAT]\n");
        return 1;
    }
    double pps = argc > 3 ? atof(argv[3]) : 0;
    long repeat = argc > 4 ? atol(argv[4]) : 1;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *out = pcap_open_live(argv[1], 65535, 0, 1, err);
    if (!out) {
        fprintf(stderr, "ttsend: %s\n", err);
        return 1;
    }
    unsigned long sent = 0, failed = 0;
    double next = now_s(), gap = pps > 0 ? 1 / pps : 0;
    for (long r = 0; r < repeat; r++) {
        pcap_t *in = pcap_open_offline(argv[2], err);
        if (!in) {
            fprintf(stderr, "ttsend: %s\n", err);
            return 1;
        }
        struct pcap_pkthdr *h;
        const u_char *data;
        while (pcap_next_ex(in, &h, &data) == 1) {
            if (pps > 0) {
                double t = now_s();
                if (t < next) {
                    struct timespec d = {0, (long)((next - t) * 1e9)};
                    nanosleep(&d, NULL);
                    t = now_s();
                }
                next = t > next + CATCH_UP * gap ? t - CATCH_UP * gap + gap : next + gap;
            }
            if (pcap_inject(out, data, h->caplen) == (int)h->caplen)
                sent++;
            else
                failed++;
        }
        pcap_close(in);
    }
    pcap_close(out);
    printf("sent %lu failed %lu\n", sent, failed);
    return failed ? 2 : 0;
}
