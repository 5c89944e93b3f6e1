-- Keys the portal signs with, made by the first process that needs one and
-- read by every other, so that all processes of a deployment agree without
-- an operator having to hand each the same setting. A setting in the
-- environment (CLC_DEVICE_KEY) wins over the row. Whoever reads this table
-- can forge what it signs: today only device cookies, which exempt a
-- browser from sign-in blocks others caused, never sign anyone in.
CREATE TABLE server_secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
