/* fuzz_csv.c - libFuzzer harness: arbitrary bytes as a CSV packet list (Wireshark, tshark)
 * read through the csv-file source, every row built into a frame, decoded and analysed, and
 * the summary's description of the input made. */
#include <jansson.h>
#include <stdint.h>

#include "../../agent/capture/capture_csv.h"
#include "fuzz_common.h"

static void describe(struct capture *cap)
{
    json_decref(capture_csv_describe(cap));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_source(&capture_csv_ops, data, size, describe);
    return 0;
}
