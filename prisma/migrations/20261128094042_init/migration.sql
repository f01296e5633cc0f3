-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "case_status" AS ENUM ('WAITING', 'CLOSED');

-- CreateTable
CREATE TABLE "services" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "ext_ref" VARCHAR(100),
    "queue_code" VARCHAR(10),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "services_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "customers" (
    "id" SERIAL NOT NULL,
    "name" VARCHAR(200),
    "ext_ref" VARCHAR(100),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cases" (
    "id" SERIAL NOT NULL,
    "service_id" INTEGER NOT NULL,
    "customer_id" INTEGER,
    "ext_ref" VARCHAR(200),
    "notes" VARCHAR(4000),
    "subject" VARCHAR(100),
    "classification_code" VARCHAR(50),
    "auto_close" BOOLEAN NOT NULL DEFAULT false,
    "procedure_ext_ref" VARCHAR(100),
    "procedure_option_ext_ref" VARCHAR(100),
    "status" "case_status" NOT NULL DEFAULT 'WAITING',
    "enqueued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(),
    "closed_at" TIMESTAMPTZ(3),

    CONSTRAINT "cases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "case_properties" (
    "case_id" INTEGER NOT NULL,
    "key" VARCHAR(100) NOT NULL,
    "value" VARCHAR(1000) NOT NULL,

    CONSTRAINT "case_properties_pkey" PRIMARY KEY ("case_id","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "services_ext_ref_key" ON "services"("ext_ref");

-- CreateIndex
CREATE UNIQUE INDEX "customers_ext_ref_key" ON "customers"("ext_ref");

-- CreateIndex
CREATE INDEX "cases_queue_order_idx" ON "cases"("service_id", "status", "enqueued_at", "id");

-- CreateIndex
CREATE INDEX "cases_customer_id_idx" ON "cases"("customer_id");

-- CreateIndex
CREATE INDEX "case_properties_key_idx" ON "case_properties"("key");

-- AddForeignKey
ALTER TABLE "cases" ADD CONSTRAINT "cases_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cases" ADD CONSTRAINT "cases_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "case_properties" ADD CONSTRAINT "case_properties_case_id_fkey" FOREIGN KEY ("case_id") REFERENCES "cases"("id") ON DELETE CASCADE ON UPDATE CASCADE;
