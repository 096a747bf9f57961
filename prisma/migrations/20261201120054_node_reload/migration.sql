-- AlterTable
ALTER TABLE "GatewayNode" ADD COLUMN "lastReload" TEXT;
ALTER TABLE "GatewayNode" ADD COLUMN "reloadRequestedAt" DATETIME;
ALTER TABLE "GatewayNode" ADD COLUMN "reloadRequestedBy" TEXT;
