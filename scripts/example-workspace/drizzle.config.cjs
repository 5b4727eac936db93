// drizzle-kit configuration of the example workspace. drizzle/ was written by
// the real drizzle-kit 0.31 from schema.cjs; to write it again (tags and
// timestamps will differ), from this directory, after `npm ci` in tests/peers:
//
//   export NODE_PATH=$PWD/../../tests/peers/node_modules
//   kit=$NODE_PATH/.bin/drizzle-kit; rm -rf drizzle
//   EXAMPLE_STEP=1 $kit generate --config=drizzle.config.cjs --name=users
//   $kit generate --config=drizzle.config.cjs --name=projects
//   $kit generate --config=drizzle.config.cjs --custom --name=projects_name_index
//
// then make the custom file start with `-- ds:no-transaction` and hold the
// CREATE INDEX CONCURRENTLY statement (see drizzle/0002_*.sql). Apply with
// `ds db migrate`; `$kit migrate --config=drizzle.config.cjs` reads the target
// from DB_CONNECTION_STRING but runs every file in one transaction, so it fails
// on the concurrent index.
module.exports = {
  dialect: 'postgresql',
  schema: './schema.cjs',
  out: './drizzle',
  dbCredentials: { url: process.env.DB_CONNECTION_STRING },
};
