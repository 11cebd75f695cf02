-- =============================================================================
-- 001_orleans_grain_storage.sql
--
-- Broker's own PostgreSQL (15+) schema for the Orleans ADO.NET grain storage
-- provider (Microsoft.Orleans.Persistence.AdoNet 10.x, Invariant = "Npgsql").
--
-- Written from the provider's *contract*, not from the upstream scripts:
--
--   * On silo start the provider runs a hard-coded query equivalent to
--       SELECT QueryKey, QueryText FROM OrleansQuery
--        WHERE QueryKey IN ('WriteToStorageKey','ReadFromStorageKey',
--                           'ClearStorageKey','DeleteStorageKey')
--     and afterwards only ever executes the SQL text stored in those rows.
--     So the hard-wired names are: table OrleansQuery, columns QueryKey and
--     QueryText, and the four query keys.  Everything else (storage table,
--     function, indexes) is ours to design as long as the stored queries honour
--     the parameter names and result columns below.
--
--   * Parameters bound by the provider (Npgsql "@Name" placeholders):
--       @GrainIdHash            int4   hash of the grain key bytes
--       @GrainIdN0, @GrainIdN1  int8   Guid halves / 0 + integer key / 0,0 for string keys
--       @GrainTypeHash          int4   hash of @GrainTypeString (UTF-8)
--       @GrainTypeString        text   the *state name* (generic args stripped)
--       @GrainIdExtensionString text   key extension, or the whole string key; may be NULL
--       @ServiceId              text   ClusterOptions.ServiceId
--       @GrainStateVersion      int4   the ETag the grain holds; NULL = "never read a row"
--       @PayloadBinary          bytea  serialized state (write only)
--
--   * Result columns read by the provider:
--       read  : "PayloadBinary" (bytea, NULL = no state) and "Version" (int4)
--       write : "NewGrainStateVersion" (int4, by name)
--       clear : first column (ordinal 0), turned into the new ETag string
--
--   * Optimistic concurrency: the ETag is the integer "version" column.  If a
--     write/clear returns NULL, no row, or the same version the grain sent, the
--     provider throws Orleans.Storage.InconsistentStateException.
--
-- Idempotent: every statement can be re-run.  Run the whole file in ONE
-- transaction (psql --single-transaction, or the migration runner's
-- transaction); the advisory lock below then serializes concurrent migrators.
-- All objects are created unqualified, i.e. in the first schema on the
-- search_path; the silo connection must resolve to the same schema because
-- the provider's bootstrap query is unqualified too.
-- =============================================================================

-- Serialize concurrent runs of this migration (held until COMMIT).
SELECT pg_advisory_xact_lock(7301202400100001);

-- -----------------------------------------------------------------------------
-- 1. Query catalogue.  Name and both column names are fixed by the provider.
--    Unquoted identifiers fold to lower case; Npgsql resolves the provider's
--    "QueryKey"/"QueryText" lookups case-insensitively.
-- -----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS orleansquery
(
    querykey  varchar(64) NOT NULL,
    querytext text        NOT NULL,
    CONSTRAINT orleansquery_pk PRIMARY KEY (querykey)
);

-- -----------------------------------------------------------------------------
-- 2. Grain state table.  Only our own query texts reference it; the column
--    names follow the upstream layout so that operational tooling and any
--    future upstream migration scripts still recognise it.
--
--    Identity of a state row = (serviceid, graintypestring, grainidn0,
--    grainidn1, grainidextensionstring); the two hashes are narrow lookup
--    keys derived from it.  NOTE: the grain *class* is not part of the
--    identity - two grain classes with the same key and the same state name
--    share a row, so state names must be unique per grain class.
-- -----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS orleansstorage
(
    grainidhash            integer     NOT NULL,
    grainidn0              bigint      NOT NULL,
    grainidn1              bigint      NOT NULL,
    graintypehash          integer     NOT NULL,
    graintypestring        text        NOT NULL,
    grainidextensionstring text        NULL,      -- NULL for plain Guid/integer keys
    serviceid              text        NOT NULL,
    payloadbinary          bytea       NULL,      -- NULL after ClearState (row kept)
    modifiedon             timestamptz NOT NULL DEFAULT now(),
    version                integer     NOT NULL,  -- the ETag; int4 because the provider int.Parse()s it
    CONSTRAINT orleansstorage_version_positive CHECK (version > 0)
);

-- One row per identity, enforced by the database instead of by locking.
-- The leading hash/key columns double as the lookup path for every query.
-- Free-text columns are indexed through md5() so arbitrarily long string keys
-- never hit the btree entry size limit; NULLS NOT DISTINCT (PG 15) makes two
-- NULL key extensions collide as they should.
CREATE UNIQUE INDEX IF NOT EXISTS orleansstorage_identity_ux
    ON orleansstorage (grainidhash, graintypehash, grainidn0, grainidn1, serviceid,
                       md5(graintypestring), md5(grainidextensionstring))
    NULLS NOT DISTINCT;

-- -----------------------------------------------------------------------------
-- 3. Write routine (used by WriteToStorageKey).
--
--    expected version NULL  -> first write: insert with version 1, or do
--                              nothing if the row already exists.
--    expected version N     -> compare-and-set: update only if the stored
--                              version is still N, bumping it to N + 1.
--
--    Returns exactly one row whose NewGrainStateVersion is the new version on
--    success and NULL when nothing was written.  The provider turns NULL into
--    "" and treats that as a version conflict (InconsistentStateException).
--    Parameter types match what Npgsql sends for the provider's CLR types
--    (text for strings), so no overload resolution casts are needed.
-- -----------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION broker_orleans_write_state(
    p_grain_id_hash     integer,
    p_grain_id_n0       bigint,
    p_grain_id_n1       bigint,
    p_grain_type_hash   integer,
    p_grain_type        text,
    p_key_extension     text,
    p_service_id        text,
    p_expected_version  integer,
    p_payload           bytea)
RETURNS TABLE (newgrainstateversion integer)
LANGUAGE plpgsql
VOLATILE
AS $fn$
DECLARE
    v_written integer;
BEGIN
    IF p_expected_version IS NULL THEN
        -- Conflict target must repeat the unique index definition exactly.
        -- A concurrent inserter of the same identity blocks here until the
        -- other transaction finishes, then skips: exactly one insert wins.
        INSERT INTO orleansstorage AS s
               (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring,
                grainidextensionstring, serviceid, payloadbinary, modifiedon, version)
        VALUES (p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type_hash, p_grain_type,
                p_key_extension, p_service_id, p_payload, now(), 1)
        ON CONFLICT (grainidhash, graintypehash, grainidn0, grainidn1, serviceid,
                     md5(graintypestring), md5(grainidextensionstring))
        DO NOTHING
        RETURNING s.version INTO v_written;
    ELSE
        -- READ COMMITTED re-checks the predicate after waiting on a row lock,
        -- so of two racing writers holding the same ETag only one succeeds.
        UPDATE orleansstorage AS s
           SET payloadbinary = p_payload,
               modifiedon    = now(),
               version       = s.version + 1
         WHERE s.grainidhash     = p_grain_id_hash
           AND s.graintypehash   = p_grain_type_hash
           AND s.grainidn0       = p_grain_id_n0
           AND s.grainidn1       = p_grain_id_n1
           AND s.serviceid       = p_service_id
           AND s.graintypestring = p_grain_type
           AND s.grainidextensionstring IS NOT DISTINCT FROM p_key_extension
           AND s.version         = p_expected_version
        RETURNING s.version INTO v_written;
    END IF;

    newgrainstateversion := v_written;   -- NULL when no row was touched
    RETURN NEXT;
END;
$fn$;

-- -----------------------------------------------------------------------------
-- 4. Operational queries.  Upserted so that re-running the migration also
--    refreshes the text.  The provider caches these at silo start, so a changed
--    text only takes effect after a silo restart.
--
--    Rules for the texts: Npgsql rewrites @Name placeholders to positional
--    parameters, so no stray '@', no trailing ';' (one statement each), and
--    every parameter the provider binds is referenced.  Result aliases are
--    quoted so they match the provider's lookups exactly.
-- -----------------------------------------------------------------------------
INSERT INTO orleansquery AS q (querykey, querytext)
VALUES
-- ReadStateAsync: zero rows -> provider treats state as absent (ETag NULL).
-- A row with NULL payload (cleared state) still hands back its version as ETag
-- so the next write takes the compare-and-set path.
(
    'ReadFromStorageKey',
    $q$SELECT s.payloadbinary AS "PayloadBinary",
       s.version       AS "Version",
       s.modifiedon    AS "ModifiedOn"
  FROM orleansstorage AS s
 WHERE s.grainidhash     = @GrainIdHash
   AND s.graintypehash   = @GrainTypeHash
   AND s.grainidn0       = @GrainIdN0
   AND s.grainidn1       = @GrainIdN1
   AND s.serviceid       = @ServiceId
   AND s.graintypestring = @GrainTypeString
   AND s.grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString$q$
),
-- WriteStateAsync: all logic lives in the function (named notation keeps the
-- mapping between provider parameters and function arguments explicit).
(
    'WriteToStorageKey',
    $q$SELECT w.newgrainstateversion AS "NewGrainStateVersion"
  FROM broker_orleans_write_state(
         p_grain_id_hash    => @GrainIdHash,
         p_grain_id_n0      => @GrainIdN0,
         p_grain_id_n1      => @GrainIdN1,
         p_grain_type_hash  => @GrainTypeHash,
         p_grain_type       => @GrainTypeString,
         p_key_extension    => @GrainIdExtensionString,
         p_service_id       => @ServiceId,
         p_expected_version => @GrainStateVersion,
         p_payload          => @PayloadBinary) AS w$q$
),
-- ClearStateAsync (DeleteStateOnClear = false, the default): keep the row,
-- drop the payload and bump the version, so the version sequence never
-- restarts and a stale ETag can never match again.  Returns the new version in
-- column 0; no row (ETag mismatch) -> InconsistentStateException.
(
    'ClearStorageKey',
    $q$UPDATE orleansstorage AS s
   SET payloadbinary = NULL,
       modifiedon    = now(),
       version       = s.version + 1
 WHERE s.grainidhash     = @GrainIdHash
   AND s.graintypehash   = @GrainTypeHash
   AND s.grainidn0       = @GrainIdN0
   AND s.grainidn1       = @GrainIdN1
   AND s.serviceid       = @ServiceId
   AND s.graintypestring = @GrainTypeString
   AND s.grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
   AND s.version         = @GrainStateVersion
RETURNING s.version AS "NewGrainStateVersion"$q$
),
-- ClearStateAsync with DeleteStateOnClear = true.  Optional for the provider
-- unless that option is set (then a missing row fails silo start), provided so
-- the option can be flipped without another migration.  Returns the deleted
-- version + 1 so the provider's "version must change" check passes; the
-- provider then resets the grain's ETag to NULL (next write inserts).
(
    'DeleteStorageKey',
    $q$DELETE FROM orleansstorage AS s
 WHERE s.grainidhash     = @GrainIdHash
   AND s.graintypehash   = @GrainTypeHash
   AND s.grainidn0       = @GrainIdN0
   AND s.grainidn1       = @GrainIdN1
   AND s.serviceid       = @ServiceId
   AND s.graintypestring = @GrainTypeString
   AND s.grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
   AND s.version         = @GrainStateVersion
RETURNING s.version + 1 AS "NewGrainStateVersion"$q$
)
ON CONFLICT (querykey) DO UPDATE
    SET querytext = EXCLUDED.querytext
  WHERE q.querytext IS DISTINCT FROM EXCLUDED.querytext;
