-- The bytes of small blobs, kept in the database instead of a file of
-- their own: written in the transaction that links them, they need no
-- file, no sync and no ordering against the metadata.
CREATE TABLE blob_contents (
    digest  TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES blobs(digest) ON DELETE CASCADE,
    content BYTEA NOT NULL
);
