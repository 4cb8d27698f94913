/* units.c - durations and sizes as written in settings (see units.h). */
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_duration_ns(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) return -1;
    double mult;
    if (!*end || !strcmp(end, "s"))
        mult = 1e9;
    else if (!strcmp(end, "ns"))
        mult = 1;
    else if (!strcmp(end, "us"))
        mult = 1e3;
    else if (!strcmp(end, "ms"))
        mult = 1e6;
    else if (!strcmp(end, "m"))
        mult = 60e9;
    else if (!strcmp(end, "h"))
        mult = 3600e9;
    else
        return -1;
    *out = (uint64_t)(v * mult);
    return 0;
}

int parse_size_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *s == '-') return -1;
    if (*end == 'k' || *end == 'K')
        v <<= 10, end++;
    else if (*end == 'M')
        v <<= 20, end++;
    else if (*end == 'G')
        v <<= 30, end++;
    if (*end) return -1;
    *out = v;
    return 0;
}

/* Fraction digits after a '.', as ns; *p moves past them. */
static uint64_t fraction_ns(const char **p)
{
    uint64_t ns = 0, scale = 100000000;
    if (**p != '.') return 0;
    for ((*p)++; **p >= '0' && **p <= '9'; (*p)++) {
        ns += (uint64_t)(**p - '0') * scale;
        scale /= 10;
    }
    return ns;
}

int parse_time_ns(const char *s, uint64_t *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 && n) {
        const char *p = s + n;
        uint64_t frac = fraction_ns(&p);
        long off = 0;
        if (*p == '+' || *p == '-') {
            int oh, om;
            if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) return -1;
            off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
            p += 6;
        } else if (*p == 'Z' || *p == 'z') {
            p++;
        }
        if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
        /* days since the epoch (proleptic Gregorian; Howard Hinnant's days_from_civil) */
        int yy = y - (mo <= 2);
        long era = (yy >= 0 ? yy : yy - 399) / 400;
        long yoe = yy - era * 400;
        long doy = (153L * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        long days = era * 146097 + doe - 719468;
        long long t = (long long)days * 86400 + h * 3600 + mi * 60 + sec - off;
        if (t < 0) return -1;
        *out = (uint64_t)t * 1000000000ull + frac;
        return 0;
    }
    const char *p = s;
    if (*p < '0' || *p > '9') return -1;
    uint64_t secs = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (secs > UINT64_MAX / 10 / 1000000000ull) return -1;
        secs = secs * 10 + (uint64_t)(*p - '0');
    }
    uint64_t frac = fraction_ns(&p);
    if (*p) return -1;
    *out = secs * 1000000000ull + frac;
    return 0;
}
