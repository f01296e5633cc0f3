-- CreateTable
CREATE TABLE "wait_estimates" (
    "case_id" INTEGER NOT NULL,
    "position" INTEGER NOT NULL,
    "seconds" INTEGER NOT NULL,
    "low" INTEGER NOT NULL,
    "high" INTEGER NOT NULL,
    "given_at" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(),

    CONSTRAINT "wait_estimates_pkey" PRIMARY KEY ("case_id")
);
