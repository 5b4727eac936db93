// Where dsd listens and what a client forwards to it, derived exactly as
// common/paths.cc (ResolvePaths) and client/commands.cc (BuildOverrides) do,
// so that the extension and `ds` in a terminal reach the same daemon and get
// the same configuration. No `vscode` import: tested under plain node.
import * as path from 'node:path';

export type Env = Record<string, string|undefined>;

// $XDG_RUNTIME_DIR/ds/dsd.sock when XDG_RUNTIME_DIR is set and absolute (a
// relative value is ignored, as the XDG spec says), else /tmp/ds-<euid>/dsd.sock.
// DS_STATE_DIR and --state-dir move only the state dir (pid lock, log, jobs),
// never the socket.
export function socketPath(env: Env, euid: number): string {
  const runtime = env.XDG_RUNTIME_DIR ?? '';
  const runtimeDir =
      runtime !== '' && path.isAbsolute(runtime) ? path.join(runtime, 'ds') : `/tmp/ds-${euid}`;
  return path.join(runtimeDir, 'dsd.sock');
}

// Environment variables that config keys read besides DS_* (common/config.cc's
// key table: NEON_API_KEY and friends, and the DEVSTRIDE_STAGE alias).
export const CONFIG_ENV_VARS: readonly string[] = [
  'NEON_API_KEY',
  'NEON_API_HOST',
  'NEON_ORG_ID',
  'DEVSTRIDE_STAGE',
];

// Connection strings given through the environment: secrets and no config
// key, so ds never forwards them (client/secret_args.h).
export const CONNECTION_ENV_VARS: readonly string[] = ['DS_DB', 'DS_SOURCE_DB', 'DS_TARGET_DB'];

// The ClientOverrides.environment map `ds` would send from this environment.
export function forwardedEnvironment(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (!name.startsWith('DS_') && !CONFIG_ENV_VARS.includes(name)) continue;
    if (CONNECTION_ENV_VARS.includes(name)) continue;
    out[name] = value;
  }
  return out;
}
