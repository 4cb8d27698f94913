/* test_live_config.c - capture rules and interfaces: parsing, YAML lists, checks, and the
 * bit-vector compilation the XDP program reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/capture/live_config.h"
#include "../../agent/config/config.h"

static void cidr_parse_clears_host_bits_and_refuses_nonsense(void **state)
{
    (void)state;
    struct cidr c;
    assert_int_equal(cidr_parse("10.1.2.3/16", &c), 0);
    assert_int_equal(c.family, 4);
    assert_int_equal(c.plen, 16);
    assert_memory_equal(c.addr, "\x0a\x01\x00\x00", 4);
    assert_int_equal(cidr_parse("233.54.12.7", &c), 0);
    assert_int_equal(c.plen, 32);
    assert_int_equal(cidr_parse("2001:db8:1::5/48", &c), 0);
    assert_int_equal(c.family, 6);
    assert_int_equal(c.plen, 48);
    assert_int_equal(c.addr[5], 0x01);
    assert_int_equal(c.addr[15], 0);
    assert_int_equal(cidr_parse("10.0.0.0/33", &c), -1);
    assert_int_equal(cidr_parse("ff02::/129", &c), -1);
    assert_int_equal(cidr_parse("10.0.0.0/", &c), -1);
    assert_int_equal(cidr_parse("banana", &c), -1);
}

static void rules_take_lists_and_check_ids(void **state)
{
    (void)state;
    static struct live_config lc;
    char err[256];
    memset(&lc, 0, sizeof(lc));
    assert_int_equal(live_config_set(&lc, "rules.0.ports", "9878, 26400-26410", err, sizeof(err)),
                     0);
    assert_int_equal(live_config_set(&lc, "rules.0.ports", "443", err, sizeof(err)), 0);
    assert_int_equal(live_config_set(&lc, "rules.2.group", "233.54.12.0/24", err, sizeof(err)), 0);
    assert_int_equal(live_config_set(&lc, "rules.2.proto", "udp", err, sizeof(err)), 0);
    assert_int_equal(lc.rules[0].nports, 3);
    assert_int_equal(lc.rules[0].ports[1].lo, 26400);
    assert_int_equal(lc.rules[0].ports[1].hi, 26410);
    assert_int_equal(live_config_finish(&lc, err, sizeof(err)), 0);
    assert_int_equal(lc.nrules, 2); /* listed densely */
    assert_int_equal(lc.rules[0].id, 1);
    assert_int_equal(lc.rules[1].id, 3); /* its position in the file + 1 */
    assert_int_equal(lc.rules[1].protos[0], 17);

    assert_int_equal(live_config_set(&lc, "rules.5.group", "10.0.0.1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a multicast address"));
    assert_int_equal(live_config_set(&lc, "rules.5.ports", "9-3", err, sizeof(err)), -1);
    assert_int_equal(live_config_set(&lc, "rules.5.vlan", "4095", err, sizeof(err)), -1);
    assert_int_equal(live_config_set(&lc, "rules.5.colour", "red", err, sizeof(err)), -1);
    assert_int_equal(live_config_set(&lc, "rules.64.ports", "1", err, sizeof(err)), -1);
    assert_int_equal(live_config_set(&lc, "capture.interfaces.0.mode", "sniff", err, sizeof(err)),
                     -1);

    memset(&lc, 0, sizeof(lc));
    live_config_set(&lc, "rules.0.id", "7", err, sizeof(err));
    live_config_set(&lc, "rules.1.id", "7", err, sizeof(err));
    assert_int_equal(live_config_finish(&lc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "share id 7"));
}

/* The LPM trie answers with the longest prefix only, so that entry must carry the rules of
 * every shorter prefix covering it. */
static void compiled_prefixes_carry_every_covering_rule(void **state)
{
    (void)state;
    static struct live_config lc;
    char err[256];
    memset(&lc, 0, sizeof(lc));
    live_config_set(&lc, "rules.0.dst", "10.0.0.0/8", err, sizeof(err));
    live_config_set(&lc, "rules.1.dst", "10.1.0.0/16, 2001:db8::/32", err, sizeof(err));
    live_config_set(&lc, "rules.1.ports", "100-102", err, sizeof(err));
    live_config_set(&lc, "rules.2.vlan", "0, 100", err, sizeof(err));
    assert_int_equal(live_config_finish(&lc, err, sizeof(err)), 0);
    struct compiled_rules c;
    assert_int_equal(rules_compile(&lc, &c), 0);
    assert_int_equal(c.active, 0x7);
    assert_int_equal(c.ndst, 3);
    assert_int_equal(c.nsrc, 0);
    for (uint32_t i = 0; i < c.ndst; i++) {
        if (c.dst[i].net.family == 4 && c.dst[i].net.plen == 8)
            assert_int_equal(c.dst[i].rules, 0x1);
        else if (c.dst[i].net.family == 4)
            assert_int_equal(c.dst[i].rules, 0x3); /* 10.1/16 is inside 10/8 too */
        else
            assert_int_equal(c.dst[i].rules, 0x2);
    }
    assert_int_equal(c.any_src, 0x7);
    assert_int_equal(c.any_dst, 0x4);
    assert_int_equal(c.any_port, 0x5);
    assert_int_equal(c.any_vlan, 0x3);
    assert_int_equal(c.port[99], 0);
    assert_int_equal(c.port[100], 0x2);
    assert_int_equal(c.port[102], 0x2);
    assert_int_equal(c.port[103], 0);
    assert_int_equal(c.vlan[0], 0x4);
    assert_int_equal(c.vlan[100], 0x4);
    assert_int_equal(c.id[2], 3);
    rules_compiled_free(&c);
}

static void rules_become_a_pcap_filter(void **state)
{
    (void)state;
    static struct live_config lc;
    char err[256], f[1024];
    memset(&lc, 0, sizeof(lc));
    live_config_set(&lc, "rules.0.group", "233.54.12.0/24", err, sizeof(err));
    live_config_set(&lc, "rules.0.ports", "26400-26410", err, sizeof(err));
    live_config_set(&lc, "rules.1.ports", "9878", err, sizeof(err));
    live_config_set(&lc, "rules.1.proto", "tcp", err, sizeof(err));
    live_config_finish(&lc, err, sizeof(err));
    assert_int_equal(rules_pcap_filter(&lc, f, sizeof(f), err, sizeof(err)), 0);
    assert_string_equal(f, "((dst net 233.54.12.0/24) and (portrange 26400-26410)) or "
                           "((port 9878) and (ip proto 6 or ip6 proto 6))");
    live_config_set(&lc, "rules.1.vlan", "5", err, sizeof(err));
    assert_int_equal(rules_pcap_filter(&lc, f, sizeof(f), err, sizeof(err)), -1);
}

static void yaml_lists_of_rules_and_interfaces(void **state)
{
    (void)state;
    char path[] = "/tmp/tt-live-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("capture:\n"
          "  snaplen: 512\n"
          "  interfaces:\n"
          "    - name: eth1\n"
          "      mode: tap\n"
          "      queues: 4\n"
          "    - {name: eth0, mode: host}\n"
          "rules:\n"
          "  - name: itch\n"
          "    group: [233.54.12.0/24, 233.54.13.0/24]\n"
          "    ports: 26400-26410\n"
          "  - name: fix\n"
          "    id: 20\n"
          "    ports: [9878, 9879]\n"
          "flow:\n"
          "  max_flows: 1000\n",
          f);
    fclose(f);
    static struct tt_config cfg;
    char err[512];
    config_defaults(&cfg);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), 0);
    assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.snaplen, 512);
    assert_int_equal(cfg.flow.max_flows, 1000); /* a setting after the lists still applies */
    assert_int_equal(cfg.live.nifaces, 2);
    assert_string_equal(cfg.live.ifaces[0].name, "eth1");
    assert_int_equal(cfg.live.ifaces[0].mode, LIVE_TAP);
    assert_int_equal(cfg.live.ifaces[0].queues, 4);
    assert_int_equal(cfg.live.ifaces[1].mode, LIVE_HOST);
    assert_int_equal(cfg.live.nrules, 2);
    assert_int_equal(cfg.live.rules[0].ndst, 2);
    assert_int_equal(cfg.live.rules[1].id, 20);
    assert_int_equal(cfg.live.rules[1].nports, 2);

    f = fopen(path, "w");
    fputs("flow:\n  max_flows: [1, 2]\n", f);
    fclose(f);
    config_defaults(&cfg);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'flow.max_flows' takes one value, not a list"));
    unlink(path);
}

/* Bare-metal ports: a vdev string or PCI address as the name (kept whole, named up to its
 * first comma), their queues and rings, and the EAL's arguments as a list. */
static void dpdk_ports_and_eal_arguments(void **state)
{
    (void)state;
    char path[] = "/tmp/tt-live-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("dpdk:\n"
          "  eal: [--no-huge, -m, \"512\", --no-pci]\n"
          "capture:\n"
          "  interfaces:\n"
          "    - name: \"net_pcap0,rx_pcap=/tmp/a.pcap,rx_pcap=/tmp/b.pcap\"\n"
          "      mode: dpdk\n"
          "      queues: 2\n"
          "      rx_descriptors: 2048\n"
          "      mempool_size: auto\n"
          "      rss: l3\n"
          "      busy_poll: true\n"
          "    - {name: \"0000:03:00.0\", mode: dpdk, mempool_size: 65536}\n",
          f);
    fclose(f);
    static struct tt_config cfg;
    char err[512];
    config_defaults(&cfg);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), 0);
    assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.dpdk.nargs, 4);
    assert_string_equal(cfg.dpdk.args[2], "512");
    assert_int_equal(cfg.live.nifaces, 2);
    const struct live_iface *a = &cfg.live.ifaces[0], *b = &cfg.live.ifaces[1];
    assert_string_equal(a->name, "net_pcap0");
    assert_string_equal(a->dev, "net_pcap0,rx_pcap=/tmp/a.pcap,rx_pcap=/tmp/b.pcap");
    assert_int_equal(a->mode, LIVE_DPDK);
    assert_int_equal(a->queues, 2);
    assert_int_equal(a->rx_descriptors, 2048);
    assert_int_equal(a->mempool_size, 0);
    assert_int_equal(a->rss_l3, 1);
    assert_int_equal(a->busy_poll, 1);
    assert_string_equal(b->name, "0000:03:00.0");
    assert_int_equal(b->mempool_size, 65536);
    assert_int_equal(b->rss_l3, 0); /* addresses and ports unless told */

    /* a device string is for mode dpdk only; numbers are checked */
    config_defaults(&cfg);
    assert_int_equal(
        config_set(&cfg, "capture.interfaces.0.name=net_pcap0,iface=x", err, sizeof(err)), 0);
    assert_int_equal(config_finish(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mode: dpdk"));
    assert_int_equal(config_set(&cfg, "capture.interfaces.0.rx_descriptors=lots", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "rx_descriptors 'lots'"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cidr_parse_clears_host_bits_and_refuses_nonsense),
        cmocka_unit_test(rules_take_lists_and_check_ids),
        cmocka_unit_test(compiled_prefixes_carry_every_covering_rule),
        cmocka_unit_test(rules_become_a_pcap_filter),
        cmocka_unit_test(yaml_lists_of_rules_and_interfaces),
        cmocka_unit_test(dpdk_ports_and_eal_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
