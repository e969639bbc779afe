-- Repository events carry the artifact's media type and size, as ACR's do.
ALTER TABLE audit_log ADD COLUMN media_type TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
