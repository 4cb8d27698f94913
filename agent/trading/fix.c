/* fix.c - FIX framing and field extraction (see fix.h). */
#include "fix.h"

#include <string.h>

#include "../decode/bytescan.h"
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

unsigned fix_checksum(const uint8_t *p, size_t n)
{
    return (unsigned)(bytescan_sum(p, n) & 0xff);
}

enum fix_frame_result fix_frame(const uint8_t *data, size_t len, size_t max_len, size_t *msg_len)
{
    static const char begin[] = "8=FIX";
    if (len >= 5 ? memcmp(data, begin, 5) : memcmp(data, begin, len)) return FIX_FRAME_GARBAGE;
    /* BeginString's value ends at the first SOH, within 32 bytes */
    uint64_t soh = bytescan64(data, 0, len, FIX_SOH);
    size_t begin_end = soh ? (size_t)__builtin_ctzll(soh) : len;
    if (begin_end > 32) return FIX_FRAME_GARBAGE;
    if (begin_end == len) return FIX_FRAME_NEED_MORE;
    struct cursor c = cur_make(data + begin_end + 1, len - begin_end - 1);
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

/* The slot of every tag below 512 the analysis reads; the others go to FIX_F_NONE. */
#define FIX_TAG_SLOTS 512
static const uint8_t tag_slot[FIX_TAG_SLOTS] = {
    [35] = FIX_F_MSG_TYPE,
    [49] = FIX_F_SENDER,
    [56] = FIX_F_TARGET,
    [11] = FIX_F_CLORDID,
    [41] = FIX_F_ORIG_CLORDID,
    [37] = FIX_F_ORDER_ID,
    [55] = FIX_F_SYMBOL,
    [58] = FIX_F_TEXT,
    [372] = FIX_F_REF_MSG_TYPE,
    [112] = FIX_F_TEST_REQ_ID,
    [34] = FIX_F_SEQ,
    [36] = FIX_F_NEW_SEQ,
    [7] = FIX_F_BEGIN_SEQ,
    [16] = FIX_F_END_SEQ,
    [45] = FIX_F_REF_SEQ,
    [108] = FIX_F_HEARTBT_INT,
    [103] = FIX_F_ORD_REJ_REASON,
    [102] = FIX_F_CXL_REJ_REASON,
    [380] = FIX_F_BIZ_REJ_REASON,
    [373] = FIX_F_SESS_REJ_REASON,
    [39] = FIX_F_ORD_STATUS,
    [150] = FIX_F_EXEC_TYPE,
    [43] = FIX_F_POSS_DUP,
    [123] = FIX_F_GAP_FILL,
    [141] = FIX_F_RESET_SEQ,
};

/* A slot's value as a number (absent or not a number: 0; more than ten digits: the first ten,
 * saturated to 32 bits). */
static uint32_t slot_u32(const struct fix_msg *m, enum fix_field slot)
{
    const uint8_t *p = fix_at(m, m->field[slot]);
    uint64_t v = 0;
    for (size_t i = 0; i < m->field[slot].len && i < 10; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* A reject reason: -1 when absent or empty. */
static int32_t slot_reason(const struct fix_msg *m, enum fix_field slot)
{
    return m->field[slot].len ? (int32_t)(slot_u32(m, slot) & 0x7fffffff) : -1;
}

static char slot_char(const struct fix_msg *m, enum fix_field slot)
{
    return m->field[slot].len ? (char)*fix_at(m, m->field[slot]) : 0;
}

static uint8_t slot_yes(const struct fix_msg *m, enum fix_field slot)
{
    return m->field[slot].len == 1 && *fix_at(m, m->field[slot]) == 'Y';
}

/* Numbers and flags from their slots, once the walk is over. */
static void read_values(struct fix_msg *m)
{
    m->has_seq = m->field[FIX_F_SEQ].off != 0;
    m->seq = slot_u32(m, FIX_F_SEQ);
    m->new_seq = slot_u32(m, FIX_F_NEW_SEQ);
    m->begin_seq = slot_u32(m, FIX_F_BEGIN_SEQ);
    m->end_seq = slot_u32(m, FIX_F_END_SEQ);
    m->ref_seq = slot_u32(m, FIX_F_REF_SEQ);
    m->heartbt_int = slot_u32(m, FIX_F_HEARTBT_INT);
    m->ord_rej_reason = slot_reason(m, FIX_F_ORD_REJ_REASON);
    m->cxl_rej_reason = slot_reason(m, FIX_F_CXL_REJ_REASON);
    m->biz_rej_reason = slot_reason(m, FIX_F_BIZ_REJ_REASON);
    m->sess_rej_reason = slot_reason(m, FIX_F_SESS_REJ_REASON);
    m->ord_status = slot_char(m, FIX_F_ORD_STATUS);
    m->exec_type = slot_char(m, FIX_F_EXEC_TYPE);
    m->poss_dup = slot_yes(m, FIX_F_POSS_DUP);
    m->gap_fill = slot_yes(m, FIX_F_GAP_FILL);
    m->reset_seq = slot_yes(m, FIX_F_RESET_SEQ);
}

/* One field, msg[start, end) with the SOH at end: a tag of one to six digits, '=', the
 * value (which may hold '='). Its value goes to the tag's slot. */
static inline int take_field(const uint8_t *msg, size_t start, size_t end, struct fix_msg *m)
{
    uint32_t tag = 0;
    size_t k = start;
    for (uint32_t d; (d = (uint32_t)msg[k] - '0') < 10; k++) /* msg[end] is SOH: stops there */
        tag = tag * 10 + d;
    if (k == start || k - start > 6 || msg[k] != '=') return -1;
    unsigned slot = tag < FIX_TAG_SLOTS ? tag_slot[tag] : FIX_F_NONE;
    m->field[slot] = (struct fix_str){(uint16_t)(k + 1), (uint16_t)(end - k - 1)};
    return 0;
}

/* Walks the fields from SOH to SOH: the SOH positions of 64 bytes at a time come as a bitmask,
 * so the walk steps from one to the next by clearing a bit (nothing it does per field waits on
 * the field before it). */
static int walk_fields(const uint8_t *msg, size_t len, struct fix_msg *m)
{
    size_t start = 0; /* of the field being read */
    for (size_t win = 0; win < len; win += BYTESCAN_BLOCK) {
        uint64_t soh = bytescan64(msg, win, len, FIX_SOH);
        for (; soh; soh &= soh - 1) {
            size_t end = win + (size_t)__builtin_ctzll(soh);
            if (take_field(msg, start, end, m)) return -1;
            start = end + 1;
        }
    }
    return start < len ? -1 : 0; /* bytes after the last SOH: a field cut short */
}

int fix_parse(const uint8_t *msg, size_t len, struct fix_msg *m)
{
    memset(m->field, 0, sizeof(m->field));
    m->base = msg;
    if (len > FIX_MAX_MESSAGE) len = FIX_MAX_MESSAGE;
    int r = walk_fields(msg, len, m);
    read_values(m); /* a malformed field ends the walk; those before it still count */
    return r;
}
