-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "address" TEXT,
ADD COLUMN     "bmcUsername" TEXT,
ADD COLUMN     "bootDevice" TEXT NOT NULL DEFAULT 'unknown',
ADD COLUMN     "powerState" TEXT NOT NULL DEFAULT 'unknown',
ADD COLUMN     "sshHostKey" TEXT;

-- CreateTable
CREATE TABLE "NodeSecret" (
    "nodeId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" BIGINT NOT NULL,

    CONSTRAINT "NodeSecret_pkey" PRIMARY KEY ("nodeId","name")
);

-- AddForeignKey
ALTER TABLE "NodeSecret" ADD CONSTRAINT "NodeSecret_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;
