// What an editor plugin does with dsd, using the real @grpc/grpc-js client:
// health check, list services by reflection, GetCurrent, and WatchCurrent
// seeing an .env edit. Prints one JSON line per step; exits non-zero on the
// first failure.
//
// usage: node editor_plugin.mjs PEERS_DIR PROTO_DIR SOCKET WORKSPACE
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [peersDir, protoDir, socketPath, workspace] = process.argv.slice(2);
const require = createRequire(path.join(peersDir, 'package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const target = `unix:${socketPath}`;
const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

function load(file, includeDirs) {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, { ...loaderOptions, includeDirs }));
}

function fail(step, message) {
  console.log(JSON.stringify({ step, ok: false, message }));
  process.exit(1);
}

function pass(step, detail) {
  console.log(JSON.stringify({ step, ok: true, ...detail }));
}

function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 5000 }, (err, resp) => (err ? reject(err) : resolve(resp)));
  });
}

const nm = path.join(peersDir, 'node_modules');
const health = load(path.join(nm, 'grpc-health-check/proto/health/v1/health.proto'), []);
const reflection = load(path.join(nm, '@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto'), []);
const ds = load(path.join(protoDir, 'ds/v1/workspace.proto'), [protoDir]);

// 1. Health.
const healthClient = new health.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
for (const service of ['', 'ds.v1.WorkspaceService']) {
  try {
    const r = await unary(healthClient, 'Check', { service });
    if (r.status !== 'SERVING') fail('health', `${service || '(server)'} is ${r.status}`);
  } catch (e) {
    fail('health', e.message);
  }
}
pass('health', {});

// 2. Reflection: list services, then fetch the file that defines ours.
const reflClient = new reflection.grpc.reflection.v1alpha.ServerReflection(target, grpc.credentials.createInsecure());
const services = await new Promise((resolve, reject) => {
  const call = reflClient.ServerReflectionInfo();
  const answers = [];
  call.on('data', (m) => {
    answers.push(m);
    if (answers.length === 2) call.end();
  });
  call.on('error', reject);
  call.on('end', () => resolve(answers));
  call.write({ list_services: '' });
  call.write({ file_containing_symbol: 'ds.v1.WorkspaceService' });
}).catch((e) => fail('reflection', e.message));
const names = services[0].list_services_response.service.map((s) => s.name).sort();
for (const want of ['ds.v1.DaemonService', 'ds.v1.WorkspaceService', 'grpc.health.v1.Health']) {
  if (!names.includes(want)) fail('reflection', `missing ${want} in ${names}`);
}
const files = services[1].file_descriptor_response?.file_descriptor_proto ?? [];
if (files.length === 0) fail('reflection', 'no file descriptor for ds.v1.WorkspaceService');
pass('reflection', { services: names });

// 3. GetCurrent.
const ws = new ds.ds.v1.WorkspaceService(target, grpc.credentials.createInsecure());
let current;
try {
  current = await unary(ws, 'GetCurrent', { workspace_dir: workspace });
} catch (e) {
  fail('get_current', e.message);
}
if (!current.target.is_set) fail('get_current', 'target not set');
pass('get_current', { host: current.target.connection.host, database: current.target.connection.database });

// Bad requests get INVALID_ARGUMENT with a message saying what to send.
for (const [dir, want] of [['', 'names no workspace directory'], ['relative/dir', 'is relative']]) {
  try {
    await unary(ws, 'GetCurrent', { workspace_dir: dir });
    fail('bad_request', `GetCurrent(${JSON.stringify(dir)}) succeeded`);
  } catch (e) {
    if (e.code !== grpc.status.INVALID_ARGUMENT || !e.details.includes(want)) {
      fail('bad_request', `GetCurrent(${JSON.stringify(dir)}): ${e.code} ${e.details}`);
    }
  }
}
pass('bad_request', {});

// 4. WatchCurrent sees an edit of .env (written atomically, as ds does).
const call = ws.WatchCurrent({ workspace_dir: workspace });
let editedAt = 0;
const newHost = 'edited-host.example.com';
const result = await new Promise((resolve) => {
  const timer = setTimeout(() => resolve({ ok: false, message: 'no update within 20 s' }), 20000);
  let first = true;
  call.on('data', (m) => {
    if (first) {
      first = false;
      const envPath = path.join(workspace, '.env');
      const tmp = `${envPath}.tmp-plugin`;
      fs.writeFileSync(tmp, `DB_CONNECTION_STRING=postgresql://app@${newHost}/appdb\n`);
      editedAt = performance.now();
      fs.renameSync(tmp, envPath);
      return;
    }
    if (m.target?.connection?.host === newHost) {
      clearTimeout(timer);
      resolve({ ok: true, latency_ms: performance.now() - editedAt });
    }
  });
  call.on('error', (e) => {
    if (e.code !== grpc.status.CANCELLED) resolve({ ok: false, message: e.message });
  });
});
call.cancel();
if (!result.ok) fail('watch_current', result.message);
pass('watch_current', { latency_ms: Math.round(result.latency_ms * 10) / 10 });
process.exit(0);
