// Builds the extension into a .vsix from the npm packages already installed
// in a peers folder (tests/peers after `npm ci`), so that neither the test
// suite nor CI installs anything here:
//
//   node editors/vscode/scripts/package.mjs --peers tests/peers \
//       --proto proto --stage /tmp/ds-vscode --out ds-vscode.vsix
//
// Steps: copy the extension into --stage, add the ds.v1 protos, type-check
// and compile it with the peers' TypeScript (out/: what the tests run under
// node, with NODE_PATH set to the peers' node_modules), bundle src/extension.ts
// with everything it imports but `vscode` into dist/extension.js with the
// peers' esbuild, then `vsce package` without node_modules: the .vsix holds
// the bundle, the protos, package.json and the README. The versions this
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
// The peers' packages, seen from the stage for the two compilers only: the
// link is gone before vsce runs, so nothing of node_modules can ship.
const modules = path.join(stage, 'node_modules');
fs.symlinkSync(path.join(peers, 'node_modules'), modules, 'dir');
run('tsc', [
  path.join(peers, 'node_modules/typescript/bin/tsc'), '-p', stage, '--typeRoots',
  path.join(peers, 'node_modules/@types')
]);
// The extension and its dependencies in one file: VS Code loads a single
// module instead of ~500 files, and the .vsix carries no node_modules.
const esbuild = await import(path.join(peers, 'node_modules/esbuild/lib/main.js'));
try {
  await esbuild.build({
    entryPoints: [path.join(stage, 'src', 'extension.ts')],
    outfile: path.join(stage, 'dist', 'extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',  // VS Code 1.85's extension host
    external: ['vscode'],
    // Smaller and quicker to load; identifiers are kept, so stack traces
    // from users stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  });
} catch (e) {
  console.error(`package.mjs: esbuild failed (${e.message.split('\n')[0]})`);
  process.exit(1);
}
fs.unlinkSync(modules);
if (!args['no-vsix']) {
  fs.mkdirSync(path.dirname(path.resolve(args.out)), {recursive: true});
  // The repository has no LICENSE file to ship (see packaging/copyright)
  // and no public URL.
  run('vsce package',
      [
        path.join(peers, 'node_modules/@vscode/vsce/vsce'), 'package', '--skip-license',
        '--allow-missing-repository', '--no-dependencies', '--out', path.resolve(args.out)
      ],
      {
        cwd: stage,
      });
}
