-- AlterTable
ALTER TABLE "GatewayNode" ADD COLUMN     "activeConnections" INTEGER,
ADD COLUMN     "drainRequest" TEXT,
ADD COLUMN     "drainRequestedAt" TIMESTAMP(3),
ADD COLUMN     "drainRequestedBy" TEXT,
ADD COLUMN     "drainingSince" TIMESTAMP(3),
ADD COLUMN     "requestsInFlight" INTEGER;

-- CreateTable
CREATE TABLE "RollingRestart" (
    "id" SERIAL NOT NULL,
    "running" INTEGER,
    "startedBy" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "endedBy" TEXT,
    "endedAt" TIMESTAMP(3),
    "outcome" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "RollingRestart_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "RollingRestart_running_key" ON "RollingRestart"("running");
