-- CreateTable
CREATE TABLE "Network" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "deploymentId" INTEGER NOT NULL,
    "cidr" TEXT NOT NULL,
    "vlan" INTEGER,
    "gateway" TEXT,
    "category" TEXT NOT NULL DEFAULT 'general',
    "interface" TEXT,
    "createdAt" BIGINT NOT NULL,
    "updatedAt" BIGINT NOT NULL,

    CONSTRAINT "Network_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Range" (
    "id" SERIAL NOT NULL,
    "networkId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "first" TEXT NOT NULL,
    "last" TEXT NOT NULL,
    "createdAt" BIGINT NOT NULL,

    CONSTRAINT "Range_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Allocation" (
    "id" SERIAL NOT NULL,
    "networkId" INTEGER NOT NULL,
    "rangeId" INTEGER,
    "nodeId" INTEGER NOT NULL,
    "address" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" BIGINT NOT NULL,

    CONSTRAINT "Allocation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Network_name_key" ON "Network"("name");

-- CreateIndex
CREATE INDEX "Network_deploymentId_idx" ON "Network"("deploymentId");

-- CreateIndex
CREATE UNIQUE INDEX "Range_networkId_name_key" ON "Range"("networkId", "name");

-- CreateIndex
CREATE INDEX "Allocation_nodeId_idx" ON "Allocation"("nodeId");

-- CreateIndex
CREATE UNIQUE INDEX "Allocation_networkId_address_key" ON "Allocation"("networkId", "address");

-- CreateIndex
CREATE UNIQUE INDEX "Allocation_networkId_nodeId_key" ON "Allocation"("networkId", "nodeId");

-- AddForeignKey
ALTER TABLE "Network" ADD CONSTRAINT "Network_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Range" ADD CONSTRAINT "Range_networkId_fkey" FOREIGN KEY ("networkId") REFERENCES "Network"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Allocation" ADD CONSTRAINT "Allocation_networkId_fkey" FOREIGN KEY ("networkId") REFERENCES "Network"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Allocation" ADD CONSTRAINT "Allocation_rangeId_fkey" FOREIGN KEY ("rangeId") REFERENCES "Range"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Allocation" ADD CONSTRAINT "Allocation_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;
