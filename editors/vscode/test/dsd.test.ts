// The extension's logic against a real dsd (and the local provider's real
// PostgreSQL cluster). tests/integration/test_editor_vscode.py runs this as
// the test user, with private XDG_RUNTIME_DIR/DS_STATE_DIR/XDG_DATA_HOME in
// the environment, the staged ds and dsd in DS_TEST_BIN_DIR and an empty
// workspace (a ds.toml only) in DS_TEST_WORKSPACE. The steps build on each
// other, so they run in order.
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {after, before, test} from 'node:test';

import {BranchPick, createBranch, Prompter, switchBranch} from '../src/commands';
import {DsdClient} from '../src/dsd_client';
import {socketPath} from '../src/paths';
import {StatusModel, StatusView} from '../src/status_model';

const binDir = process.env.DS_TEST_BIN_DIR!;
const workspaceDir = process.env.DS_TEST_WORKSPACE!;
const dsPath = path.join(binDir, 'ds');
const sock = socketPath(process.env, process.geteuid!());

// Answers the flows' questions from a script and records what was asked.
class ScriptedPrompter implements Prompter {
  offered: BranchPick[] = [];
  questions: string[] = [];
  progress: string[] = [];
  constructor(private readonly script: {pick?: string; confirm?: boolean; name?: string}) {}
  async pickBranch(picks: BranchPick[]) {
    this.offered = picks;
    return picks.find((p) => p.label === this.script.pick);
  }
  async confirm(message: string) {
    this.questions.push(message);
    if (this.script.confirm === undefined) throw new Error(`unexpected question: ${message}`);
    return this.script.confirm;
  }
  async withProgress<T>(title: string, work: (report: (line: string) => void) => Promise<T>) {
    this.progress.push(title);
    return work((line) => this.progress.push(line));
  }
  async branchName(validate: (n: string) => string | undefined) {
    assert.equal(validate(this.script.name!), undefined);
    return this.script.name;
  }
}

// Resolves with the first view (the current one included) that `want`
// accepts; a deadline turns a missing update into a failure, not a hang.
function viewWhere(
    model: StatusModel, what: string, want: (v: StatusView) => boolean): Promise<StatusView> {
  if (want(model.view)) return Promise.resolve(model.view);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      model.off('change', onChange);
      reject(new Error(`no status ${what} within 60 s; last: ${JSON.stringify(model.view)}`));
    }, 60_000);
    const onChange = (v: StatusView) => {
      if (!want(v)) return;
      clearTimeout(timer);
      model.off('change', onChange);
      resolve(v);
    };
    model.on('change', onChange);
  });
}

function ds(...args: string[]): Promise<string> {
  return new Promise(
      (resolve, reject) => execFile(
          dsPath,
          args,
          {env: process.env},
          (err, stdout, stderr) =>
              err ? reject(new Error(`ds ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
          ),
  );
}

function targetInEnvFile(): string {
  const line = fs.readFileSync(path.join(workspaceDir, '.env'), 'utf8')
                   .split('\n')
                   .find((l) => l.startsWith('DB_CONNECTION_STRING='));
  return line ?? '';
}

const client = new DsdClient({socketPath: sock, dsPath, env: process.env});
const ws = client.workspace(workspaceDir);
// The status bar's own client, as in extension.ts.
const watchClient = new DsdClient({socketPath: sock, dsPath, env: process.env});
const model = new StatusModel(watchClient, ws, {initialMs: 50, maxMs: 500});

before(() => assert.ok(!fs.existsSync(sock), `${sock} exists before the test started dsd`));
after(() => {
  model.dispose();
  client.close();
  watchClient.close();
});

test('a missing ds is one clear error', async () => {
  const lost =
      new DsdClient({socketPath: sock, dsPath: path.join(binDir, 'no-such-ds'), env: process.env});
  await assert.rejects(
      lost.ensureDaemon(), /cannot run .*no-such-ds: not found\. Install ds or set "ds\.path"/);
});

test('starts dsd with `ds daemon start` when the socket is missing', async () => {
  assert.equal(await client.socketAnswers(), false);
  await client.ensureDaemon();
  assert.ok(fs.existsSync(sock));
  const current = await client.getCurrent(ws);
  assert.equal(current.target?.is_set, false);
  model.start();
  const v = await viewWhere(model, 'without a target', (x) => x.connected);
  assert.equal(v.label, 'ds: no target');
  assert.match(v.tooltip, /DB_CONNECTION_STRING is not set/);
});

test('create branch: creates, points .env at it, the status bar follows', async () => {
  const prompter = new ScriptedPrompter({name: 'feature-x'});
  const outcome = await createBranch(client, ws, prompter);
  assert.ok(
      outcome.done && /Created feature-x; DB_CONNECTION_STRING points at it/.test(outcome.message),
      JSON.stringify(outcome));
  assert.deepEqual(prompter.questions, []);
  // dsd's progress lines arrived through CreateBranchStream.
  assert.equal(prompter.progress[0], 'Creating branch feature-x');
  assert.ok(
      prompter.progress.some((l) => l.startsWith('copying main')), prompter.progress.join('\n'));
  assert.match(targetInEnvFile(), /\/feature-x$/);
  const v = await viewWhere(model, 'on feature-x', (x) => x.branch === 'feature-x');
  assert.equal(v.severity, 'normal');
});

test('switch branch: the picker lists branches with their marks', async () => {
  const prompter = new ScriptedPrompter({});  // dismisses the list
  assert.deepEqual(await switchBranch(client, ws, prompter), {done: false});
  const byName = new Map(prompter.offered.map((p) => [p.label, p]));
  assert.equal(prompter.offered[0].label, 'feature-x', 'the target comes first');
  assert.equal(byName.get('feature-x')!.description, 'target');
  assert.match(byName.get('main')!.description, /default/);
  assert.match(byName.get('main')!.description, /protected/);
});

test('switch to the default branch asks first; no means nothing changes', async () => {
  const before = targetInEnvFile();
  const prompter = new ScriptedPrompter({pick: 'main', confirm: false});
  assert.deepEqual(await switchBranch(client, ws, prompter), {done: false});
  assert.equal(prompter.questions.length, 1);
  assert.match(prompter.questions[0], /"main" is the default, protected branch/);
  assert.equal(targetInEnvFile(), before);
});

test('dsd itself refuses a protected target without allow_protected', async () => {
  await assert.rejects(
      client.setTarget(ws, 'main', false), (e: Error&{needsConfirmation?: boolean}) => {
        assert.ok(e.needsConfirmation, e.message);
        assert.match(e.message, /main/);
        return true;
      });
});

test('switch to the default branch after yes: status bar warns', async () => {
  const prompter = new ScriptedPrompter({pick: 'main', confirm: true});
  const outcome = await switchBranch(client, ws, prompter);
  assert.ok(
      outcome.done && /DB_CONNECTION_STRING in .*\.env now points at main/.test(outcome.message),
      JSON.stringify(outcome));
  assert.match(targetInEnvFile(), /\/main$/);
  const v = await viewWhere(model, 'on main', (x) => x.branch === 'main');
  assert.equal(v.severity, 'warning');
  assert.match(v.tooltip, /default, protected/);
});

test('create branch with an existing protected name asks, then switches', async () => {
  await switchBranch(
      client, ws, new ScriptedPrompter({pick: 'feature-x'}));  // no question for an ordinary branch
  await viewWhere(model, 'back on feature-x', (x) => x.branch === 'feature-x');
  const prompter = new ScriptedPrompter({name: 'main', confirm: true});
  const outcome = await createBranch(client, ws, prompter);
  assert.equal(prompter.questions.length, 1, 'dsd refused, the flow asked');
  assert.ok(outcome.done && /main already existed/.test(outcome.message), JSON.stringify(outcome));
  await viewWhere(model, 'on main again', (x) => x.branch === 'main' && x.severity === 'warning');
});

test('the status bar reconnects when dsd restarts', async () => {
  await switchBranch(client, ws, new ScriptedPrompter({pick: 'feature-x'}));
  await viewWhere(model, 'on feature-x', (x) => x.branch === 'feature-x');
  await ds('daemon', 'stop', '--keep-databases');
  const down = await viewWhere(model, 'disconnected', (x) => !x.connected);
  assert.equal(down.severity, 'error');
  assert.equal(down.label, 'ds: dsd not running');
  assert.equal(await client.socketAnswers(), false);
  await client.ensureDaemon();  // what a command does
  const up = await viewWhere(
      model, 'reconnected on feature-x', (x) => x.connected && x.branch === 'feature-x');
  assert.equal(up.severity, 'normal');
});
