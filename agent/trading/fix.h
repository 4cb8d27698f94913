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

/* A value inside the parsed message: fix_at(m, s) points at its first byte. A value never
 * starts at offset 0 (a tag and '=' come first), so off == 0 means the tag was absent. */
struct fix_str {
    uint16_t off, len;
};

/* The tags the analysis reads, each a slot of raw values (FIX_F_NONE takes all others). */
enum fix_field {
    FIX_F_NONE,
    FIX_F_MSG_TYPE,     /* 35 */
    FIX_F_SENDER,       /* 49 */
    FIX_F_TARGET,       /* 56 */
    FIX_F_CLORDID,      /* 11 */
    FIX_F_ORIG_CLORDID, /* 41 */
    FIX_F_ORDER_ID,     /* 37 */
    FIX_F_SYMBOL,       /* 55 */
    FIX_F_TEXT,         /* 58 */
    FIX_F_REF_MSG_TYPE, /* 372 */
    FIX_F_TEST_REQ_ID,  /* 112 */
    /* read as numbers or flags by fix_parse */
    FIX_F_SEQ,             /* 34 */
    FIX_F_NEW_SEQ,         /* 36 */
    FIX_F_BEGIN_SEQ,       /* 7 */
    FIX_F_END_SEQ,         /* 16 */
    FIX_F_REF_SEQ,         /* 45 */
    FIX_F_HEARTBT_INT,     /* 108 */
    FIX_F_ORD_REJ_REASON,  /* 103 */
    FIX_F_CXL_REJ_REASON,  /* 102 */
    FIX_F_BIZ_REJ_REASON,  /* 380 */
    FIX_F_SESS_REJ_REASON, /* 373 */
    FIX_F_ORD_STATUS,      /* 39 */
    FIX_F_EXEC_TYPE,       /* 150 */
    FIX_F_POSS_DUP,        /* 43 */
    FIX_F_GAP_FILL,        /* 123 */
    FIX_F_RESET_SEQ,       /* 141 */
    FIX_F_MAX
};

/* The fields of one message the analysis reads (0 / empty when absent). The last value of a
 * repeated tag counts. */
struct fix_msg {
    const uint8_t *base; /* the message the offsets refer to */
    union {
        struct fix_str field[FIX_F_MAX]; /* by enum fix_field */
        struct {
            struct fix_str none_, msg_type, sender, target, clordid, orig_clordid, order_id, symbol,
                text, ref_msg_type, test_req_id;
        };
    };
    uint32_t seq;                /* 34 MsgSeqNum */
    uint32_t new_seq;            /* 36 NewSeqNo */
    uint32_t begin_seq, end_seq; /* 7, 16 */
    uint32_t ref_seq;            /* 45 */
    uint32_t heartbt_int;        /* 108 */
    int32_t ord_rej_reason;      /* 103, -1 absent */
    int32_t cxl_rej_reason;      /* 102 */
    int32_t biz_rej_reason;      /* 380 */
    int32_t sess_rej_reason;     /* 373 */
    char ord_status;             /* 39 */
    char exec_type;              /* 150 */
    uint8_t poss_dup;            /* 43=Y */
    uint8_t gap_fill;            /* 123=Y */
    uint8_t reset_seq;           /* 141=Y */
    uint8_t has_seq;
};
_Static_assert(offsetof(struct fix_msg, test_req_id) ==
                   offsetof(struct fix_msg, field) + FIX_F_TEST_REQ_ID * sizeof(struct fix_str),
               "the named strings of struct fix_msg are its slots, in enum fix_field order");

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
