-- Family events (issue 15): the outbox every silo appends to before an event counts as emitted, and one delivery row
-- per event and webhook receiver. Idempotent: every statement may run again.
CREATE TABLE IF NOT EXISTS broker_events (
    sequence     bigserial   PRIMARY KEY,          -- the WatchEvents cursor; appends are serialized, so it commits in order
    id           uuid        NOT NULL UNIQUE,      -- webhook-id; receivers dedupe by it
    type         text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    provider     text        NOT NULL,
    subject      text,
    owner        text,
    reason       text,
    status       text        NOT NULL,
    scopes       text[]      NOT NULL DEFAULT '{}',
    suppressed   integer     NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS broker_event_deliveries (
    sequence         bigint      NOT NULL REFERENCES broker_events (sequence),
    caller           text        NOT NULL,
    family           text        NOT NULL,        -- provider/subject: deliveries of one family go out in order
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_owner      text,
    lease_until      timestamptz,
    last_error       text,
    finished_at      timestamptz,
    PRIMARY KEY (sequence, caller)
);

CREATE INDEX IF NOT EXISTS broker_event_deliveries_due ON broker_event_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS broker_event_deliveries_family ON broker_event_deliveries (caller, family, sequence) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS broker_event_deliveries_dead ON broker_event_deliveries (sequence) WHERE state = 'dead';
