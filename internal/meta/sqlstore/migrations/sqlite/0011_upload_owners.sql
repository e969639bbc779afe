-- Who opened each upload session, so that open sessions are capped per
-- identity as well as per registry ('' for a caller without identity).
ALTER TABLE uploads ADD COLUMN principal TEXT NOT NULL DEFAULT '';
CREATE INDEX uploads_registry ON uploads (registry_id);
CREATE INDEX uploads_principal ON uploads (principal) WHERE principal <> '';
