// The example workspace's Drizzle schema, in plain CommonJS so that
// drizzle-kit reads it without a TypeScript loader. drizzle.config.cjs says
// how drizzle/ was generated from it.
//
// EXAMPLE_STEP=1 leaves out `projects`: the first generated migration holds
// `users` alone, the second adds `projects`. The index on projects.name is
// not declared here: it is built by the hand-written migration
// drizzle/0002_projects_name_index.sql with CREATE INDEX CONCURRENTLY, which
// drizzle-kit cannot express in a generated, transactional migration.
const { pgTable, integer, serial, varchar, text, timestamp, index } = require('drizzle-orm/pg-core');

const users = pgTable('users', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  email: varchar('email', { length: 320 }).notNull().unique(),
  name: text('name'),
  createdAt: timestamp('created_at', { withTimezone: true }).defaultNow().notNull(),
});
exports.users = users;

if (process.env.EXAMPLE_STEP !== '1') {
  exports.projects = pgTable('projects', {
    id: serial('id').primaryKey(),
    ownerId: integer('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).defaultNow().notNull(),
  }, (t) => [index('projects_owner_id_idx').on(t.ownerId)]);
}
