-- The audit log names the principal by kind and uid, not only by a name
-- another identity may take later, and one entry may stand for many
-- throttled sign-in attempts.
ALTER TABLE audit_log ADD COLUMN principal_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN principal_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
