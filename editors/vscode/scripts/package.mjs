// Builds the extension into a .vsix from the npm packages already installed
// in a peers folder (tests/peers after `npm ci`), so that neither the test
// suite nor CI installs anything here:
//
//   node editors/vscode/scripts/package.mjs --peers tests/peers \
//       --proto proto --stage /tmp/ds-vscode --out ds-vscode.vsix
//
// Steps: copy the extension into --stage, add the ds.v1 protos, copy the
// runtime dependencies (and only those) from the peers' node_modules, compile
// with the peers' TypeScript, then `vsce package`. The versions this
// package.json pins must equal the peers' lock file, so the two never drift.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const {values: args} = parseArgs({
  options: {
    peers: {type: 'string'},
    proto: {type: 'string'},
    stage: {type: 'string'},
    out: {type: 'string'},
    'no-vsix': {type: 'boolean', default: false},
  },
});
for (const need of ['peers', 'proto', 'stage']) {
  if (!args[need])
    die(`--${need} is required (see the comment at the top of ${path.basename(import.meta.url)})`);
}
if (!args.out && !args['no-vsix']) die('--out FILE.vsix is required unless --no-vsix');
const peers = path.resolve(args.peers);
const stage = path.resolve(args.stage);

function die(message) {
  console.error(`package.mjs: ${message}`);
  process.exit(2);
}

const manifest = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
const lockPath = path.join(peers, 'package-lock.json');
if (!fs.existsSync(path.join(peers, 'node_modules')))
  die(`${peers}/node_modules is missing: run npm ci there`);
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8')).packages;

// Same pins here as in the peers' lock file.
for (const [name, want] of Object.entries(
         {...manifest.dependencies, ...manifest.devDependencies})) {
  const have = lock[`node_modules/${name}`]?.version;
  if (have !== want)
    die(`package.json pins ${name} ${want} but ${lockPath} has ${have ?? 'none'}; keep them equal`);
}

// node_modules locations (lock keys) the runtime dependencies need, found as
// node's require() finds them: nearest node_modules first, then upwards.
function runtimeClosure(roots) {
  const seen = new Set();
  const visit = (from, name) => {
    for (let base = from;;) {
      const loc = `${base ? base + '/' : ''}node_modules/${name}`;
      if (lock[loc] && fs.existsSync(path.join(peers, loc))) {
        if (seen.has(loc)) return;
        seen.add(loc);
        const p = lock[loc];
        for (const dep of Object.keys({...p.dependencies, ...p.optionalDependencies}))
          visit(loc, dep);
        return;
      }
      if (!base) {
        if (lock[loc]?.optional || from && lock[from]?.optionalDependencies?.[name]) return;
        die(`${name} (needed by ${from || 'the extension'}) is not installed in ${peers}`);
      }
      const up = base.lastIndexOf('/node_modules/');
      base = up < 0 ? '' : base.slice(0, up);
    }
  };
  for (const r of roots) visit('', r);
  return [...seen].sort();
}

fs.rmSync(stage, {recursive: true, force: true});
fs.mkdirSync(stage, {recursive: true});
for (const entry
         of ['package.json', 'tsconfig.json', '.vscodeignore', 'README.md', 'src', 'test']) {
  fs.cpSync(path.join(here, entry), path.join(stage, entry), {recursive: true});
}
fs.cpSync(path.join(path.resolve(args.proto), 'ds', 'v1'), path.join(stage, 'proto', 'ds', 'v1'), {
  recursive: true,
  filter: (src) => fs.statSync(src).isDirectory() || src.endsWith('.proto'),
});
for (const loc of runtimeClosure(Object.keys(manifest.dependencies))) {
  const from = path.join(peers, loc);
  // Nested node_modules come as locations of their own, when needed.
  fs.cpSync(from, path.join(stage, loc), {
    recursive: true,
    filter: (src) => !path.relative(from, src).split(path.sep).includes('node_modules'),
  });
}

const node = process.execPath;
// A failing step has printed its own errors; say which step it was.
function run(step, argv, options = {}) {
  try {
    execFileSync(node, argv, {stdio: 'inherit', ...options});
  } catch (e) {
    console.error(
        `package.mjs: ${step} failed (${e.status === null ? e.signal : 'exit ' + e.status})`);
    process.exit(1);
  }
}
run('tsc', [
  path.join(peers, 'node_modules/typescript/bin/tsc'), '-p', stage, '--typeRoots',
  path.join(peers, 'node_modules/@types')
]);
if (!args['no-vsix']) {
  fs.mkdirSync(path.dirname(path.resolve(args.out)), {recursive: true});
  // The repository has no LICENSE file to ship (see packaging/copyright)
  // and no public URL.
  run('vsce package',
      [
        path.join(peers, 'node_modules/@vscode/vsce/vsce'), 'package', '--skip-license',
        '--allow-missing-repository', '--out', path.resolve(args.out)
      ],
      {
        cwd: stage,
      });
}
