-- CreateTable
CREATE TABLE "Install" (
    "id" SERIAL NOT NULL,
    "nodeId" INTEGER NOT NULL,
    "os" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'requested',
    "tokenHash" TEXT,
    "params" TEXT NOT NULL DEFAULT '{}',
    "error" TEXT,
    "requestedBy" TEXT NOT NULL,
    "createdAt" BIGINT NOT NULL,
    "updatedAt" BIGINT NOT NULL,
    "bootedAt" BIGINT,
    "configFetchedAt" BIGINT,
    "completedAt" BIGINT,

    CONSTRAINT "Install_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Install_tokenHash_key" ON "Install"("tokenHash");

-- CreateIndex
CREATE INDEX "Install_nodeId_idx" ON "Install"("nodeId");

-- CreateIndex
CREATE INDEX "Install_state_idx" ON "Install"("state");

-- AddForeignKey
ALTER TABLE "Install" ADD CONSTRAINT "Install_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;
