/* capture.c - the registry of capture sources. */
#include "capture.h"

#include <string.h>

extern const struct capture_ops capture_pcap_file;

static const struct capture_ops *const sources[] = {
    &capture_pcap_file,
};

const struct capture_ops *capture_find(const char *name)
{
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
        if (!strcmp(sources[i]->name, name)) return sources[i];
    return NULL;
}
