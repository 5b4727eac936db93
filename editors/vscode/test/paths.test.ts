// The socket path and forwarded variables follow common/paths.cc and
// client/commands.cc (their rules: README "Where things live").
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {forwardedEnvironment, socketPath} from '../src/paths';

test('socket under an absolute XDG_RUNTIME_DIR', () => {
  assert.equal(socketPath({XDG_RUNTIME_DIR: '/run/user/4242'}, 4242), '/run/user/4242/ds/dsd.sock');
});

test('relative or empty XDG_RUNTIME_DIR falls back to /tmp/ds-<euid>', () => {
  assert.equal(socketPath({XDG_RUNTIME_DIR: 'run/user'}, 7), '/tmp/ds-7/dsd.sock');
  assert.equal(socketPath({XDG_RUNTIME_DIR: ''}, 7), '/tmp/ds-7/dsd.sock');
  assert.equal(socketPath({}, 1000), '/tmp/ds-1000/dsd.sock');
});

test('DS_STATE_DIR does not move the socket', () => {
  assert.equal(
      socketPath({XDG_RUNTIME_DIR: '/run/user/7', DS_STATE_DIR: '/srv/ds'}, 7),
      '/run/user/7/ds/dsd.sock');
});

test('forwards DS_* and config variables, never connection strings', () => {
  const env = {
    DS_STAGE: 'qa',
    NEON_API_KEY: 'k',
    DEVSTRIDE_STAGE: 'x',
    DS_DB: 'postgresql://u:secret@h/d',
    DS_TARGET_DB: 'postgresql://u:secret@h/d',
    DS_SOURCE_DB: 'postgresql://u:secret@h/d',
    HOME: '/home/me',
    PATH: '/usr/bin',
  };
  assert.deepEqual(
      forwardedEnvironment(env), {DS_STAGE: 'qa', NEON_API_KEY: 'k', DEVSTRIDE_STAGE: 'x'});
});
