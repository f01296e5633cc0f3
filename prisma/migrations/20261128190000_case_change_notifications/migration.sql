-- Live queues: every change to a case is announced on the channel
-- `case_changes`, as one notification per changed row, by the database
-- itself. NOTIFY is delivered when the transaction commits and never if it
-- rolls back, so every gateway process that LISTENs hears exactly the
-- committed changes, whichever process (or tool) made them. The payload
-- carries what a screen announces, and subscribers read the state itself.
-- Statement-level triggers with transition tables: a batched enqueue of
-- 64 cases costs one trigger call, not 64.
CREATE FUNCTION "notify_case_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed record;
BEGIN
  FOR changed IN SELECT "service_id", "id", "ticket", "last_action", "status", "last_agent", "updated_at"
                   FROM "changed_cases" ORDER BY "updated_at", "id" LOOP
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
  RETURN NULL;
END
$$;

CREATE TRIGGER "cases_notify_inserted" AFTER INSERT ON "cases"
  REFERENCING NEW TABLE AS "changed_cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_case_changes"();

CREATE TRIGGER "cases_notify_updated" AFTER UPDATE ON "cases"
  REFERENCING NEW TABLE AS "changed_cases"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_case_changes"();
