/* fuzz_capture.c - libFuzzer harness: arbitrary bytes as a capture file (pcap, pcapng, gzip)
 * read through the pcap-file source, every frame decoded and analysed. */
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_source(capture_find("pcap-file"), data, size, NULL);
    return 0;
}
