-- 011: OpenID Connect sign-ins in progress (gateway/auth/auth_oidc.c, docs/sign-in.md).
-- One row per started sign-in, from /.auth/login/<provider> to its callback, which deletes it
-- (a state is good for one callback). Only hashes of the state and of the browser's binding
-- cookie are kept; the PKCE verifier and the nonce are only worth something with the provider's
-- code for this very sign-in, within AUTH_OIDC_FLOW_TTL_S.
CREATE TABLE swa.oidc_flows (
    state_hash    text PRIMARY KEY CHECK (state_hash ~ '^[0-9a-f]{64}$'),
    binding_hash  text NOT NULL CHECK (binding_hash ~ '^[0-9a-f]{64}$'),
    provider      text NOT NULL CHECK (char_length(provider) BETWEEN 1 AND 32),
    code_verifier text NOT NULL CHECK (char_length(code_verifier) BETWEEN 43 AND 128),
    nonce         text NOT NULL CHECK (char_length(nonce) BETWEEN 1 AND 128),
    redirect      text NOT NULL CHECK (char_length(redirect) BETWEEN 1 AND 1024),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX oidc_flows_expires ON swa.oidc_flows (expires_at);
