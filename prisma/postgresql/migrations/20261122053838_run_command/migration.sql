-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "command" TEXT;
