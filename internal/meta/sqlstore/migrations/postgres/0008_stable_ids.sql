-- Identity columns never hand out an id twice, so only the principals'
-- uid (what tokens name) and revocation generations are new here; see the
-- SQLite migration of the same name.
ALTER TABLE principals ADD COLUMN uid TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE principals SET uid = replace(gen_random_uuid()::text, '-', '');
ALTER TABLE principals ALTER COLUMN uid DROP DEFAULT;
ALTER TABLE principals ADD CONSTRAINT principals_uid UNIQUE (uid);
ALTER TABLE principals ADD COLUMN token_gen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE principals ADD COLUMN grant_gen BIGINT NOT NULL DEFAULT 0;
CREATE INDEX principals_name ON principals (name);
