-- CreateTable
CREATE TABLE "live_follows" (
    "service_id" INTEGER NOT NULL,
    "listener_pid" INTEGER NOT NULL,
    "listener_started" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "live_follows_pkey" PRIMARY KEY ("service_id","listener_pid")
);

-- Live queues: every change to a case of a followed service is announced
-- on the channel `case_changes`, one notification per changed row, by the
-- database itself. NOTIFY is delivered when the transaction commits and never
-- if it rolls back, so every gateway process that LISTENs hears exactly the
-- committed changes, whichever process (or tool) made them. The payload
-- carries what a screen announces, and subscribers read the state itself.
--
-- NOTIFY serialises the commits that send it, so a service's changes are
-- announced only while some gateway follows it (a row in live_follows). A
-- writer holds a shared advisory lock on (1279874629, service id) from its
-- check until it commits, so writers never wait for one another. A gateway
-- that starts following commits its row, then takes and drops that lock
-- exclusively: it waits for every writer that checked before the row was
-- there, and so reads a state with their changes in it (src/db/change-listener.ts).
--
-- Statement-level triggers with transition tables: a batched enqueue of
-- 64 cases costs one trigger call, not 64.
CREATE FUNCTION "notify_case_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  service record;
  changed record;
BEGIN
  -- In order of service, as every writer does, so that writers and a
  -- follower waiting for them can never wait for one another in a circle.
  FOR service IN SELECT DISTINCT "service_id" FROM "changed_cases" ORDER BY "service_id" LOOP
    PERFORM pg_advisory_xact_lock_shared(1279874629, service."service_id");
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM "live_follows" WHERE "service_id" = service."service_id");
    FOR changed IN SELECT "service_id", "id", "ticket", "last_action", "status", "last_agent", "updated_at"
                     FROM "changed_cases" WHERE "service_id" = service."service_id"
                    ORDER BY "updated_at", "id" LOOP
      PERFORM pg_notify('case_changes', json_build_object(
        'serviceId', changed."service_id",
        'caseId', changed."id",
        'ticket', changed."ticket",
        'action', changed."last_action",
        'status', changed."status",
        'agent', changed."last_agent",
        'at', to_char(changed."updated_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      )::text);
    END LOOP;
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER "cases_notify_inserted" AFTER INSERT ON "cases"
  REFERENCING NEW TABLE AS "changed_cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_case_changes"();

CREATE TRIGGER "cases_notify_updated" AFTER UPDATE ON "cases"
  REFERENCING NEW TABLE AS "changed_cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_case_changes"();
