-- Proof of a carrier account's ownership (docs/security.md#carrier-accounts). An account is verified by the first webhook
-- that arrives signed with its token: only the carrier, with the account's real token, can sign one. Until then another
-- tenant may still claim the same account; its claim waits here, and whichever token the carrier's next webhook proves
-- takes the account. Accounts from before this check are unverified until their next webhook.
ALTER TABLE callmesh.carrier_accounts ADD COLUMN verified_at timestamptz NULL;

CREATE TABLE callmesh.carrier_account_claims (
    account_sid text NOT NULL,
    tenant_id   text NOT NULL,
    carrier     text NOT NULL CHECK (carrier IN ('twilio', 'signalwire')),
    auth_token  text NOT NULL,             -- sealed, as carrier_accounts.auth_token
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_sid, tenant_id)
);
