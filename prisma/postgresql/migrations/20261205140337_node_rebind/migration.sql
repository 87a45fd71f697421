-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "rebind" BOOLEAN NOT NULL DEFAULT false;
