-- Each hot write (enqueue, call next, a transition) stamps the rows it writes
-- with its own id, so that after a connection lost mid-commit (a failover) the
-- gateway can tell whether the write committed. Nullable, no index: looked up
-- rarely, by service and time or by case id.
-- AlterTable
ALTER TABLE "cases" ADD COLUMN     "write_token" UUID;
