// ds reads Drizzle folders exactly as drizzle does: a folder made by the real
// drizzle-kit generate is read by ds's reader (drizzle_dump) and by
// drizzle-orm's own readMigrationFiles, and the two must agree on order,
// timestamps, hashes and statements.
//
// usage: node compat.mjs --dump DRIZZLE_DUMP --peers PEERS_DIR
// Exits 125 (skipped) when the peers are not installed.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const peers = path.resolve(args.peers ?? process.env.DS_PEERS_DIR ?? '.');
const kit = path.join(peers, 'node_modules', '.bin', 'drizzle-kit');
if (!fs.existsSync(kit) || !fs.existsSync(path.join(peers, 'node_modules', 'drizzle-orm'))) {
  console.log(`skipped: ${peers}/node_modules has no drizzle-kit / drizzle-orm (run npm ci)`);
  process.exit(125);
}
const require = createRequire(path.join(peers, 'package.json'));
const { readMigrationFiles } = require('drizzle-orm/migrator');

// The project lives inside the peers dir so that drizzle-kit resolves
// drizzle-orm from its node_modules.
const project = fs.mkdtempSync(path.join(peers, 'drizzle-compat-'));
let failures = 0;
function check(cond, what) {
  if (!cond) {
    failures += 1;
    console.log(`FAIL: ${what}`);
  }
}
try {
  fs.writeFileSync(path.join(project, 'drizzle.config.cjs'),
    "module.exports = { dialect: 'postgresql', schema: './schema.cjs', out: './drizzle' };\n");
  const schema = (extra) => `const { pgTable, serial, text, integer, index } = require('drizzle-orm/pg-core');
exports.users = pgTable('users', { id: serial('id').primaryKey(), email: text('email').notNull()${extra} });
`;
  const generate = (...extra) => execFileSync(kit, ['generate', '--config', 'drizzle.config.cjs', ...extra],
    { cwd: project, stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
  fs.writeFileSync(path.join(project, 'schema.cjs'), schema(''));
  generate();
  fs.writeFileSync(path.join(project, 'schema.cjs'), schema(", age: integer('age'), name: text('name')"));
  generate();
  // A hand-written migration with several statements, CRLF line ends and
  // the ds directive, as a team would add for CREATE INDEX CONCURRENTLY.
  generate('--custom', '--name=concurrent_index');
  const journal = JSON.parse(fs.readFileSync(path.join(project, 'drizzle/meta/_journal.json'), 'utf8'));
  const custom = journal.entries[journal.entries.length - 1].tag;
  fs.writeFileSync(path.join(project, 'drizzle', `${custom}.sql`),
    '-- ds:no-transaction\r\nCREATE INDEX CONCURRENTLY users_email ON users (email);\r\n' +
    '--> statement-breakpoint\r\nSELECT 1; SELECT 2;--> statement-breakpoint\r\n');

  const theirs = readMigrationFiles({ migrationsFolder: path.join(project, 'drizzle') });
  const ours = JSON.parse(execFileSync(args.dump, [path.join(project, 'drizzle')], { encoding: 'utf8' }));
  check(theirs.length === 3 && ours.migrations.length === 3,
    `3 migrations each (drizzle ${theirs.length}, ds ${ours.migrations.length})`);
  theirs.forEach((t, i) => {
    const o = ours.migrations[i] ?? {};
    check(o.tag === journal.entries[i].tag, `#${i} tag ${o.tag} vs journal ${journal.entries[i].tag}`);
    check(o.when === t.folderMillis, `#${i} when ${o.when} vs drizzle ${t.folderMillis}`);
    check(o.hash === t.hash, `#${i} hash ${o.hash} vs drizzle ${t.hash}`);
    check(JSON.stringify(o.statements) === JSON.stringify(t.sql),
      `#${i} statements ${JSON.stringify(o.statements)} vs drizzle ${JSON.stringify(t.sql)}`);
  });
  check(ours.migrations[2]?.no_transaction === true, 'the directive is recognised');
  check(ours.migrations[0]?.no_transaction === false, 'generated files run in the transaction');
  console.log(JSON.stringify({ migrations: ours.migrations.map((m) => m.tag), failures }));
} finally {
  fs.rmSync(project, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
