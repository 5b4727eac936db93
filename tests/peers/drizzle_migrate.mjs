// Real drizzle, driven by ds's migration tests (tests/integration/test_migrate.py).
//
//   node drizzle_migrate.mjs migrate  --peers P --url URL --dir DIR [--table T] [--schema S]
//       drizzle-orm's own migrator: pg.Pool -> drizzle() -> migrate() -> pool.end()
//   node drizzle_migrate.mjs kit-migrate --peers P --url URL --dir DIR [--table T] [--schema S]
//       `drizzle-kit migrate` with a generated plain-JS config
//   node drizzle_migrate.mjs generate --peers P --project DIR [--name N] [--custom]
//       `drizzle-kit generate` in DIR (schema DIR/schema.cjs, out DIR/drizzle)
//   node drizzle_migrate.mjs read --peers P --dir DIR
//       drizzle-orm's readMigrationFiles, as JSON (tag-less: hash, folderMillis)
//
// Prints one JSON line on success; exits 1 with the error on stderr on
// failure, and 125 (skipped) when the peers are not installed.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [command, ...rest] = process.argv.slice(2);
const args = {};
for (let i = 0; i < rest.length; i += 1) {
  if (!rest[i].startsWith('--')) continue;
  const key = rest[i].slice(2);
  if (i + 1 < rest.length && !rest[i + 1].startsWith('--')) {
    args[key] = rest[i + 1];
    i += 1;
  } else {
    args[key] = true;
  }
}

const peers = path.resolve(args.peers ?? process.env.DS_PEERS_DIR ?? '.');
const modules = path.join(peers, 'node_modules');
const kit = path.join(modules, '.bin', 'drizzle-kit');
for (const needed of ['drizzle-orm', 'drizzle-kit', 'pg']) {
  if (!fs.existsSync(path.join(modules, needed))) {
    console.log(`skipped: ${modules} has no ${needed} (run npm ci)`);
    process.exit(125);
  }
}
const require = createRequire(path.join(peers, 'package.json'));

function migrationsConfig() {
  const config = { migrationsFolder: path.resolve(args.dir) };
  if (args.table) config.migrationsTable = args.table;
  if (args.schema) config.migrationsSchema = args.schema;
  return config;
}

// drizzle-kit resolves drizzle-orm and the schema's imports from the
// project dir: a node_modules link to the peers makes any dir a project.
function linkModules(dir) {
  const link = path.join(dir, 'node_modules');
  if (!fs.existsSync(link)) fs.symlinkSync(modules, link, 'dir');
}

function runKit(cwd, kitArgs) {
  try {
    return execFileSync(kit, kitArgs, {
      cwd, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' },
    });
  } catch (e) {
    const err = new Error(`drizzle-kit ${kitArgs[0]} exited with ${e.status}: ${e.stdout}${e.stderr}`);
    err.status = e.status;
    throw err;
  }
}

async function drizzleMigrate() {
  const pg = require('pg');
  const { drizzle } = require('drizzle-orm/node-postgres');
  const { migrate } = require('drizzle-orm/node-postgres/migrator');
  const pool = new pg.Pool({ connectionString: args.url });
  try {
    const db = drizzle(pool);
    await migrate(db, migrationsConfig());
  } finally {
    await pool.end();
  }
  return { ok: true };
}

function kitMigrate() {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-kit-migrate-'));
  try {
    linkModules(project);
    const config = {
      dialect: 'postgresql',
      out: path.resolve(args.dir),
      dbCredentials: { url: args.url },
    };
    if (args.table || args.schema) {
      config.migrations = {};
      if (args.table) config.migrations.table = args.table;
      if (args.schema) config.migrations.schema = args.schema;
    }
    fs.writeFileSync(path.join(project, 'drizzle.config.mjs'),
      `export default ${JSON.stringify(config, null, 2)};\n`, { mode: 0o600 });
    const out = runKit(project, ['migrate', '--config', 'drizzle.config.mjs']);
    return { ok: true, output: out.replace(args.url, '<url>') };
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
  }
}

function generate() {
  const project = path.resolve(args.project);
  linkModules(project);
  const configFile = path.join(project, 'drizzle.config.cjs');
  if (!fs.existsSync(configFile)) {
    fs.writeFileSync(configFile,
      "module.exports = { dialect: 'postgresql', schema: './schema.cjs', out: './drizzle' };\n");
  }
  const kitArgs = ['generate', '--config', 'drizzle.config.cjs'];
  if (args.name) kitArgs.push(`--name=${args.name}`);
  if (args.custom) kitArgs.push('--custom');
  runKit(project, kitArgs);
  const journal = JSON.parse(fs.readFileSync(path.join(project, 'drizzle/meta/_journal.json'), 'utf8'));
  return { ok: true, tags: journal.entries.map((e) => e.tag) };
}

function read() {
  const { readMigrationFiles } = require('drizzle-orm/migrator');
  const files = readMigrationFiles(migrationsConfig());
  return { ok: true, migrations: files.map((m) => ({ hash: m.hash, when: m.folderMillis })) };
}

const commands = { migrate: drizzleMigrate, 'kit-migrate': kitMigrate, generate, read };
if (!commands[command]) {
  console.error(`usage: node drizzle_migrate.mjs ${Object.keys(commands).join('|')} --peers DIR ...`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await commands[command]()));
} catch (e) {
  const text = `${e?.message ?? e}${e?.cause ? ` (cause: ${e.cause.message ?? e.cause})` : ''}`;
  console.error(args.url ? text.split(args.url).join('<url>') : text);
  process.exit(1);
}
