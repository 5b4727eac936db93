// A client of dsd over its Unix socket (@grpc/grpc-js, the ds.v1 protos
// loaded at run time), plus starting dsd the way `ds` does when nothing
// listens. No `vscode` import: tested under plain node against a real dsd.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {execFile} from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

import {Env, forwardedEnvironment} from './paths';

// The messages as proto-loader hands them over (keepCase, enums as names).
export interface BranchRef {
  provider: string;
  project_id: string;
  project_name: string;
  branch_id: string;
  branch_name: string;
  branch_protected: boolean;
  branch_is_default: boolean;
}

export interface ConnectionSummary {
  redacted_uri: string;
  host: string;
  port: string;
  database: string;
  user: string;
}

export interface DatabaseTarget {
  variable: string;
  is_set: boolean;
  origin: {kind: string; location: string}|null;
  connection: ConnectionSummary|null;
  resolved: boolean;
  branch: BranchRef|null;
  unresolved_reason: string;
  error: string;
}

export interface CurrentAnswer {
  workspace_dir: string;
  env_file: string;
  env_file_exists: boolean;
  target: DatabaseTarget|null;
  provider: string;
  error: string;
}

export interface Branch {
  provider: string;
  project_id: string;
  id: string;
  name: string;
  parent_name: string;
  created_at: string;

  protected: boolean;
  is_default: boolean;
  is_target: boolean;
  is_source: boolean;
}

export interface SetDatabaseAnswer {
  branch: Branch|null;
  env_file: string;
  variable: string;
  redacted_uri: string;
  notices: string[];
}

export interface CreateBranchAnswer {
  branch: Branch|null;
  existed: boolean;
  env_file: string;
  variable: string;
  notices: string[];
}

export interface WorkspaceRef {
  workspace_dir: string;
  overrides: {environment: Record<string, string>; flags: Record<string, string>};
}

// An RPC that dsd answered with an error, or that could not reach it.
export class DsdError extends Error {
  constructor(
      readonly code: grpc.status,
      message: string,
  ) {
    super(message);
    this.name = 'DsdError';
  }
  // Nothing answers on the socket, or dsd went away mid-call.
  get unreachable(): boolean {
    return this.code === grpc.status.UNAVAILABLE;
  }
  // dsd refuses to point the target at a protected or default branch unless
  // the caller confirmed (allow_protected).
  get needsConfirmation(): boolean {
    return this.code === grpc.status.FAILED_PRECONDITION;
  }
}

function toDsdError(err: grpc.ServiceError): DsdError {
  if (err.code === grpc.status.UNAVAILABLE) {
    return new DsdError(err.code, `dsd is not reachable (${err.details})`);
  }
  return new DsdError(err.code, err.details || err.message);
}

export interface DsdClientOptions {
  socketPath: string;
  // The program run as `<dsPath> daemon start` when nothing listens.
  dsPath: string;
  // The environment `ds` runs with and whose DS_* variables are forwarded.
  env: Env;
  // Folder holding ds/v1/*.proto (default: the extension's own proto/).
  protoDir?: string;
}

export interface WatchHandle {
  cancel(): void;
}

type Callback<T> = (err: grpc.ServiceError|null, value?: T) => void;
type Unary = (req: object, opts: grpc.CallOptions, cb: Callback<unknown>) => void;

const UNARY_DEADLINE_MS = 15_000;
// Creating a branch may start the local cluster or wait on Neon operations.
const SLOW_DEADLINE_MS = 180_000;
const DAEMON_START_TIMEOUT_MS = 60_000;

export class DsdClient {
  private readonly options: DsdClientOptions;
  private readonly services:
      {Workspace: grpc.ServiceClientConstructor; Branch: grpc.ServiceClientConstructor};
  private workspaceStub?: grpc.Client;
  private branchStub?: grpc.Client;

  constructor(options: DsdClientOptions) {
    this.options = options;
    const protoDir = options.protoDir ?? path.join(__dirname, '..', '..', 'proto');
    const definition = protoLoader.loadSync(
        ['ds/v1/workspace.proto', 'ds/v1/branch.proto'].map((f) => path.join(protoDir, f)),
        {
          keepCase: true,
          longs: String,
          enums: String,
          defaults: true,
          oneofs: true,
          includeDirs: [protoDir]
        },
    );
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      ds: {
        v1: {
          WorkspaceService: grpc.ServiceClientConstructor;
          BranchService: grpc.ServiceClientConstructor
        }
      };
    };
    this.services = {Workspace: loaded.ds.v1.WorkspaceService, Branch: loaded.ds.v1.BranchService};
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  workspace(dir: string): WorkspaceRef {
    return {
      workspace_dir: dir,
      overrides: {environment: forwardedEnvironment(this.options.env), flags: {}}
    };
  }

  // Whether something accepts connections on the socket.
  socketAnswers(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.createConnection({path: this.options.socketPath});
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }

  // Starts dsd as `ds` does when nothing listens: by running `ds daemon
  // start`, which spawns dsd under the spawn lock and returns once it
  // answers a ping. With systemd socket activation the socket always answers
  // and nothing is run.
  async ensureDaemon(): Promise<void> {
    if (await this.socketAnswers()) return;
    const {dsPath, env} = this.options;
    await new Promise<void>((resolve, reject) => {
      execFile(
          dsPath, ['daemon', 'start'], {env, timeout: DAEMON_START_TIMEOUT_MS},
          (err, _stdout, stderr) => {
            if (!err) return resolve();
            const e = err as NodeJS.ErrnoException;
            if (e.code === 'ENOENT') {
              reject(new Error(`cannot run ${
                  dsPath}: not found. Install ds or set "ds.path" to the ds program.`));
            } else {
              const why = stderr.trim() || err.message;
              reject(new Error(`\`${dsPath} daemon start\` failed: ${why}`));
            }
          });
    });
    // Drop channels that saw the socket missing, so the next call connects now.
    this.reset();
  }

  // Closes the channels; the next call opens fresh ones. A channel that saw
  // dsd go away would otherwise wait out gRPC's own reconnect backoff.
  reset(): void {
    this.workspaceStub?.close();
    this.branchStub?.close();
    this.workspaceStub = undefined;
    this.branchStub = undefined;
  }

  close(): void {
    this.reset();
  }

  private stub(kind: 'Workspace'|'Branch'): grpc.Client {
    const target = `unix:${this.options.socketPath}`;
    // A channel of our own (no shared subchannel that may sit in backoff),
    // reconnecting quickly once dsd is back.
    const channelOptions = {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
    };
    if (kind === 'Workspace') {
      this.workspaceStub ??=
          new this.services.Workspace(target, grpc.credentials.createInsecure(), channelOptions);
      return this.workspaceStub;
    }
    this.branchStub ??=
        new this.services.Branch(target, grpc.credentials.createInsecure(), channelOptions);
    return this.branchStub;
  }

  private unary<T>(
      kind: 'Workspace'|'Branch', method: string, req: object,
      deadlineMs = UNARY_DEADLINE_MS): Promise<T> {
    const stub = this.stub(kind) as unknown as Record<string, Unary>;
    return new Promise((resolve, reject) => {
      stub[method].call(stub, req, {deadline: Date.now() + deadlineMs}, (err, value) => {
        if (err)
          reject(toDsdError(err));
        else
          resolve(value as T);
      });
    });
  }

  getCurrent(ws: WorkspaceRef): Promise<CurrentAnswer> {
    return this.unary('Workspace', 'GetCurrent', {workspace: ws});
  }

  // Calls onAnswer with the current answer at once and after every change of
  // the workspace's .env or ds.toml; onEnd once the stream ends for any
  // reason but cancel().
  watchCurrent(
      ws: WorkspaceRef, onAnswer: (a: CurrentAnswer) => void,
      onEnd: (e: DsdError) => void): WatchHandle {
    const stub = this.stub('Workspace') as unknown as
        Record<string, (req: object) => grpc.ClientReadableStream<CurrentAnswer>>;
    const call = stub.WatchCurrent.call(stub, {workspace: ws});
    let cancelled = false;
    let ended = false;
    const end = (e: DsdError) => {
      if (cancelled || ended) return;
      ended = true;
      onEnd(e);
    };
    call.on('data', (a: CurrentAnswer) => {
      if (!cancelled) onAnswer(a);
    });
    call.on('error', (err: grpc.ServiceError) => end(toDsdError(err)));
    call.on('end', () => end(new DsdError(grpc.status.UNAVAILABLE, 'dsd closed the watch')));
    return {
      cancel: () => {
        cancelled = true;
        call.cancel();
      },
    };
  }

  async listBranches(ws: WorkspaceRef): Promise<Branch[]> {
    const r = await this.unary<{branches: Branch[]}>(
        'Branch', 'ListBranches', {workspace: ws}, SLOW_DEADLINE_MS);
    return r.branches;
  }

  // Points the workspace's target variable at `branch`.
  setTarget(ws: WorkspaceRef, branch: string, allowProtected: boolean): Promise<SetDatabaseAnswer> {
    return this.unary(
        'Branch',
        'SetDatabase',
        {workspace: ws, role: 'DATABASE_ROLE_TARGET', branch, allow_protected: allowProtected},
        SLOW_DEADLINE_MS,
    );
  }

  // Creates `name` from the default branch and points the target at it (or
  // only switches, when it exists), through CreateBranchStream: dsd's
  // progress lines (a local copy under way, Neon's operations) go to
  // onProgress as they come; the result is the stream's last message.
  createAndSwitch(
      ws: WorkspaceRef, name: string, allowProtected: boolean,
      onProgress: (line: string) => void): Promise<CreateBranchAnswer> {
    type Event = {progress?: string, result?: CreateBranchAnswer};
    const stub = this.stub('Branch') as unknown as
        Record<string, (req: object, opts: grpc.CallOptions) => grpc.ClientReadableStream<Event>>;
    const call = stub.CreateBranchStream.call(
        stub, {workspace: ws, name, switch_env: true, allow_protected: allowProtected},
        {deadline: Date.now() + SLOW_DEADLINE_MS});
    return new Promise((resolve, reject) => {
      let result: CreateBranchAnswer|undefined;
      call.on('data', (e: Event) => {
        if (e.result)
          result = e.result;
        else if (e.progress)
          onProgress(e.progress);
      });
      call.on('error', (err: grpc.ServiceError) => reject(toDsdError(err)));
      call.on('end', () => {
        if (result)
          resolve(result);
        else
          reject(
              new DsdError(grpc.status.INTERNAL, 'dsd ended CreateBranchStream without a result'));
      });
    });
  }
}
