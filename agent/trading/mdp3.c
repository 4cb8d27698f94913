/* mdp3.c - CME MDP 3.0 packets (see mdp3.h). */
#include "mdp3.h"

#include <string.h>

#include "../decode/cursor.h"

int mdp3_parse(const uint8_t *payload, size_t len, struct mdp3_packet *p)
{
    struct cursor c = cur_make(payload, len);
    p->seq = cur_le32(&c);
    p->sending_time = cur_le64(&c);
    if (cur_failed(&c) || !cur_left(&c)) return -1;
    p->msgs = c.p;
    p->msgs_len = cur_left(&c);
    size_t off = 0;
    uint16_t tid;
    int r, n = 0;
    while ((r = mdp3_next_message(p, &off, &tid)) == 1)
        n++;
    return r == 0 && n > 0 ? 0 : -1;
}

int mdp3_next_message(const struct mdp3_packet *p, size_t *off, uint16_t *template_id)
{
    if (*off >= p->msgs_len) return 0;
    struct cursor c = cur_make(p->msgs + *off, p->msgs_len - *off);
    uint16_t size = cur_le16(&c);
    uint16_t block_len = cur_le16(&c);
    uint16_t tid = cur_le16(&c);
    uint16_t schema = cur_le16(&c);
    uint16_t version = cur_le16(&c);
    (void)version;
    if (cur_failed(&c) || size < 10 || size > p->msgs_len - *off || schema != 1 ||
        block_len > size - 10u)
        return -1;
    *template_id = tid;
    *off += size;
    return 1;
}
