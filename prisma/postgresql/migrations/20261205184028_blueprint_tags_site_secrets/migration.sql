-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "tags" TEXT NOT NULL DEFAULT '[]';

-- CreateTable
CREATE TABLE "SiteSecret" (
    "name" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "createdAt" BIGINT NOT NULL,
    "updatedAt" BIGINT NOT NULL,

    CONSTRAINT "SiteSecret_pkey" PRIMARY KEY ("name")
);
