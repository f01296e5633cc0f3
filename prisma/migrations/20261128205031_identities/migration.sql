-- CreateEnum
CREATE TYPE "role" AS ENUM ('KIOSK', 'SCREEN', 'AGENT', 'ADMIN');

-- AlterTable
ALTER TABLE "cases" ALTER COLUMN "idempotency_key" SET DATA TYPE VARCHAR(320);

-- AlterTable
ALTER TABLE "case_events" ADD COLUMN     "actor" VARCHAR(200);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" VARCHAR(32) NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "role" "role" NOT NULL,
    "service_ids" INTEGER[],
    "secret_hash" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" VARCHAR(200) NOT NULL,
    "rotated_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(),
    "actor" VARCHAR(200) NOT NULL,
    "action" VARCHAR(50) NOT NULL,
    "entity" VARCHAR(50) NOT NULL,
    "entity_id" VARCHAR(200) NOT NULL,
    "changes" JSONB NOT NULL,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
-- Unlogged: counters of the current minute need no crash safety, and skip the WAL.
CREATE UNLOGGED TABLE "rate_limit_counts" (
    "key" VARCHAR(250) NOT NULL,
    "window" BIGINT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "rate_limit_counts_pkey" PRIMARY KEY ("key","window")
);

-- CreateTable
CREATE TABLE "gateway_secrets" (
    "name" VARCHAR(50) NOT NULL,
    "value" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "gateway_secrets_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "audit_log_entity_entity_id_id_idx" ON "audit_log"("entity", "entity_id", "id");
