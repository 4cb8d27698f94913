/* fix.h - FIX 4.2-4.4 / FIXT 1.1 message framing and tag extraction, without copying.
 *
 * fix_frame() finds where one message ends: it must start with "8=FIX", carry BodyLength(9)
 * as the second field and end with a three-digit CheckSum(10) exactly BodyLength bytes after
 * the end of the 9 field; the checksum is verified. fix_parse() walks tag=value<SOH> fields
 * and keeps the offsets of the values the session and order analysis need (the message is not
 * copied). Both read only inside [data, data+len) and never fail hard. Messages are at most
 * FIX_MAX_MESSAGE bytes, so an offset fits 16 bits.
 */
#ifndef TT_FIX_H
#define TT_FIX_H

#include <stddef.h>
#include <stdint.h>

#define FIX_SOH 0x01
#define FIX_MAX_MESSAGE 65535

enum fix_frame_result {
    FIX_FRAME_NEED_MORE = 0, /* a message starts here but is not complete yet */
    FIX_FRAME_OK = 1,        /* *msg_len bytes form a message with a good checksum */
    FIX_FRAME_BAD_CHECKSUM,  /* framed (*msg_len bytes) but CheckSum(10) disagrees */
    FIX_FRAME_GARBAGE,       /* no message starts here: resynchronise on the next "8=FIX" */
};

/* Frames the message at data[0..len). max_len bounds a message (larger = garbage). */
enum fix_frame_result fix_frame(const uint8_t *data, size_t len, size_t max_len, size_t *msg_len);

/* FIX CheckSum(10): the sum of the bytes mod 256. */
unsigned fix_checksum(const uint8_t *p, size_t n);

/* Offset of the next "8=FIX" in data[from..len), or len when there is none (a partial
 * "8=FI" at the very end is kept: the offset of its start is returned). */
size_t fix_find_start(const uint8_t *data, size_t len, size_t from);

/* A value inside the parsed message: fix_at(m, s) points at its first byte. */
struct fix_str {
    uint16_t off, len;
};

/* The fields of one message the analysis reads (0 / empty when absent). */
struct fix_msg {
    const uint8_t *base;                            /* the message the offsets refer to */
    struct fix_str msg_type;                        /* 35 */
    struct fix_str sender, target;                  /* 49, 56 */
    struct fix_str clordid, orig_clordid, order_id; /* 11, 41, 37 */
    struct fix_str symbol, text;                    /* 55, 58 */
    struct fix_str ref_msg_type;                    /* 372 */
    struct fix_str test_req_id;                     /* 112 */
    uint32_t seq;                                   /* 34 MsgSeqNum */
    uint32_t new_seq;                               /* 36 NewSeqNo */
    uint32_t begin_seq, end_seq;                    /* 7, 16 */
    uint32_t ref_seq;                               /* 45 */
    uint32_t heartbt_int;                           /* 108 */
    int32_t ord_rej_reason;                         /* 103, -1 absent */
    int32_t cxl_rej_reason;                         /* 102 */
    int32_t biz_rej_reason;                         /* 380 */
    int32_t sess_rej_reason;                        /* 373 */
    char ord_status;                                /* 39 */
    char exec_type;                                 /* 150 */
    uint8_t poss_dup;                               /* 43=Y */
    uint8_t gap_fill;                               /* 123=Y */
    uint8_t reset_seq;                              /* 141=Y */
    uint8_t has_seq;
};

/* Parses a framed message of at most FIX_MAX_MESSAGE bytes (longer ones are parsed up to that
 * point). Returns 0, or -1 when a field is malformed (no '=', a tag that is not a number, no
 * SOH at the end); fields read before the fault are kept. */
int fix_parse(const uint8_t *msg, size_t len, struct fix_msg *m);

static inline const uint8_t *fix_at(const struct fix_msg *m, struct fix_str s)
{
    return m->base + s.off;
}

/* The message type when it is one character (all session and order types are), else 0. */
static inline char fix_type1(const struct fix_msg *m)
{
    return m->msg_type.len == 1 ? (char)m->base[m->msg_type.off] : 0;
}

#endif
