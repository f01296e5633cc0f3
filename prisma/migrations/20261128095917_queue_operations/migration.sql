-- CreateEnum
CREATE TYPE "case_action" AS ENUM ('ENQUEUE', 'AUTO_CLOSE', 'CALL_NEXT', 'CALL_CASE', 'COMPLETE', 'RETURN_TO_QUEUE', 'CANCEL');

-- AlterEnum (edited by hand: Prisma's generated version recreates the type,
-- which would fail on existing CLOSED rows and names a table not yet created).
-- Auto-closed cases were CLOSED, they are COMPLETED now.
ALTER TYPE "case_status" RENAME VALUE 'CLOSED' TO 'COMPLETED';
ALTER TYPE "case_status" ADD VALUE 'IN_SERVICE' BEFORE 'COMPLETED';
ALTER TYPE "case_status" ADD VALUE 'CANCELLED' AFTER 'COMPLETED';

-- DropIndex
DROP INDEX "cases_queue_order_idx";

-- AlterTable
ALTER TABLE "services" ADD COLUMN     "active" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "time_zone" VARCHAR(64) NOT NULL DEFAULT 'UTC';

-- AlterTable
ALTER TABLE "customers" ADD COLUMN     "active" BOOLEAN NOT NULL DEFAULT true;

-- AlterTable
ALTER TABLE "case_properties" ADD COLUMN     "position" SMALLINT;

-- AlterTable
ALTER TABLE "cases" ADD COLUMN     "called_at" TIMESTAMPTZ(3),
ADD COLUMN     "idempotency_key" VARCHAR(100),
ADD COLUMN     "last_action" "case_action" NOT NULL DEFAULT 'ENQUEUE',
ADD COLUMN     "last_agent" VARCHAR(100),
ADD COLUMN     "queue_seq" BIGSERIAL NOT NULL,
ADD COLUMN     "queued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(),
ADD COLUMN     "request_hash" CHAR(64),
ADD COLUMN     "ticket" VARCHAR(20),
ADD COLUMN     "ticket_day" DATE,
ADD COLUMN     "ticket_number" INTEGER,
ADD COLUMN     "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp();

-- CreateTable
CREATE TABLE "classifications" (
    "id" SERIAL NOT NULL,
    "code" VARCHAR(50) NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "classifications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "classification_services" (
    "classification_id" INTEGER NOT NULL,
    "service_id" INTEGER NOT NULL,

    CONSTRAINT "classification_services_pkey" PRIMARY KEY ("classification_id","service_id")
);

-- CreateTable
CREATE TABLE "procedures" (
    "id" SERIAL NOT NULL,
    "ext_ref" VARCHAR(100) NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "procedures_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "procedure_options" (
    "id" SERIAL NOT NULL,
    "procedure_id" INTEGER NOT NULL,
    "ext_ref" VARCHAR(100) NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,

    CONSTRAINT "procedure_options_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ticket_counters" (
    "service_id" INTEGER NOT NULL,
    "day" DATE NOT NULL,
    "last_number" INTEGER NOT NULL,

    CONSTRAINT "ticket_counters_pkey" PRIMARY KEY ("service_id","day")
);

-- CreateTable
CREATE TABLE "case_events" (
    "id" BIGSERIAL NOT NULL,
    "case_id" INTEGER NOT NULL,
    "action" "case_action" NOT NULL,
    "agent" VARCHAR(100),
    "reason" VARCHAR(500),
    "from_status" "case_status",
    "to_status" "case_status" NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(),

    CONSTRAINT "case_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "classifications_code_key" ON "classifications"("code");

-- CreateIndex
CREATE INDEX "classification_services_service_id_idx" ON "classification_services"("service_id");

-- CreateIndex
CREATE UNIQUE INDEX "procedures_ext_ref_key" ON "procedures"("ext_ref");

-- CreateIndex
CREATE UNIQUE INDEX "procedure_options_procedure_id_ext_ref_key" ON "procedure_options"("procedure_id", "ext_ref");

-- CreateIndex
CREATE INDEX "case_events_case_id_id_idx" ON "case_events"("case_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "cases_idempotency_key_key" ON "cases"("idempotency_key");

-- CreateIndex
CREATE INDEX "cases_queue_order_idx" ON "cases"("service_id", "status", "queued_at", "queue_seq");

-- CreateIndex
CREATE INDEX "cases_service_id_enqueued_at_idx" ON "cases"("service_id", "enqueued_at");

-- CreateIndex
CREATE INDEX "cases_service_id_called_at_idx" ON "cases"("service_id", "called_at");

-- CreateIndex
CREATE INDEX "cases_service_id_closed_at_idx" ON "cases"("service_id", "closed_at");

-- CreateIndex
CREATE UNIQUE INDEX "cases_ticket_key" ON "cases"("service_id", "ticket_day", "ticket_number");

-- AddForeignKey
ALTER TABLE "classification_services" ADD CONSTRAINT "classification_services_classification_id_fkey" FOREIGN KEY ("classification_id") REFERENCES "classifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "classification_services" ADD CONSTRAINT "classification_services_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "procedure_options" ADD CONSTRAINT "procedure_options_procedure_id_fkey" FOREIGN KEY ("procedure_id") REFERENCES "procedures"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ticket_counters" ADD CONSTRAINT "ticket_counters_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "case_events" ADD CONSTRAINT "case_events_case_id_fkey" FOREIGN KEY ("case_id") REFERENCES "cases"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill (edited by hand): existing cases keep their queue order, get
-- tickets numbered per service and UTC day in enqueue order, and a history.
UPDATE "cases" SET "queued_at" = "enqueued_at", "queue_seq" = "id", "updated_at" = coalesce("closed_at", "enqueued_at"),
       "last_action" = CASE WHEN "auto_close" THEN 'AUTO_CLOSE'::"case_action" ELSE 'ENQUEUE'::"case_action" END;

UPDATE "cases" c
   SET "ticket_day" = n."day",
       "ticket_number" = n."number",
       "ticket" = coalesce(s."queue_code", '') || lpad(n."number"::text, greatest(3, length(n."number"::text)), '0')
  FROM (SELECT "id", ("enqueued_at" AT TIME ZONE 'UTC')::date AS "day",
               row_number() OVER (PARTITION BY "service_id", ("enqueued_at" AT TIME ZONE 'UTC')::date ORDER BY "enqueued_at", "id")::int AS "number"
          FROM "cases") n, "services" s
 WHERE n."id" = c."id" AND s."id" = c."service_id";

SELECT setval(pg_get_serial_sequence('cases', 'queue_seq'), coalesce(max("queue_seq"), 0) + 1, false) FROM "cases";

INSERT INTO "ticket_counters" ("service_id", "day", "last_number")
SELECT "service_id", "ticket_day", max("ticket_number") FROM "cases" GROUP BY "service_id", "ticket_day";

INSERT INTO "case_events" ("case_id", "action", "to_status", "at")
SELECT "id", 'ENQUEUE', 'WAITING', "enqueued_at" FROM "cases" WHERE NOT "auto_close";

INSERT INTO "case_events" ("case_id", "action", "to_status", "at")
SELECT "id", 'AUTO_CLOSE', 'COMPLETED', "enqueued_at" FROM "cases" WHERE "auto_close";

UPDATE "case_properties" p SET "position" = n."position"
  FROM (SELECT "case_id", "key", row_number() OVER (PARTITION BY "case_id" ORDER BY "key")::smallint AS "position" FROM "case_properties") n
 WHERE n."case_id" = p."case_id" AND n."key" = p."key";

ALTER TABLE "case_properties" ALTER COLUMN "position" SET NOT NULL;

ALTER TABLE "cases" ALTER COLUMN "ticket" SET NOT NULL,
ALTER COLUMN "ticket_day" SET NOT NULL,
ALTER COLUMN "ticket_number" SET NOT NULL;
