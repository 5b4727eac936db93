// What the status bar shows: the workspace's target branch, kept live through
// WatchCurrent, reconnecting with backoff when dsd goes away (a restart, an
// upgrade). No `vscode` import: the extension only copies `view` into a
// StatusBarItem on every 'change'.
import {EventEmitter} from 'node:events';

import {CurrentAnswer, DsdClient, DsdError, WatchHandle, WorkspaceRef} from './dsd_client';

export type Severity = 'normal'|'warning'|'error';

export interface StatusView {
  // Short text: the branch name, or host/database when no provider knows it.
  label: string;
  tooltip: string;
  // 'warning' when the target is a protected or default branch: a write
  // there reaches shared data.
  severity: Severity;
  // False while dsd cannot be reached; the model is retrying.
  connected: boolean;
  // The target branch's name when a provider resolved it.
  branch?: string;
}

export function describeCurrent(a: CurrentAnswer): StatusView {
  if (a.error) {
    return {label: 'ds: error', tooltip: a.error, severity: 'error', connected: true};
  }
  const t = a.target;
  if (!t || !t.is_set) {
    const variable = t?.variable || 'the target variable';
    const where = a.env_file_exists ? a.env_file : `${a.env_file} (missing)`;
    return {
      label: 'ds: no target',
      tooltip:
          `${variable} is not set in ${where}. Run "ds: Switch branch" or "ds: Create branch".`,
      severity: 'normal',
      connected: true,
    };
  }
  if (t.error) {
    return {label: 'ds: bad target', tooltip: t.error, severity: 'error', connected: true};
  }
  const origin = t.origin?.location ? `\nfrom ${t.origin.location}` : '';
  const conn = t.connection;
  const hostDb = conn ? `${conn.host}${conn.port ? ':' + conn.port : ''}/${conn.database}` : '';
  if (t.resolved && t.branch) {
    const b = t.branch;
    const marks = [
      b.branch_is_default ? 'default' : '', b.branch_protected ? 'protected' : ''
    ].filter(Boolean).join(', ');
    return {
      label: b.branch_name,
      tooltip: `${t.variable}: ${b.provider} ${b.project_name || b.project_id} / ${b.branch_name}` +
          (marks ? ` (${marks}: writes reach shared data)` : '') + `\n${hostDb}${origin}`,
      severity: marks ? 'warning' : 'normal',
      connected: true,
      branch: b.branch_name,
    };
  }
  return {
    label: conn ? `${conn.host}/${conn.database}` : t.variable,
    tooltip: `${t.variable}: ${hostDb}${origin}` +
        (t.unresolved_reason ? `\n${t.unresolved_reason}` : ''),
    severity: 'normal',
    connected: true,
  };
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

// The next wait: doubling from initialMs up to maxMs.
export function nextBackoff(previousMs: number|undefined, o: BackoffOptions): number {
  return previousMs === undefined ? o.initialMs : Math.min(previousMs * 2, o.maxMs);
}

export class StatusModel extends EventEmitter {
  private current: StatusView =
      {label: 'ds: connecting', tooltip: 'Connecting to dsd', severity: 'normal', connected: false};
  private watch?: WatchHandle;
  private retryTimer?: NodeJS.Timeout;
  private backoffMs?: number;
  private disposed = false;

  constructor(
      private readonly client: DsdClient,
      private readonly ws: WorkspaceRef,
      private readonly backoff: BackoffOptions = {initialMs: 250, maxMs: 10_000},
  ) {
    super();
  }

  get view(): StatusView {
    return this.current;
  }

  start(): void {
    this.connect();
  }

  // Retry at once (after the extension started dsd, say) instead of waiting
  // out the backoff.
  reconnectNow(): void {
    if (this.disposed || this.watch) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.backoffMs = undefined;
    this.connect();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    this.watch?.cancel();
    this.watch = undefined;
    this.removeAllListeners();
  }

  private set(view: StatusView): void {
    this.current = view;
    this.emit('change', view);
  }

  private connect(): void {
    if (this.disposed) return;
    this.watch = this.client.watchCurrent(
        this.ws,
        (answer) => {
          this.backoffMs = undefined;  // a live stream: start over next time
          this.set(describeCurrent(answer));
        },
        (err) => this.lost(err),
    );
  }

  private lost(err: DsdError): void {
    this.watch = undefined;
    if (this.disposed) return;
    // Fresh channels next time: the old one waits out gRPC's own backoff.
    this.client.reset();
    this.backoffMs = nextBackoff(this.backoffMs, this.backoff);
    this.set({
      label: err.unreachable ? 'ds: dsd not running' : 'ds: error',
      tooltip: err.unreachable ? `${err.message}. Retrying; "ds: Switch branch" starts dsd.` :
                                 `${err.message}. Retrying.`,
      severity: 'error',
      connected: false,
    });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, this.backoffMs);
  }
}
