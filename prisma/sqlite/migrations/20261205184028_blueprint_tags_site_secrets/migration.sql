-- CreateTable
CREATE TABLE "SiteSecret" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "createdAt" BIGINT NOT NULL,
    "updatedAt" BIGINT NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Node" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "macs" TEXT NOT NULL DEFAULT '[]',
    "bmcAddress" TEXT,
    "bmcUsername" TEXT,
    "bmcDriver" TEXT NOT NULL DEFAULT 'ipmi',
    "powerCheckedAt" BIGINT,
    "address" TEXT,
    "sshHostKey" TEXT,
    "powerState" TEXT NOT NULL DEFAULT 'unknown',
    "bootDevice" TEXT NOT NULL DEFAULT 'unknown',
    "alive" BOOLEAN NOT NULL DEFAULT false,
    "available" BOOLEAN NOT NULL DEFAULT true,
    "admin" BOOLEAN NOT NULL DEFAULT false,
    "system" BOOLEAN NOT NULL DEFAULT false,
    "state" TEXT NOT NULL DEFAULT 'proposed',
    "rebind" BOOLEAN NOT NULL DEFAULT false,
    "facts" TEXT NOT NULL DEFAULT '{}',
    "tags" TEXT NOT NULL DEFAULT '[]',
    "deploymentId" INTEGER NOT NULL,
    "leaseOwner" TEXT,
    "leaseUntil" BIGINT,
    "createdAt" BIGINT NOT NULL,
    "updatedAt" BIGINT NOT NULL,
    CONSTRAINT "Node_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Node" ("address", "admin", "alive", "available", "bmcAddress", "bmcDriver", "bmcUsername", "bootDevice", "createdAt", "deploymentId", "description", "facts", "id", "leaseOwner", "leaseUntil", "macs", "name", "powerCheckedAt", "powerState", "rebind", "sshHostKey", "state", "system", "updatedAt") SELECT "address", "admin", "alive", "available", "bmcAddress", "bmcDriver", "bmcUsername", "bootDevice", "createdAt", "deploymentId", "description", "facts", "id", "leaseOwner", "leaseUntil", "macs", "name", "powerCheckedAt", "powerState", "rebind", "sshHostKey", "state", "system", "updatedAt" FROM "Node";
DROP TABLE "Node";
ALTER TABLE "new_Node" RENAME TO "Node";
CREATE UNIQUE INDEX "Node_name_key" ON "Node"("name");
CREATE INDEX "Node_deploymentId_idx" ON "Node"("deploymentId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
