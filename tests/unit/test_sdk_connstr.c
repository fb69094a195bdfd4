/* test_sdk_connstr.c: connection string parsing as @azure/web-pubsub does it
 * (docs/protocols.md#connection-strings). */
#include "unit.h"
#include "wps_connstr.h"

#include <stdlib.h>

/* Endpoint parsed from s, or "ERR:<message>"; in a static buffer. */
static const char *endpoint_of(const char *s)
{
    static char out[512];
    char err[256];
    wps_connstr cs;
    if (wps_connstr_parse(s, &cs, err, sizeof err) != 0) {
        snprintf(out, sizeof out, "ERR:%s", err);
        return out;
    }
    snprintf(out, sizeof out, "%s", cs.endpoint);
    wps_connstr_free(&cs);
    return out;
}

UNIT_TEST(connstr_protocol_examples)
{
    wps_connstr cs;
    CHECK(wps_connstr_parse("Endpoint=https://x.webpubsub.azure.com;AccessKey=k3y+/=;Version=1.0;",
                            &cs, NULL, 0) == 0);
    CHECK_STR(cs.endpoint, "https://x.webpubsub.azure.com/");
    CHECK_STR(cs.access_key, "k3y+/="); /* value verbatim, '=' kept */
    wps_connstr_free(&cs);
    CHECK_STR(
        endpoint_of("Endpoint=http://localhost;Port=8080;AccessKey=ABCDEFGHIJKLMNOPQRSTUVWXYZ0"
                    "123456789ABCDEFGH;Version=1.0;"),
        "http://localhost:8080/");
}

UNIT_TEST(connstr_port_handling)
{
    CHECK_STR(endpoint_of("Endpoint=http://localhost;Port=80;AccessKey=k"), "http://localhost/");
    CHECK_STR(endpoint_of("Endpoint=https://h.example;Port=443;AccessKey=k"), "https://h.example/");
    CHECK_STR(endpoint_of("Endpoint=http://localhost;Port=443;AccessKey=k"),
              "http://localhost:443/");
    CHECK_STR(endpoint_of("Endpoint=https://h.example;Port=80;AccessKey=k"),
              "https://h.example:80/");
    /* Port overrides a port written in the endpoint; an endpoint port alone is kept. */
    CHECK_STR(endpoint_of("Endpoint=http://localhost:1234;Port=8080;AccessKey=k"),
              "http://localhost:8080/");
    CHECK_STR(endpoint_of("Endpoint=http://localhost:1234;AccessKey=k"), "http://localhost:1234/");
    CHECK_STR(endpoint_of("Endpoint=http://localhost:80/;AccessKey=k"), "http://localhost/");
    CHECK(strncmp(endpoint_of("Endpoint=http://localhost;Port=abc;AccessKey=k"),
                  "ERR:connection string: invalid port", 35) == 0);
    CHECK(strncmp(endpoint_of("Endpoint=http://localhost;Port=70000;AccessKey=k"), "ERR:", 4) == 0);
}

UNIT_TEST(connstr_scheme_slash_and_keys)
{
    CHECK_STR(endpoint_of("Endpoint=x.example.com;AccessKey=k"), "https://x.example.com/");
    CHECK_STR(endpoint_of("endpoint=http://a.b/;ACCESSKEY=k"), "http://a.b/");
    CHECK_STR(endpoint_of("ENDPOINT=http://a.b/base;accessKey=k"), "http://a.b/base/");
    /* Later duplicates win; pieces without '=' are ignored; empty pieces are fine. */
    CHECK_STR(endpoint_of("Endpoint=http://a;;junk;Endpoint=http://b;AccessKey=k;;"), "http://b/");
    CHECK_STR(endpoint_of("Endpoint=HTTP://A.b;AccessKey=k"), "http://A.b/");
    CHECK_STR(endpoint_of("Endpoint=ftp://a;AccessKey=k"),
              "ERR:connection string: endpoint 'ftp://a' is not http(s)");
    CHECK_STR(endpoint_of("Endpoint=http://a/?x=1;AccessKey=k"),
              "ERR:connection string: endpoint 'http://a/?x=1' has a query or fragment");
    CHECK(strncmp(endpoint_of("Endpoint=http://a#f;AccessKey=k"), "ERR:", 4) == 0);
    CHECK_STR(endpoint_of("Endpoint=http://[::1]:8080;AccessKey=k"), "http://[::1]:8080/");
    CHECK(strncmp(endpoint_of("Endpoint=httpx://a;AccessKey=k"), "ERR:", 4) == 0);
}

UNIT_TEST(connstr_missing_keys)
{
    CHECK_STR(endpoint_of("AccessKey=k;Version=1.0"), "ERR:connection string missing endpoint");
    CHECK_STR(endpoint_of("Endpoint=;AccessKey=k"), "ERR:connection string missing endpoint");
    CHECK_STR(endpoint_of("Endpoint=http://a"), "ERR:connection string missing access key");
    CHECK_STR(endpoint_of("Endpoint=http://a;AccessKey="),
              "ERR:connection string missing access key");
    CHECK_STR(endpoint_of("Endpoint http://a;AccessKey k"),
              "ERR:connection string missing endpoint");
    CHECK_STR(endpoint_of(""), "ERR:connection string is empty");
    wps_connstr cs;
    CHECK(wps_connstr_parse(NULL, &cs, NULL, 0) == -1);
    CHECK(cs.endpoint == NULL && cs.access_key == NULL);
}

UNIT_TEST(connstr_length_limit)
{
    size_t n = WPS_CONNSTR_MAX_LEN + 1;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    memcpy(s, "Endpoint=http://a;AccessKey=", 28);
    s[n] = '\0';
    CHECK(strncmp(endpoint_of(s), "ERR:connection string longer than", 33) == 0);
    s[n - 1] = '\0'; /* exactly the limit: accepted */
    CHECK_STR(endpoint_of(s), "http://a/");
    free(s);
}

/* The connection strings Chatr itself writes (infra/emulator, infra/systemd/chatr-setup), which
 * hub_key_access and the eventHandler used to read with their own parsers: the key verbatim
 * (token_urlsafe: letters, digits, '-', '_'), the endpoint's host[:port] kept. */
UNIT_TEST(connstr_chatr_own_connection_strings)
{
    static const struct {
        const char *s, *endpoint;
    } cases[] = {
        {"Endpoint=http://127.0.0.1:41234;AccessKey=Ab-_9xYz0123456789abcdefghijklmnopqrstuvwxyzAB;"
         "Version=1.0;",
         "http://127.0.0.1:41234/"},
        {"Endpoint=https://127.0.0.1:8443;AccessKey=Ab-_9xYz0123456789abcdefghijklmnopqrstuvwxyzAB;"
         "Version=1.0;",
         "https://127.0.0.1:8443/"},
        {"Endpoint=https://"
         "chat.example.org;AccessKey=Ab-_9xYz0123456789abcdefghijklmnopqrstuvwxyzAB;"
         "Version=1.0;",
         "https://chat.example.org/"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wps_connstr cs;
        CHECK(wps_connstr_parse(cases[i].s, &cs, NULL, 0) == 0);
        CHECK_STR(cs.endpoint, cases[i].endpoint);
        CHECK_STR(cs.access_key, "Ab-_9xYz0123456789abcdefghijklmnopqrstuvwxyzAB");
        wps_connstr_free(&cs);
    }
}
