-- CreateEnum
CREATE TYPE "webhook_event_type" AS ENUM ('case.enqueued', 'case.called', 'case.returned', 'case.completed', 'case.cancelled', 'case.approaching', 'service.updated');

-- CreateEnum
CREATE TYPE "webhook_endpoint_status" AS ENUM ('ENABLED', 'DISABLED', 'FAILING');

-- CreateEnum
CREATE TYPE "webhook_delivery_status" AS ENUM ('PENDING', 'DELIVERED');

-- CreateEnum
CREATE TYPE "webhook_attempt_outcome" AS ENUM ('DELIVERED', 'HTTP_ERROR', 'TIMEOUT', 'NETWORK_ERROR', 'ADDRESS_REFUSED', 'REDIRECT_REFUSED');

-- CreateTable
CREATE TABLE "webhook_endpoints" (
    "id" SERIAL NOT NULL,
    "url" VARCHAR(2000) NOT NULL,
    "description" VARCHAR(200),
    "events" "webhook_event_type"[],
    "service_ids" INTEGER[],
    "approach_position" SMALLINT NOT NULL DEFAULT 2,
    "include_personal_data" BOOLEAN NOT NULL DEFAULT false,
    "personal_data_allowed" BOOLEAN NOT NULL DEFAULT false,
    "status" "webhook_endpoint_status" NOT NULL DEFAULT 'ENABLED',
    "failing_since" TIMESTAMPTZ(3),
    "secret" VARCHAR(300) NOT NULL,
    "previous_secret" VARCHAR(300),
    "previous_secret_expires_at" TIMESTAMPTZ(3),
    "secret_rotated_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" VARCHAR(200) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_events" (
    "id" BIGSERIAL NOT NULL,
    "type" "webhook_event_type" NOT NULL,
    "service_id" INTEGER NOT NULL,
    "case_id" INTEGER,
    "threshold" SMALLINT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "ticket" VARCHAR(20),
    "service_ext_ref" VARCHAR(100),
    "status" "case_status",
    "last_action" "case_action",
    "agent" VARCHAR(100),
    "position" INTEGER,
    "from_status" "case_status",
    "enqueued_at" TIMESTAMPTZ(3),
    "queued_at" TIMESTAMPTZ(3),
    "called_at" TIMESTAMPTZ(3),
    "closed_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3),
    "data" JSONB,
    "dispatched_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "endpoint_id" INTEGER NOT NULL,
    "event_id" BIGINT NOT NULL,
    "lane" SMALLINT NOT NULL,
    "status" "webhook_delivery_status" NOT NULL DEFAULT 'PENDING',
    "attempts" SMALLINT NOT NULL DEFAULT 0,
    "replay" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "next_attempt_at" TIMESTAMPTZ(3),
    "first_failed_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_attempts" (
    "id" BIGSERIAL NOT NULL,
    "delivery_id" BIGINT NOT NULL,
    "endpoint_id" INTEGER NOT NULL,
    "event_id" BIGINT NOT NULL,
    "attempt" SMALLINT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "outcome" "webhook_attempt_outcome" NOT NULL,
    "response_status" SMALLINT,
    "latency_ms" INTEGER NOT NULL,

    CONSTRAINT "webhook_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_approach_marks" (
    "case_id" INTEGER NOT NULL,
    "threshold" SMALLINT NOT NULL,

    CONSTRAINT "webhook_approach_marks_pkey" PRIMARY KEY ("case_id","threshold")
);

-- CreateIndex
CREATE INDEX "webhook_events_dispatched_at_id_idx" ON "webhook_events"("dispatched_at", "id");

-- CreateIndex
CREATE INDEX "webhook_events_case_id_id_idx" ON "webhook_events"("case_id", "id");

-- CreateIndex
CREATE INDEX "webhook_deliveries_endpoint_id_lane_status_id_idx" ON "webhook_deliveries"("endpoint_id", "lane", "status", "id");

-- CreateIndex
CREATE INDEX "webhook_deliveries_event_id_idx" ON "webhook_deliveries"("event_id");

-- CreateIndex
CREATE INDEX "webhook_attempts_endpoint_id_id_idx" ON "webhook_attempts"("endpoint_id", "id");

-- CreateIndex
CREATE INDEX "webhook_attempts_delivery_id_idx" ON "webhook_attempts"("delivery_id");

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "webhook_events"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- The webhook outbox (docs/webhooks.md). Statement-level triggers on cases
-- and services record each committed change in webhook_events, in the
-- changing statement itself: a rolled-back change records nothing and a
-- committed one is never lost, whoever writes (this gateway, another process,
-- psql). Nothing is recorded while no endpoint that is not disabled wants the
-- event's type, so a gateway without webhooks pays one read of a tiny table
-- per statement. The cases triggers sort after cases_count_* and fire after
-- them: queue_blocks already counts the statement's cases. An enqueue holds
-- its services' rows (FOR NO KEY UPDATE), so its new cases' positions are
-- exact. A hand-out locks only the cases it takes (SKIP LOCKED): the
-- positions it records, and its case.approaching, are the queue as its own
-- statement sees it, without a concurrent hand-out that has not committed;
-- the fan-out drops a case.approaching that such a hand-out made out of date.
-- Personal fields (subject, notes, references, properties, customer) are
-- never written here: deliveries read them when sending, for endpoints that
-- may have them.

-- An instant as the payloads carry it: ISO 8601 in UTC, to the millisecond.
-- STABLE, as to_char is: a function declared more constant than its body is
-- not inlined, and a call per value costs ten times the expression.
CREATE FUNCTION "webhook_time"(at TIMESTAMPTZ) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Whether some endpoint that is not disabled wants events of this type from this service.
CREATE FUNCTION "webhook_wanted"(kind "webhook_event_type", svc INTEGER) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM "webhook_endpoints" p
                  WHERE p."status" <> 'DISABLED' AND kind = ANY(p."events")
                    AND (coalesce(cardinality(p."service_ids"), 0) = 0 OR svc = ANY(p."service_ids")))
$$;

-- The event types recorded for an endpoint: those it wants and, when it
-- wants case.approaching, every change that takes a case out of its queue or
-- puts it back. The fan-out needs those to tell a case.approaching that is out
-- of date (fan-out.ts); it routes each event only to endpoints that want it.
CREATE FUNCTION "webhook_recorded_kinds"(events "webhook_event_type"[]) RETURNS "webhook_event_type"[]
  LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN 'case.approaching' = ANY(events)
              THEN events || '{case.called,case.returned,case.completed,case.cancelled}'::"webhook_event_type"[]
              ELSE events END
$$;

-- The (type, service) pairs that some endpoint that is not disabled wants,
-- among `kinds` and `svcs`: read once per statement, not once per event.
CREATE FUNCTION "webhook_wanted_pairs"(kinds "webhook_event_type"[], svcs INTEGER[])
  RETURNS TABLE ("kind" "webhook_event_type", "service_id" INTEGER) LANGUAGE sql STABLE AS $$
  SELECT DISTINCT t."kind", s."id"
    FROM "webhook_endpoints" p
   CROSS JOIN LATERAL unnest("webhook_recorded_kinds"(p."events")) AS t("kind")
   CROSS JOIN unnest(svcs) AS s("id")
   WHERE p."status" <> 'DISABLED' AND t."kind" = ANY(kinds)
     AND (coalesce(cardinality(p."service_ids"), 0) = 0 OR s."id" = ANY(p."service_ids"))
$$;

-- The position of a place (at, seq) among a service's waiting cases, counted
-- as src/queue/queue-positions.ts counts it: the blocks before its block and a
-- count inside the block.
CREATE FUNCTION "webhook_queue_position"(svc INTEGER, at TIMESTAMPTZ, seq BIGINT) RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT coalesce((
    SELECT (SELECT coalesce(sum(p."waiting"), 0) FROM "queue_blocks" p
             WHERE p."service_id" = svc AND (p."first_at", p."first_seq") < (q."first_at", q."first_seq"))
         + (SELECT count(*) FROM "cases" w
             WHERE w."service_id" = svc AND w."status" = 'WAITING'
               AND (w."queued_at", w."queue_seq") >= (q."first_at", q."first_seq") AND (w."queued_at", w."queue_seq") <= (at, seq))
      FROM "queue_blocks" q
     WHERE q."service_id" = svc AND (q."first_at", q."first_seq") <= (at, seq)
     ORDER BY q."first_at" DESC, q."first_seq" DESC LIMIT 1), 0)::int
$$;

-- A case event's data: what the case was when the event was recorded,
-- nothing personal. Scalar arguments, each used once, so that the planner
-- inlines it into webhook_event_data.
CREATE FUNCTION "webhook_case_data"(
  case_id INTEGER, ticket TEXT, service_id INTEGER, service_ext_ref TEXT, status "case_status", last_action "case_action",
  agent TEXT, queue_position INTEGER, enqueued_at TIMESTAMPTZ, queued_at TIMESTAMPTZ, called_at TIMESTAMPTZ,
  closed_at TIMESTAMPTZ, updated_at TIMESTAMPTZ) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'caseId', case_id, 'ticket', ticket, 'serviceId', service_id, 'serviceExtRef', service_ext_ref,
    'status', status, 'lastAction', last_action, 'agent', agent, 'position', queue_position,
    'enqueuedAt', "webhook_time"(enqueued_at), 'queuedAt', "webhook_time"(queued_at),
    'calledAt', "webhook_time"(called_at), 'closedAt', "webhook_time"(closed_at), 'updatedAt', "webhook_time"(updated_at))
$$;

-- An event's payload `data`, built when it is read (a delivery, the tests):
-- the writer's statement stores the case's fields as columns, which
-- costs a quarter of building the JSON there (a scratch probe: 3-5 against
-- 14-16 us per event). A case event is what webhook_case_data makes of its
-- columns, with `fromStatus` for a change of status and `threshold` for
-- case.approaching; service.updated keeps its JSON as written.
CREATE FUNCTION "webhook_event_data"(e "webhook_events") RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN e."case_id" IS NULL THEN e."data" ELSE
    "webhook_case_data"(e."case_id", e."ticket", e."service_id", e."service_ext_ref", e."status", e."last_action", e."agent",
                        e."position", e."enqueued_at", e."queued_at", e."called_at", e."closed_at", e."updated_at")
    || CASE WHEN e."from_status" IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('fromStatus', e."from_status") END
    || CASE WHEN e."type" = 'case.approaching' THEN jsonb_build_object('threshold', e."threshold") ELSE '{}'::jsonb END
  END
$$;

-- case.approaching for the services whose queues just changed: each waiting
-- case at a position no deeper than some endpoint's approach_position gets one
-- event per such position, once (webhook_approach_marks), however many cases
-- moved at once. Positions 1 to N are the first N waiting cases: one index
-- range per service, no block sums. It happens now, when the case moves up
-- (not when the case last changed), so an endpoint newer than the case still
-- hears it.
CREATE FUNCTION "webhook_record_approaching"(svcs INTEGER[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  WITH wanted AS (
    SELECT s."id" AS "service_id", array_agg(DISTINCT p."approach_position"::int) AS "thresholds",
           max(p."approach_position")::int AS "deepest"
      FROM unnest(svcs) AS s("id")
      JOIN "webhook_endpoints" p
        ON p."status" <> 'DISABLED' AND 'case.approaching' = ANY(p."events")
       AND (coalesce(cardinality(p."service_ids"), 0) = 0 OR s."id" = ANY(p."service_ids"))
     GROUP BY s."id"
  ), head AS (
    SELECT h."id", h."service_id", h."position", t."threshold"
      FROM wanted w
     CROSS JOIN LATERAL (SELECT x."id", x."service_id", row_number() OVER (ORDER BY x."queued_at", x."queue_seq")::int AS "position"
                           FROM (SELECT c."id", c."service_id", c."queued_at", c."queue_seq" FROM "cases" c
                                  WHERE c."service_id" = w."service_id" AND c."status" = 'WAITING'
                                  ORDER BY c."queued_at", c."queue_seq" LIMIT w."deepest") x) h
     CROSS JOIN LATERAL unnest(w."thresholds") AS t("threshold")
     WHERE h."position" <= t."threshold"
  ), marked AS (
    INSERT INTO "webhook_approach_marks" ("case_id", "threshold")
    SELECT "id", "threshold" FROM head ORDER BY "id", "threshold"
    ON CONFLICT DO NOTHING
    RETURNING "case_id", "threshold"
  )
  INSERT INTO "webhook_events" ("type", "service_id", "case_id", "threshold", "occurred_at", "ticket", "service_ext_ref", "status",
                                "last_action", "agent", "position", "enqueued_at", "queued_at", "called_at", "closed_at", "updated_at")
  SELECT 'case.approaching', h."service_id", h."id", h."threshold", clock_timestamp(), c."ticket", s."ext_ref", c."status",
         c."last_action", c."last_agent", h."position", c."enqueued_at", c."queued_at", c."called_at", c."closed_at", c."updated_at"
    FROM marked m
    JOIN head h ON h."id" = m."case_id" AND h."threshold" = m."threshold"
    JOIN "cases" c ON c."id" = h."id"
    JOIN "services" s ON s."id" = h."service_id"
   ORDER BY h."service_id", h."position", h."threshold" DESC;
END
$$;

CREATE FUNCTION "webhook_record_case_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  wanted "webhook_event_type"[];
  -- The deepest approach_position among endpoints that want case.approaching.
  deepest INTEGER;
  services INTEGER[];
  moved INTEGER[];
  -- The (type, service) pairs some endpoint wants, read once: as an IN
  -- (subquery) of the statements below it cost half of the outbox's time.
  pair_keys TEXT[];
BEGIN
  SELECT array_agg(DISTINCT t."kind"), max(p."approach_position") FILTER (WHERE t."kind" = 'case.approaching')
    INTO wanted, deepest
    FROM "webhook_endpoints" p CROSS JOIN LATERAL unnest("webhook_recorded_kinds"(p."events")) AS t("kind")
   WHERE p."status" <> 'DISABLED';
  IF wanted IS NULL THEN
    RETURN NULL;
  END IF;
  services := ARRAY(SELECT DISTINCT n."service_id" FROM "new_cases" n);
  pair_keys := ARRAY(SELECT w."kind"::text || ':' || w."service_id" FROM "webhook_wanted_pairs"(wanted, services) w);
  IF TG_OP = 'INSERT' THEN
    -- Enqueues join the back of their queue (under the service's lock), so a
    -- new case's position is the queue's length less the new cases behind it.
    -- Cases inserted elsewhere in the order (by another tool) are counted.
    WITH behind AS MATERIALIZED (
      SELECT n."id", count(*) FILTER (WHERE n."status" = 'WAITING')
                       OVER (PARTITION BY n."service_id" ORDER BY n."queued_at" DESC, n."queue_seq" DESC
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)::int AS "behind"
        FROM "new_cases" n
    ), firsts AS (
      SELECT DISTINCT ON (n."service_id") n."service_id", n."queued_at", n."queue_seq",
             count(*) OVER (PARTITION BY n."service_id") AS "fresh"
        FROM "new_cases" n WHERE n."status" = 'WAITING'
       ORDER BY n."service_id", n."queued_at", n."queue_seq"
    ), tail AS MATERIALIZED (
      SELECT f."service_id",
             (SELECT coalesce(sum(b."waiting"), 0) FROM "queue_blocks" b WHERE b."service_id" = f."service_id")::int AS "waiting",
             -- At the back: no waiting case after the first new one but the new ones.
             (SELECT count(*) FROM (SELECT 1 FROM "cases" w
                                     WHERE w."service_id" = f."service_id" AND w."status" = 'WAITING'
                                       AND (w."queued_at", w."queue_seq") >= (f."queued_at", f."queue_seq")
                                     LIMIT f."fresh" + 1) x) = f."fresh" AS "at_back"
        FROM firsts f
    )
    INSERT INTO "webhook_events" ("type", "service_id", "case_id", "occurred_at", "ticket", "service_ext_ref", "status",
                                  "last_action", "agent", "position", "enqueued_at", "queued_at", "called_at", "closed_at", "updated_at")
    SELECT k."kind", n."service_id", n."id", n."updated_at", n."ticket", s."ext_ref", n."status", n."last_action", n."last_agent",
           CASE WHEN k."ord" = 1 AND n."status" = 'WAITING' THEN
             CASE WHEN t."at_back" THEN t."waiting" - b."behind"
                  ELSE "webhook_queue_position"(n."service_id", n."queued_at", n."queue_seq") END
           END,
           n."enqueued_at", n."queued_at", n."called_at", n."closed_at", n."updated_at"
      FROM "new_cases" n
      JOIN behind b ON b."id" = n."id"
      JOIN "services" s ON s."id" = n."service_id"
      LEFT JOIN tail t ON t."service_id" = n."service_id"
     -- An auto-closed case is enqueued and completed in one step: two events.
     CROSS JOIN LATERAL (VALUES ('case.enqueued'::"webhook_event_type", 1), ('case.completed'::"webhook_event_type", 2)) AS k("kind", "ord")
     WHERE (k."ord" = 1 OR n."status" = 'COMPLETED')
       AND (k."kind"::text || ':' || n."service_id") = ANY(pair_keys)
     ORDER BY n."queued_at", n."queue_seq", n."id", k."ord";
    -- An insert moves no case that was waiting forward, so only a new case
    -- can reach a threshold: and only one among its queue's first `deepest`
    -- (an index range of a few rows). Most enqueues join a longer queue and
    -- skip the approaching step altogether.
    IF deepest IS NOT NULL THEN
      moved := ARRAY(SELECT s."id" FROM (SELECT DISTINCT n."service_id" AS "id" FROM "new_cases" n WHERE n."status" = 'WAITING') s
                      WHERE EXISTS (SELECT 1 FROM (SELECT c."id" FROM "cases" c
                                                    WHERE c."service_id" = s."id" AND c."status" = 'WAITING'
                                                    ORDER BY c."queued_at", c."queue_seq" LIMIT deepest) h
                                      JOIN "new_cases" n ON n."id" = h."id"));
    END IF;
  ELSE
    INSERT INTO "webhook_events" ("type", "service_id", "case_id", "occurred_at", "ticket", "service_ext_ref", "status",
                                  "last_action", "agent", "position", "from_status", "enqueued_at", "queued_at", "called_at",
                                  "closed_at", "updated_at")
    SELECT k."kind", n."service_id", n."id", n."updated_at", n."ticket", s."ext_ref", n."status", n."last_action", n."last_agent",
           CASE WHEN n."status" = 'WAITING' THEN "webhook_queue_position"(n."service_id", n."queued_at", n."queue_seq") END,
           o."status", n."enqueued_at", n."queued_at", n."called_at", n."closed_at", n."updated_at"
      FROM "old_cases" o
      JOIN "new_cases" n ON n."id" = o."id"
      JOIN "services" s ON s."id" = n."service_id"
     CROSS JOIN LATERAL (SELECT CASE
               WHEN o."status" = 'WAITING' AND n."status" = 'IN_SERVICE' THEN 'case.called'
               WHEN o."status" = 'IN_SERVICE' AND n."status" = 'WAITING' THEN 'case.returned'
               WHEN o."status" <> 'COMPLETED' AND n."status" = 'COMPLETED' THEN 'case.completed'
               WHEN o."status" <> 'CANCELLED' AND n."status" = 'CANCELLED' THEN 'case.cancelled'
             END::"webhook_event_type" AS "kind") k
     WHERE (k."kind"::text || ':' || n."service_id") = ANY(pair_keys)
     ORDER BY n."updated_at", n."id";
    moved := ARRAY(SELECT DISTINCT n."service_id" FROM "old_cases" o JOIN "new_cases" n ON n."id" = o."id"
                    WHERE (o."status" = 'WAITING' OR n."status" = 'WAITING')
                      AND (o."service_id", o."status", o."queued_at", o."queue_seq")
                          IS DISTINCT FROM (n."service_id", n."status", n."queued_at", n."queue_seq"));
  END IF;
  IF deepest IS NOT NULL AND cardinality(moved) > 0 THEN
    PERFORM "webhook_record_approaching"(moved);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "cases_webhook_inserted" AFTER INSERT ON "cases"
  REFERENCING NEW TABLE AS "new_cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "webhook_record_case_changes"();

CREATE TRIGGER "cases_webhook_updated" AFTER UPDATE ON "cases"
  REFERENCING OLD TABLE AS "old_cases" NEW TABLE AS "new_cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "webhook_record_case_changes"();

CREATE FUNCTION "webhook_record_service_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "webhook_endpoints" p WHERE p."status" <> 'DISABLED' AND 'service.updated' = ANY(p."events")) THEN
    RETURN NULL;
  END IF;
  INSERT INTO "webhook_events" ("type", "service_id", "occurred_at", "data")
  SELECT 'service.updated', n."id", clock_timestamp(),
         jsonb_build_object('serviceId', n."id", 'name', n."name", 'extRef', n."ext_ref", 'queueCode', n."queue_code",
           'active', n."active", 'timeZone', n."time_zone",
           'changed', to_jsonb(array_remove(ARRAY[
             CASE WHEN o."name" IS DISTINCT FROM n."name" THEN 'name' END,
             CASE WHEN o."ext_ref" IS DISTINCT FROM n."ext_ref" THEN 'extRef' END,
             CASE WHEN o."queue_code" IS DISTINCT FROM n."queue_code" THEN 'queueCode' END,
             CASE WHEN o."active" IS DISTINCT FROM n."active" THEN 'active' END,
             CASE WHEN o."time_zone" IS DISTINCT FROM n."time_zone" THEN 'timeZone' END], NULL)))
    FROM "old_services" o JOIN "new_services" n ON n."id" = o."id"
   WHERE (o."name", o."ext_ref", o."queue_code", o."active", o."time_zone")
         IS DISTINCT FROM (n."name", n."ext_ref", n."queue_code", n."active", n."time_zone")
     AND "webhook_wanted"('service.updated', n."id")
   ORDER BY n."id";
  RETURN NULL;
END
$$;

CREATE TRIGGER "services_webhook_updated" AFTER UPDATE ON "services"
  REFERENCING OLD TABLE AS "old_services" NEW TABLE AS "new_services"
  FOR EACH STATEMENT EXECUTE FUNCTION "webhook_record_service_changes"();
