-- ds:no-transaction
-- Custom SQL migration file, put your code below! --
-- Builds the index without blocking writes to "projects". CREATE INDEX
-- CONCURRENTLY cannot run inside a transaction block, so the directive above
-- makes `ds db migrate` run this file on its own, outside the transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "projects_name_idx" ON "projects" USING btree ("name");
