// The status text for answers the live test (dsd.test.ts) does not reach,
// and the reconnect backoff.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {CurrentAnswer, DatabaseTarget} from '../src/dsd_client';
import {describeCurrent, nextBackoff} from '../src/status_model';

function answer(target: Partial<DatabaseTarget>, error = ''): CurrentAnswer {
  return {
    workspace_dir: '/w',
    env_file: '/w/.env',
    env_file_exists: true,
    provider: 'neon',
    error,
    target: {
      variable: 'DB_CONNECTION_STRING',
      is_set: true,
      origin: {kind: 'KIND_DOTENV', location: '/w/.env:3'},
      connection: {redacted_uri: '', host: 'db.example.com', port: '', database: 'app', user: 'u'},
      resolved: false,
      branch: null,
      unresolved_reason: '',
      error: '',
      ...target,
    },
  };
}

test('a malformed .env is an error, with dsd\'s message', () => {
  const v = describeCurrent(answer({}, '/w/.env:2: unterminated quote'));
  assert.deepEqual(
      [v.label, v.severity, v.tooltip], ['ds: error', 'error', '/w/.env:2: unterminated quote']);
});

test('a value that is no connection string is an error', () => {
  const v = describeCurrent(answer({error: 'DB_CONNECTION_STRING is not a connection string'}));
  assert.deepEqual([v.label, v.severity], ['ds: bad target', 'error']);
});

test('an unresolved host shows host/database and why', () => {
  const v = describeCurrent(answer({unresolved_reason: 'no provider knows db.example.com'}));
  assert.equal(v.label, 'db.example.com/app');
  assert.equal(v.severity, 'normal');
  assert.equal(v.branch, undefined);
  assert.match(v.tooltip, /from \/w\/\.env:3\nno provider knows db\.example\.com/);
});

test('a protected (not default) branch warns', () => {
  const branch = {
    provider: 'neon',
    project_id: 'p-1',
    project_name: 'shop',
    branch_id: 'br-1',
    branch_name: 'staging',
    branch_protected: true,
    branch_is_default: false,
  };
  const v = describeCurrent(answer({resolved: true, branch}));
  assert.deepEqual([v.label, v.severity, v.branch], ['staging', 'warning', 'staging']);
  assert.match(v.tooltip, /neon shop \/ staging \(protected: writes reach shared data\)/);
});

test('backoff doubles from the first wait up to the cap', () => {
  const o = {initialMs: 250, maxMs: 1000};
  const waits: number[] = [];
  let w: number|undefined;
  for (let i = 0; i < 5; i++) waits.push(w = nextBackoff(w, o));
  assert.deepEqual(waits, [250, 500, 1000, 1000, 1000]);
});
