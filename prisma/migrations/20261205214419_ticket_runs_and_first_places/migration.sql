-- An ORIGINAL return restores the queue_seq a case was enqueued with: kept
-- here once a BACK or FRONT return replaces it (null until then).
-- AlterTable
ALTER TABLE "cases" ADD COLUMN     "enqueue_seq" BIGINT;

-- One ticket counter per service instead of one per day: numbering runs on
-- across midnight while cases numbered on an earlier day are still open
-- (src/queue/enqueue-statement.ts). Each service keeps its latest day's row,
-- its number raised past every number an open case holds, so no ticket still
-- waiting (or in service) is drawn again.
DELETE FROM "ticket_counters" t
 USING "ticket_counters" later
 WHERE later."service_id" = t."service_id" AND later."day" > t."day";

-- AlterTable
ALTER TABLE "ticket_counters" DROP CONSTRAINT "ticket_counters_pkey",
ADD COLUMN     "started_on" DATE,
ADD CONSTRAINT "ticket_counters_pkey" PRIMARY KEY ("service_id");

UPDATE "ticket_counters" t
   SET "started_on" = t."day",
       "last_number" = greatest(t."last_number", coalesce((
         SELECT max(c."ticket_number") FROM "cases" c
          WHERE c."service_id" = t."service_id" AND c."status" IN ('WAITING', 'IN_SERVICE')), 0));

ALTER TABLE "ticket_counters" ALTER COLUMN "started_on" SET NOT NULL;
