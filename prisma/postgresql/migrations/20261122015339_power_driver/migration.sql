-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "bmcDriver" TEXT NOT NULL DEFAULT 'ipmi',
ADD COLUMN     "powerCheckedAt" BIGINT;
