-- What each applied migration's file was: `clc migrate` records its SHA-256
-- and `clc serve` refuses a database whose applied files differ from the
-- binary's, since that schema is not the one the code was written for.
CREATE TABLE schema_files (
    version integer PRIMARY KEY,
    name    text NOT NULL,
    sha256  bytea NOT NULL CHECK (length(sha256) = 32)
);
