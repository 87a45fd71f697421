-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Run" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "nodeRoleId" INTEGER NOT NULL,
    "nodeId" INTEGER NOT NULL DEFAULT 0,
    "action" TEXT NOT NULL DEFAULT 'apply',
    "attempt" INTEGER NOT NULL,
    "worker" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "startedAt" BIGINT NOT NULL,
    "endedAt" BIGINT,
    "exitCode" INTEGER,
    "stdoutTail" TEXT NOT NULL DEFAULT '',
    "stderrTail" TEXT NOT NULL DEFAULT '',
    "command" TEXT,
    "inputs" TEXT NOT NULL DEFAULT '{}',
    "error" TEXT
);
INSERT INTO "new_Run" ("attempt", "command", "endedAt", "error", "exitCode", "id", "inputs", "nodeRoleId", "startedAt", "status", "stderrTail", "stdoutTail", "worker") SELECT "attempt", "command", "endedAt", "error", "exitCode", "id", "inputs", "nodeRoleId", "startedAt", "status", "stderrTail", "stdoutTail", "worker" FROM "Run";
DROP TABLE "Run";
ALTER TABLE "new_Run" RENAME TO "Run";
-- Runs outlive their node-role: name the node by id (backfill).
UPDATE "Run" SET "nodeId" = COALESCE((SELECT "nodeId" FROM "NodeRole" WHERE "NodeRole"."id" = "Run"."nodeRoleId"), 0);
CREATE INDEX "Run_nodeRoleId_idx" ON "Run"("nodeRoleId");
CREATE INDEX "Run_nodeId_idx" ON "Run"("nodeId");
CREATE INDEX "Run_status_idx" ON "Run"("status");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
