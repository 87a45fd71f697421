-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Node" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "macs" TEXT NOT NULL DEFAULT '[]',
    "bmcAddress" TEXT,
    "alive" BOOLEAN NOT NULL DEFAULT false,
    "available" BOOLEAN NOT NULL DEFAULT true,
    "admin" BOOLEAN NOT NULL DEFAULT false,
    "system" BOOLEAN NOT NULL DEFAULT false,
    "state" TEXT NOT NULL DEFAULT 'proposed',
    "facts" TEXT NOT NULL DEFAULT '{}',
    "deploymentId" INTEGER NOT NULL,
    "leaseOwner" TEXT,
    "leaseUntil" BIGINT,
    "createdAt" BIGINT NOT NULL,
    "updatedAt" BIGINT NOT NULL,

    CONSTRAINT "Node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Barclamp" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'barclamp',
    "version" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "updatedAt" BIGINT NOT NULL,

    CONSTRAINT "Barclamp_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Role" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "barclampId" INTEGER NOT NULL,
    "flags" TEXT NOT NULL DEFAULT '[]',
    "jig" TEXT NOT NULL DEFAULT 'noop',
    "cohort" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "Role_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RoleRequire" (
    "roleId" INTEGER NOT NULL,
    "requiredRoleId" INTEGER NOT NULL,

    CONSTRAINT "RoleRequire_pkey" PRIMARY KEY ("roleId","requiredRoleId")
);

-- CreateTable
CREATE TABLE "RolePrecede" (
    "roleId" INTEGER NOT NULL,
    "precededRoleId" INTEGER NOT NULL,

    CONSTRAINT "RolePrecede_pkey" PRIMARY KEY ("roleId","precededRoleId")
);

-- CreateTable
CREATE TABLE "AttribDef" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "barclampId" INTEGER NOT NULL,
    "schema" TEXT NOT NULL,
    "defaultValue" TEXT,
    "secret" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "AttribDef_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RoleWant" (
    "roleId" INTEGER NOT NULL,
    "attribId" INTEGER NOT NULL,

    CONSTRAINT "RoleWant_pkey" PRIMARY KEY ("roleId","attribId")
);

-- CreateTable
CREATE TABLE "AttribValue" (
    "id" SERIAL NOT NULL,
    "attribId" INTEGER NOT NULL,
    "scope" TEXT NOT NULL,
    "targetId" INTEGER NOT NULL,
    "proposed" TEXT,
    "committed" TEXT,
    "updatedAt" BIGINT NOT NULL,

    CONSTRAINT "AttribValue_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Deployment" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "parentId" INTEGER,
    "system" BOOLEAN NOT NULL DEFAULT false,
    "state" TEXT NOT NULL DEFAULT 'proposed',
    "createdAt" BIGINT NOT NULL,
    "updatedAt" BIGINT NOT NULL,

    CONSTRAINT "Deployment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeploymentRole" (
    "id" SERIAL NOT NULL,
    "deploymentId" INTEGER NOT NULL,
    "roleId" INTEGER NOT NULL,

    CONSTRAINT "DeploymentRole_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NodeRole" (
    "id" SERIAL NOT NULL,
    "deploymentId" INTEGER NOT NULL,
    "roleId" INTEGER NOT NULL,
    "nodeId" INTEGER NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'proposed',
    "cohort" INTEGER NOT NULL DEFAULT 0,
    "generation" INTEGER NOT NULL DEFAULT 1,
    "observedGeneration" INTEGER NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "runCount" INTEGER NOT NULL DEFAULT 0,
    "nextRunAt" BIGINT NOT NULL DEFAULT 0,
    "leaseOwner" TEXT,
    "leaseUntil" BIGINT,
    "lastError" TEXT,
    "wall" TEXT NOT NULL DEFAULT '{}',
    "runSeq" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" BIGINT NOT NULL,

    CONSTRAINT "NodeRole_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NodeRoleEdge" (
    "parentId" INTEGER NOT NULL,
    "childId" INTEGER NOT NULL,
    "soft" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "NodeRoleEdge_pkey" PRIMARY KEY ("parentId","childId")
);

-- CreateTable
CREATE TABLE "Run" (
    "id" SERIAL NOT NULL,
    "nodeRoleId" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL,
    "worker" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "startedAt" BIGINT NOT NULL,
    "endedAt" BIGINT,
    "exitCode" INTEGER,
    "stdoutTail" TEXT NOT NULL DEFAULT '',
    "stderrTail" TEXT NOT NULL DEFAULT '',
    "inputs" TEXT NOT NULL DEFAULT '{}',
    "error" TEXT,

    CONSTRAINT "Run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Event" (
    "id" SERIAL NOT NULL,
    "at" BIGINT NOT NULL,
    "actor" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "objectType" TEXT NOT NULL,
    "objectId" INTEGER,
    "data" TEXT NOT NULL DEFAULT '{}',

    CONSTRAINT "Event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Node_name_key" ON "Node"("name");

-- CreateIndex
CREATE INDEX "Node_deploymentId_idx" ON "Node"("deploymentId");

-- CreateIndex
CREATE UNIQUE INDEX "Barclamp_name_key" ON "Barclamp"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Role_name_key" ON "Role"("name");

-- CreateIndex
CREATE UNIQUE INDEX "AttribDef_name_key" ON "AttribDef"("name");

-- CreateIndex
CREATE INDEX "RoleWant_attribId_idx" ON "RoleWant"("attribId");

-- CreateIndex
CREATE INDEX "AttribValue_scope_targetId_idx" ON "AttribValue"("scope", "targetId");

-- CreateIndex
CREATE UNIQUE INDEX "AttribValue_attribId_scope_targetId_key" ON "AttribValue"("attribId", "scope", "targetId");

-- CreateIndex
CREATE UNIQUE INDEX "Deployment_name_key" ON "Deployment"("name");

-- CreateIndex
CREATE UNIQUE INDEX "DeploymentRole_deploymentId_roleId_key" ON "DeploymentRole"("deploymentId", "roleId");

-- CreateIndex
CREATE INDEX "NodeRole_state_nextRunAt_idx" ON "NodeRole"("state", "nextRunAt");

-- CreateIndex
CREATE INDEX "NodeRole_nodeId_state_idx" ON "NodeRole"("nodeId", "state");

-- CreateIndex
CREATE INDEX "NodeRole_deploymentId_idx" ON "NodeRole"("deploymentId");

-- CreateIndex
CREATE UNIQUE INDEX "NodeRole_roleId_nodeId_key" ON "NodeRole"("roleId", "nodeId");

-- CreateIndex
CREATE INDEX "NodeRoleEdge_childId_idx" ON "NodeRoleEdge"("childId");

-- CreateIndex
CREATE INDEX "Run_nodeRoleId_idx" ON "Run"("nodeRoleId");

-- CreateIndex
CREATE INDEX "Run_status_idx" ON "Run"("status");

-- CreateIndex
CREATE INDEX "Event_at_idx" ON "Event"("at");

-- CreateIndex
CREATE INDEX "Event_objectType_objectId_idx" ON "Event"("objectType", "objectId");

-- AddForeignKey
ALTER TABLE "Node" ADD CONSTRAINT "Node_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Role" ADD CONSTRAINT "Role_barclampId_fkey" FOREIGN KEY ("barclampId") REFERENCES "Barclamp"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoleRequire" ADD CONSTRAINT "RoleRequire_roleId_fkey" FOREIGN KEY ("roleId") REFERENCES "Role"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoleRequire" ADD CONSTRAINT "RoleRequire_requiredRoleId_fkey" FOREIGN KEY ("requiredRoleId") REFERENCES "Role"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RolePrecede" ADD CONSTRAINT "RolePrecede_roleId_fkey" FOREIGN KEY ("roleId") REFERENCES "Role"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RolePrecede" ADD CONSTRAINT "RolePrecede_precededRoleId_fkey" FOREIGN KEY ("precededRoleId") REFERENCES "Role"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AttribDef" ADD CONSTRAINT "AttribDef_barclampId_fkey" FOREIGN KEY ("barclampId") REFERENCES "Barclamp"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoleWant" ADD CONSTRAINT "RoleWant_roleId_fkey" FOREIGN KEY ("roleId") REFERENCES "Role"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoleWant" ADD CONSTRAINT "RoleWant_attribId_fkey" FOREIGN KEY ("attribId") REFERENCES "AttribDef"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AttribValue" ADD CONSTRAINT "AttribValue_attribId_fkey" FOREIGN KEY ("attribId") REFERENCES "AttribDef"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Deployment"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeploymentRole" ADD CONSTRAINT "DeploymentRole_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeploymentRole" ADD CONSTRAINT "DeploymentRole_roleId_fkey" FOREIGN KEY ("roleId") REFERENCES "Role"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NodeRole" ADD CONSTRAINT "NodeRole_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NodeRole" ADD CONSTRAINT "NodeRole_roleId_fkey" FOREIGN KEY ("roleId") REFERENCES "Role"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NodeRole" ADD CONSTRAINT "NodeRole_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NodeRoleEdge" ADD CONSTRAINT "NodeRoleEdge_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "NodeRole"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NodeRoleEdge" ADD CONSTRAINT "NodeRoleEdge_childId_fkey" FOREIGN KEY ("childId") REFERENCES "NodeRole"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_nodeRoleId_fkey" FOREIGN KEY ("nodeRoleId") REFERENCES "NodeRole"("id") ON DELETE CASCADE ON UPDATE CASCADE;
