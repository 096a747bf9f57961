-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_GatewayNode" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "lastHeartbeatAt" DATETIME NOT NULL,
    "heartbeatIntervalMs" INTEGER NOT NULL DEFAULT 5000,
    "draining" BOOLEAN NOT NULL DEFAULT false,
    "status" TEXT NOT NULL
);
INSERT INTO "new_GatewayNode" ("address", "draining", "id", "lastHeartbeatAt", "name", "startedAt", "status", "version") SELECT "address", "draining", "id", "lastHeartbeatAt", "name", "startedAt", "status", "version" FROM "GatewayNode";
DROP TABLE "GatewayNode";
ALTER TABLE "new_GatewayNode" RENAME TO "GatewayNode";
CREATE UNIQUE INDEX "GatewayNode_name_key" ON "GatewayNode"("name");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
