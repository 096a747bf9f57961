-- AlterTable
ALTER TABLE "GatewayNode" ADD COLUMN     "lastReload" TEXT,
ADD COLUMN     "reloadRequestedAt" TIMESTAMP(3),
ADD COLUMN     "reloadRequestedBy" TEXT;
