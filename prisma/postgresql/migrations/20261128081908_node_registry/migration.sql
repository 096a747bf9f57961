-- AlterTable
ALTER TABLE "GatewayNode" ADD COLUMN     "heartbeatIntervalMs" INTEGER NOT NULL DEFAULT 5000;
