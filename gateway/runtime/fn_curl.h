/* fn_curl.h: the one libcurl handle a process keeps per purpose (the hub's publishes to nchan,
 * its webhooks, sign-in's identity providers), reused so that keep-alive connections are too. */
#ifndef CHATR_FN_CURL_H
#define CHATR_FN_CURL_H

#include <curl/curl.h>

/* *slot made on first use (libcurl initialised once per process), reset to defaults on every
 * later one; CURLOPT_NOSIGNAL set (timeouts without SIGALRM). NULL when libcurl cannot make one. */
CURL *fn_curl(CURL **slot);

#endif
