/* hub_revoke.h: tokens bound to a sign-in session (docs/sign-in.md). */
#ifndef CHATR_HUB_REVOKE_H
#define CHATR_HUB_REVOKE_H

#include "fn.h"
#include "wps_jwt.h"

#define HUB_SID_CLAIM "chatr.sid" /* getToken's binding claim: a hash, never the session id */
#define HUB_SID_LEN 32            /* its length, lowercase hex */
/* Handshake of a verified token: a bound one is refused when its session is gone (401), and
 * otherwise recorded as bound, for logout. 1: refused, answered, tok released; 0: go on. */
int hub_revoke_refused(fn_res *res, wps_jwt_claims *tok, const char *conn_id);
/* Logout of session sid: closes every connection its tokens opened. Returns how many, -1 when
 * one could not be closed. */
int hub_revoke_session(const char *sid);

#endif
