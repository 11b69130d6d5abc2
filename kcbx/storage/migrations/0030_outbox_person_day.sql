-- The sweep's daily budget (no one gets more than eight messages a day) counts what each
-- person it is about to tell was queued since midnight: by person and time, through this
-- index, instead of scanning every message queued today.
CREATE INDEX outbox_person_created ON outbox(person_id, created_at);
