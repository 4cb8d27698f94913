/* fix.c - FIX framing and field extraction (see fix.h). */
#include "fix.h"

#include <string.h>

#include "../decode/cursor.h"

/* Reads decimal digits up to SOH from c; -1 when not a number or no SOH follows. */
static int64_t read_number_field(struct cursor *c)
{
    int64_t v = 0;
    int digits = 0;
    while (cur_has(c, 1)) {
        uint8_t b = cur_u8(c);
        if (b == FIX_SOH) return digits ? v : -1;
        if (b < '0' || b > '9' || ++digits > 9) return -1;
        v = v * 10 + (b - '0');
    }
    return -2; /* ran out: more bytes may come */
}

/* Sum of the bytes mod 256, eight at a time: bytes are added in 16-bit lanes (a lane cannot
 * overflow within 256 words), then the lanes are folded. */
unsigned fix_checksum(const uint8_t *p, size_t n)
{
    uint64_t sum = 0;
    size_t i = 0;
    while (n - i >= 8) {
        uint64_t lanes = 0;
        for (int k = 0; k < 256 && n - i >= 8; k++, i += 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            lanes += (w & 0x00ff00ff00ff00ffull) + ((w >> 8) & 0x00ff00ff00ff00ffull);
        }
        for (int k = 0; k < 4; k++, lanes >>= 16)
            sum += lanes & 0xffff;
    }
    for (; i < n; i++)
        sum += p[i];
    return (unsigned)(sum & 0xff);
}

enum fix_frame_result fix_frame(const uint8_t *data, size_t len, size_t max_len, size_t *msg_len)
{
    static const char begin[] = "8=FIX";
    if (len >= 5 ? memcmp(data, begin, 5) : memcmp(data, begin, len)) return FIX_FRAME_GARBAGE;
    struct cursor c = cur_make(data, len);
    /* BeginString value up to SOH */
    while (cur_has(&c, 1) && cur_u8(&c) != FIX_SOH)
        if ((size_t)(c.p - data) > 32) return FIX_FRAME_GARBAGE;
    if (!cur_has(&c, 3)) return FIX_FRAME_NEED_MORE;
    if (c.p[0] != '9' || c.p[1] != '=') return FIX_FRAME_GARBAGE;
    cur_skip(&c, 2);
    int64_t body = read_number_field(&c);
    if (body == -2) return FIX_FRAME_NEED_MORE;
    if (body < 0) return FIX_FRAME_GARBAGE;
    size_t body_start = (size_t)(c.p - data);
    size_t total = body_start + (size_t)body + 7; /* "10=NNN<SOH>" */
    if (total > max_len || total > FIX_MAX_MESSAGE) return FIX_FRAME_GARBAGE;
    if (len < total) return FIX_FRAME_NEED_MORE;
    const uint8_t *t = data + body_start + body;
    if (t[0] != '1' || t[1] != '0' || t[2] != '=' || t[6] != FIX_SOH) return FIX_FRAME_GARBAGE;
    unsigned want = 0;
    for (int i = 3; i < 6; i++) {
        if (t[i] < '0' || t[i] > '9') return FIX_FRAME_GARBAGE;
        want = want * 10 + (unsigned)(t[i] - '0');
    }
    *msg_len = total;
    return fix_checksum(data, body_start + (size_t)body) == want ? FIX_FRAME_OK
                                                                 : FIX_FRAME_BAD_CHECKSUM;
}

size_t fix_find_start(const uint8_t *data, size_t len, size_t from)
{
    for (size_t i = from; i < len; i++) {
        if (data[i] != '8') continue;
        if (len - i >= 5 ? !memcmp(data + i, "8=FIX", 5) : !memcmp(data + i, "8=FIX", len - i))
            return i;
    }
    return len;
}

static uint32_t to_u32(const uint8_t *p, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int32_t to_i32(const uint8_t *p, size_t len)
{
    return len ? (int32_t)(to_u32(p, len) & 0x7fffffff) : -1;
}

static uint8_t is_yes(const uint8_t *p, size_t len)
{
    return len == 1 && p[0] == 'Y';
}

int fix_parse(const uint8_t *msg, size_t len, struct fix_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->base = msg;
    m->ord_rej_reason = m->cxl_rej_reason = m->biz_rej_reason = m->sess_rej_reason = -1;
    if (len > FIX_MAX_MESSAGE) len = FIX_MAX_MESSAGE;
    struct cursor c = cur_make(msg, len);
    while (cur_has(&c, 1)) {
        uint32_t tag = 0, tl = 0; /* the tag's digits, then '=' */
        while (cur_has(&c, 1) && (unsigned)(c.p[0] - '0') < 10u) {
            if (++tl > 6) return -1;
            tag = tag * 10 + cur_u8(&c) - '0';
        }
        if (!tl || cur_u8(&c) != '=') return -1;
        /* a plain byte loop: values are short, and SWAR or SSE2 searches measured slower */
        size_t vl;
        const uint8_t *v = cur_take_until(&c, FIX_SOH, &vl);
        if (!v) return -1;
        struct fix_str s = {(uint16_t)(v - msg), (uint16_t)vl};
        switch (tag) {
        case 35:
            m->msg_type = s;
            break;
        case 49:
            m->sender = s;
            break;
        case 56:
            m->target = s;
            break;
        case 11:
            m->clordid = s;
            break;
        case 41:
            m->orig_clordid = s;
            break;
        case 37:
            m->order_id = s;
            break;
        case 55:
            m->symbol = s;
            break;
        case 58:
            m->text = s;
            break;
        case 372:
            m->ref_msg_type = s;
            break;
        case 112:
            m->test_req_id = s;
            break;
        case 34:
            m->seq = to_u32(v, vl);
            m->has_seq = 1;
            break;
        case 36:
            m->new_seq = to_u32(v, vl);
            break;
        case 7:
            m->begin_seq = to_u32(v, vl);
            break;
        case 16:
            m->end_seq = to_u32(v, vl);
            break;
        case 45:
            m->ref_seq = to_u32(v, vl);
            break;
        case 108:
            m->heartbt_int = to_u32(v, vl);
            break;
        case 103:
            m->ord_rej_reason = to_i32(v, vl);
            break;
        case 102:
            m->cxl_rej_reason = to_i32(v, vl);
            break;
        case 380:
            m->biz_rej_reason = to_i32(v, vl);
            break;
        case 373:
            m->sess_rej_reason = to_i32(v, vl);
            break;
        case 39:
            m->ord_status = vl ? (char)v[0] : 0;
            break;
        case 150:
            m->exec_type = vl ? (char)v[0] : 0;
            break;
        case 43:
            m->poss_dup = is_yes(v, vl);
            break;
        case 123:
            m->gap_fill = is_yes(v, vl);
            break;
        case 141:
            m->reset_seq = is_yes(v, vl);
            break;
        default:
            break;
        }
    }
    return 0;
}
