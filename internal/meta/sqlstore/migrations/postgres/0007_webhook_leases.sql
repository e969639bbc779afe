-- Several nodes: one worker a webhook (a lease), and a delivery queued at
-- most once per webhook and event.
ALTER TABLE webhooks ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id) WHERE event_id > 0;
