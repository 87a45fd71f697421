-- DropForeignKey
ALTER TABLE "Run" DROP CONSTRAINT "Run_nodeRoleId_fkey";

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "action" TEXT NOT NULL DEFAULT 'apply',
ADD COLUMN     "nodeId" INTEGER NOT NULL DEFAULT 0;

-- Runs outlive their node-role: name the node by id (backfill).
UPDATE "Run" SET "nodeId" = COALESCE((SELECT "nodeId" FROM "NodeRole" WHERE "NodeRole"."id" = "Run"."nodeRoleId"), 0);

-- CreateIndex
CREATE INDEX "Run_nodeId_idx" ON "Run"("nodeId");
