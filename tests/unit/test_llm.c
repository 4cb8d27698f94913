/* test_llm.c - address placeholders (llm_redact, llm_unredact) and the client's configuration
 * errors; the HTTP side is tested against a live test server (tests/integration/enrich.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/enrich/llm.h"

static void addresses_become_placeholders_and_come_back(void **state)
{
    (void)state;
    struct llm_redaction map = {0};
    const char *text = "service:10.2.0.9:9878 refused 10.1.0.1:50000 and 10.1.0.1 again; "
                       "fe80::1 and 2001:db8::7. Version 2.0.2, 1.2.3.4.5 and x10.0.0.1 stay.";
    char *r = llm_redact(text, &map);
    assert_non_null(r);
    assert_string_equal(r, "service:HOST1:9878 refused HOST2:50000 and HOST2 again; "
                           "HOST3 and HOST4. Version 2.0.2, 1.2.3.4.5 and x10.0.0.1 stay.");
    assert_int_equal(map.n, 4);
    char *back = llm_unredact("HOST2 resets HOST1; HOST12 and HOSTS stay", &map);
    assert_string_equal(back, "10.1.0.1 resets 10.2.0.9; HOST12 and HOSTS stay");
    free(r);
    free(back);
    llm_redaction_free(&map);
}

static void configuration_errors_are_said(void **state)
{
    (void)state;
    struct llm_config c;
    struct llm_client *cl;
    char err[256];
    llm_config_default(&c);
    assert_int_equal(llm_client_new(&c, &cl, err, sizeof(err)), 0); /* no URL: no LLM */
    assert_null(cl);
    strcpy(c.base_url, "https://llm.example/v1");
    assert_int_equal(llm_client_new(&c, &cl, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "llm.model"));
    strcpy(c.model, "m");
    strcpy(c.api_key_env, "TICKTAP_TEST_NO_SUCH_KEY");
    assert_int_equal(llm_client_new(&c, &cl, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "TICKTAP_TEST_NO_SUCH_KEY"));
    strcpy(c.base_url, "http://127.0.0.1:1/v1"); /* a local server needs no key */
    assert_int_equal(llm_client_new(&c, &cl, err, sizeof(err)), 0);
    assert_non_null(cl);
    llm_client_free(cl);
    strcpy(c.base_url, "ftp://x");
    assert_int_equal(llm_client_new(&c, &cl, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addresses_become_placeholders_and_come_back),
        cmocka_unit_test(configuration_errors_are_said),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
