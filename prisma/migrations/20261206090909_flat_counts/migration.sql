-- CreateTable
CREATE TABLE "queue_blocks" (
    "service_id" INTEGER NOT NULL,
    "first_at" TIMESTAMPTZ(3) NOT NULL,
    "first_seq" BIGINT NOT NULL,
    "waiting" INTEGER NOT NULL,

    CONSTRAINT "queue_blocks_pkey" PRIMARY KEY ("service_id","first_at","first_seq")
);

-- CreateTable
CREATE TABLE "service_tallies" (
    "service_id" INTEGER NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "enqueued" INTEGER NOT NULL DEFAULT 0,
    "closed" INTEGER NOT NULL DEFAULT 0,
    "auto_closed" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "service_tallies_pkey" PRIMARY KEY ("service_id","bucket")
);

-- AddForeignKey
ALTER TABLE "queue_blocks" ADD CONSTRAINT "queue_blocks_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "service_tallies" ADD CONSTRAINT "service_tallies_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Counts that stay flat however long a queue grows (docs/database.md, "Counts
-- that stay flat"). A queue's waiting cases are cut into blocks of the queue
-- order, each holding a few hundred, and `queue_blocks` counts the waiting cases
-- of each block. A case's position is then the sum of the blocks ahead of its
-- own plus a count inside its block, and a queue's length the sum of its
-- blocks. `service_tallies` counts enqueues and closes per quarter of an hour,
-- so "today" is a sum of at most 96 rows plus the cases of a part-quarter.
--
-- Both are kept by a statement-level trigger, in the same transaction as the
-- change: a rolled-back change counts nothing and a committed one is always
-- counted, whoever writes (this gateway, another process, psql). A writer
-- holds an advisory lock on (1363497292, service id) from its trigger until it
-- commits, taken in order of service id, so the blocks of a service change one
-- transaction at a time: a block is never split under a writer that has placed
-- its cases in it. Writers of a service already commit one at a time for
-- enqueues (the service row's lock), and call next and transitions of one service
-- now do too, from the trigger to the commit.

-- A change to a service's waiting cases: +1 where a case now waits at (at, seq), -1 where it waited.
CREATE TYPE "queue_move" AS ("service_id" INTEGER, "at" TIMESTAMPTZ(3), "seq" BIGINT, "delta" INTEGER);

-- Keeps block (svc, at, seq) between 64 and 512 waiting cases: a smaller one is
-- merged into the block before it (the first block, at -infinity, takes in the
-- block after it instead), and a larger one is cut into equal blocks of at most 256.
CREATE FUNCTION "queue_blocks_rebalance"(svc INTEGER, at TIMESTAMPTZ, seq BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  blk "queue_blocks";
  other "queue_blocks";
  next_at TIMESTAMPTZ;
  next_seq BIGINT;
BEGIN
  SELECT * INTO blk FROM "queue_blocks" b WHERE b."service_id" = svc AND b."first_at" = at AND b."first_seq" = seq;
  IF NOT FOUND THEN RETURN; END IF;
  IF blk."waiting" < 64 THEN
    IF blk."first_at" = '-infinity' THEN
      SELECT * INTO other FROM "queue_blocks" b
       WHERE b."service_id" = svc AND (b."first_at", b."first_seq") > (blk."first_at", blk."first_seq")
       ORDER BY b."first_at", b."first_seq" LIMIT 1;
      IF NOT FOUND THEN RETURN; END IF;
      DELETE FROM "queue_blocks" b WHERE b."service_id" = svc AND b."first_at" = other."first_at" AND b."first_seq" = other."first_seq";
      UPDATE "queue_blocks" b SET "waiting" = b."waiting" + other."waiting"
       WHERE b."service_id" = svc AND b."first_at" = blk."first_at" AND b."first_seq" = blk."first_seq"
      RETURNING * INTO blk;
    ELSE
      DELETE FROM "queue_blocks" b WHERE b."service_id" = svc AND b."first_at" = blk."first_at" AND b."first_seq" = blk."first_seq";
      UPDATE "queue_blocks" b SET "waiting" = b."waiting" + blk."waiting"
       WHERE (b."service_id", b."first_at", b."first_seq") = (
               SELECT p."service_id", p."first_at", p."first_seq" FROM "queue_blocks" p
                WHERE p."service_id" = svc AND (p."first_at", p."first_seq") < (blk."first_at", blk."first_seq")
                ORDER BY p."first_at" DESC, p."first_seq" DESC LIMIT 1)
      RETURNING * INTO blk;
    END IF;
  END IF;
  IF blk."waiting" IS NULL OR blk."waiting" <= 512 THEN RETURN; END IF;
  SELECT b."first_at", b."first_seq" INTO next_at, next_seq FROM "queue_blocks" b
   WHERE b."service_id" = svc AND (b."first_at", b."first_seq") > (blk."first_at", blk."first_seq")
   ORDER BY b."first_at", b."first_seq" LIMIT 1;
  -- Parts numbered 0 to k - 1 in queue order, k = ceil(n / 256): part 0 stays
  -- in this block (recounted), each other part starts a block at its first case.
  WITH parts AS (
    SELECT DISTINCT ON (p."part") p."part", p."queued_at", p."queue_seq", count(*) OVER (PARTITION BY p."part")::int AS "size"
      FROM (SELECT r."queued_at", r."queue_seq", r."rn", ((r."rn" - 1) * ((r."n" + 255) / 256)) / r."n" AS "part"
              FROM (SELECT c."queued_at", c."queue_seq",
                           row_number() OVER (ORDER BY c."queued_at", c."queue_seq") AS "rn", count(*) OVER () AS "n"
                      FROM "cases" c
                     WHERE c."service_id" = svc AND c."status" = 'WAITING'
                       AND (c."queued_at", c."queue_seq") >= (blk."first_at", blk."first_seq")
                       AND (next_at IS NULL OR (c."queued_at", c."queue_seq") < (next_at, next_seq))) r) p
     ORDER BY p."part", p."rn"
  ), kept AS (
    UPDATE "queue_blocks" b SET "waiting" = coalesce((SELECT q."size" FROM parts q WHERE q."part" = 0), 0)
     WHERE b."service_id" = svc AND b."first_at" = blk."first_at" AND b."first_seq" = blk."first_seq"
  )
  INSERT INTO "queue_blocks" ("service_id", "first_at", "first_seq", "waiting")
  SELECT svc, q."queued_at", q."queue_seq", q."size" FROM parts q WHERE q."part" > 0 ORDER BY q."part";
END
$$;

CREATE FUNCTION "count_case_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  moves "queue_move"[];
  tallies "service_tallies"[];
  svc INTEGER;
  touched RECORD;
BEGIN
  IF TG_OP = 'INSERT' THEN
    moves := ARRAY(SELECT ROW(n."service_id", n."queued_at", n."queue_seq", 1)::"queue_move"
                     FROM "new_cases" n WHERE n."status" = 'WAITING');
    tallies := ARRAY(
      SELECT ROW(t."service_id", t."bucket", sum(t."enqueued")::int, sum(t."closed")::int, sum(t."auto_closed")::int)::"service_tallies"
        FROM "new_cases" n
       CROSS JOIN LATERAL (VALUES
               (n."service_id", date_bin('15 minutes', n."enqueued_at", '2000-01-01 00:00:00+00'), 1, 0, 0),
               (n."service_id", date_bin('15 minutes', n."closed_at", '2000-01-01 00:00:00+00'), 0, 1, n."auto_close"::int))
             AS t("service_id", "bucket", "enqueued", "closed", "auto_closed")
       WHERE t."bucket" IS NOT NULL
       GROUP BY t."service_id", t."bucket");
  ELSIF TG_OP = 'DELETE' THEN
    moves := ARRAY(SELECT ROW(o."service_id", o."queued_at", o."queue_seq", -1)::"queue_move"
                     FROM "old_cases" o WHERE o."status" = 'WAITING');
    tallies := ARRAY(
      SELECT ROW(t."service_id", t."bucket", sum(t."enqueued")::int, sum(t."closed")::int, sum(t."auto_closed")::int)::"service_tallies"
        FROM "old_cases" o
       CROSS JOIN LATERAL (VALUES
               (o."service_id", date_bin('15 minutes', o."enqueued_at", '2000-01-01 00:00:00+00'), -1, 0, 0),
               (o."service_id", date_bin('15 minutes', o."closed_at", '2000-01-01 00:00:00+00'), 0, -1, -(o."auto_close"::int)))
             AS t("service_id", "bucket", "enqueued", "closed", "auto_closed")
       WHERE t."bucket" IS NOT NULL
       GROUP BY t."service_id", t."bucket");
  ELSE
    -- Only rows whose place, status or tallied times changed: a call or a
    -- completion moves no block it does not leave or enter.
    moves := ARRAY(
      SELECT ROW(x."service_id", x."at", x."seq", x."delta")::"queue_move"
        FROM "old_cases" o JOIN "new_cases" n ON n."id" = o."id"
       CROSS JOIN LATERAL (VALUES (o."service_id", o."queued_at", o."queue_seq", -1, o."status"),
                                  (n."service_id", n."queued_at", n."queue_seq", 1, n."status"))
             AS x("service_id", "at", "seq", "delta", "status")
       WHERE x."status" = 'WAITING'
         AND (o."service_id", o."status", o."queued_at", o."queue_seq") IS DISTINCT FROM (n."service_id", n."status", n."queued_at", n."queue_seq"));
    tallies := ARRAY(
      SELECT ROW(t."service_id", t."bucket", sum(t."enqueued")::int, sum(t."closed")::int, sum(t."auto_closed")::int)::"service_tallies"
        FROM "old_cases" o JOIN "new_cases" n ON n."id" = o."id"
       CROSS JOIN LATERAL (VALUES
               (o."service_id", date_bin('15 minutes', o."enqueued_at", '2000-01-01 00:00:00+00'), -1, 0, 0),
               (o."service_id", date_bin('15 minutes', o."closed_at", '2000-01-01 00:00:00+00'), 0, -1, -(o."auto_close"::int)),
               (n."service_id", date_bin('15 minutes', n."enqueued_at", '2000-01-01 00:00:00+00'), 1, 0, 0),
               (n."service_id", date_bin('15 minutes', n."closed_at", '2000-01-01 00:00:00+00'), 0, 1, n."auto_close"::int))
             AS t("service_id", "bucket", "enqueued", "closed", "auto_closed")
       WHERE t."bucket" IS NOT NULL
         AND (o."service_id", o."enqueued_at", o."closed_at", o."auto_close") IS DISTINCT FROM (n."service_id", n."enqueued_at", n."closed_at", n."auto_close")
       GROUP BY t."service_id", t."bucket"
      HAVING sum(t."enqueued") <> 0 OR sum(t."closed") <> 0 OR sum(t."auto_closed") <> 0);
  END IF;
  IF cardinality(moves) = 0 AND cardinality(tallies) = 0 THEN
    RETURN NULL;
  END IF;
  FOR svc IN SELECT u."service_id" FROM (SELECT m."service_id" FROM unnest(moves) m
                                         UNION SELECT t."service_id" FROM unnest(tallies) t) u
              ORDER BY u."service_id" LOOP
    PERFORM pg_advisory_xact_lock(1363497292, svc);
  END LOOP;
  -- Each move goes to the block it falls in (the first block when none is
  -- before it: created on a service's first waiting case).
  FOR touched IN
    WITH placed AS (
      SELECT m."service_id", coalesce(b."first_at", '-infinity') AS "first_at", coalesce(b."first_seq", 0) AS "first_seq",
             sum(m."delta")::int AS "delta"
        FROM unnest(moves) m
        LEFT JOIN LATERAL (SELECT q."first_at", q."first_seq" FROM "queue_blocks" q
                            WHERE q."service_id" = m."service_id" AND (q."first_at", q."first_seq") <= (m."at", m."seq")
                            ORDER BY q."first_at" DESC, q."first_seq" DESC LIMIT 1) b ON true
       GROUP BY 1, 2, 3
    )
    INSERT INTO "queue_blocks" AS q ("service_id", "first_at", "first_seq", "waiting")
    SELECT p."service_id", p."first_at", p."first_seq", p."delta" FROM placed p WHERE p."delta" <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT ("service_id", "first_at", "first_seq") DO UPDATE SET "waiting" = q."waiting" + excluded."waiting"
    RETURNING q."service_id", q."first_at", q."first_seq"
  LOOP
    PERFORM "queue_blocks_rebalance"(touched."service_id", touched."first_at", touched."first_seq");
  END LOOP;
  INSERT INTO "service_tallies" AS s ("service_id", "bucket", "enqueued", "closed", "auto_closed")
  SELECT t."service_id", t."bucket", t."enqueued", t."closed", t."auto_closed" FROM unnest(tallies) t ORDER BY 1, 2
  ON CONFLICT ("service_id", "bucket") DO UPDATE
     SET "enqueued" = s."enqueued" + excluded."enqueued", "closed" = s."closed" + excluded."closed",
         "auto_closed" = s."auto_closed" + excluded."auto_closed";
  RETURN NULL;
END
$$;

CREATE TRIGGER "cases_count_inserted" AFTER INSERT ON "cases"
  REFERENCING NEW TABLE AS "new_cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "count_case_changes"();

CREATE TRIGGER "cases_count_updated" AFTER UPDATE ON "cases"
  REFERENCING OLD TABLE AS "old_cases" NEW TABLE AS "new_cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "count_case_changes"();

CREATE TRIGGER "cases_count_deleted" AFTER DELETE ON "cases"
  REFERENCING OLD TABLE AS "old_cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "count_case_changes"();

CREATE FUNCTION "count_cases_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "queue_blocks";
  DELETE FROM "service_tallies";
  RETURN NULL;
END
$$;

CREATE TRIGGER "cases_count_truncated" AFTER TRUNCATE ON "cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "count_cases_truncated"();

-- The counts of the cases already there.
INSERT INTO "queue_blocks" ("service_id", "first_at", "first_seq", "waiting")
SELECT "service_id", '-infinity', 0, count(*) FROM "cases" WHERE "status" = 'WAITING' GROUP BY "service_id";
SELECT "queue_blocks_rebalance"("service_id", "first_at", "first_seq") FROM "queue_blocks";
INSERT INTO "service_tallies" ("service_id", "bucket", "enqueued", "closed", "auto_closed")
SELECT t."service_id", t."bucket", sum(t."enqueued"), sum(t."closed"), sum(t."auto_closed")
  FROM "cases" c
 CROSS JOIN LATERAL (VALUES
         (c."service_id", date_bin('15 minutes', c."enqueued_at", '2000-01-01 00:00:00+00'), 1, 0, 0),
         (c."service_id", date_bin('15 minutes', c."closed_at", '2000-01-01 00:00:00+00'), 0, 1, c."auto_close"::int))
       AS t("service_id", "bucket", "enqueued", "closed", "auto_closed")
 WHERE t."bucket" IS NOT NULL
 GROUP BY t."service_id", t."bucket";
