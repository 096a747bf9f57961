-- AlterTable
ALTER TABLE "GatewayNode" ADD COLUMN "activeConnections" INTEGER;
ALTER TABLE "GatewayNode" ADD COLUMN "drainRequest" TEXT;
ALTER TABLE "GatewayNode" ADD COLUMN "drainRequestedAt" DATETIME;
ALTER TABLE "GatewayNode" ADD COLUMN "drainRequestedBy" TEXT;
ALTER TABLE "GatewayNode" ADD COLUMN "drainingSince" DATETIME;
ALTER TABLE "GatewayNode" ADD COLUMN "requestsInFlight" INTEGER;

-- CreateTable
CREATE TABLE "RollingRestart" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "running" INTEGER,
    "startedBy" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "endedBy" TEXT,
    "endedAt" DATETIME,
    "outcome" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0
);

-- CreateIndex
CREATE UNIQUE INDEX "RollingRestart_running_key" ON "RollingRestart"("running");
