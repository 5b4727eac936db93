// "ds: Switch branch" and "ds: Create branch" as flows over a Prompter, the
// seam to the editor's UI (a QuickPick, a modal, an input box in VS Code).
// No `vscode` import: tested under plain node against a real dsd.
import {Branch, DsdClient, DsdError, WorkspaceRef} from './dsd_client';

export interface BranchPick {
  label: string;
  description: string;
  detail: string;
  branch: Branch;
}

export interface Prompter {
  // Undefined when the user dismissed the list.
  pickBranch(picks: BranchPick[]): PromiseLike<BranchPick|undefined>;
  // A modal question; true only when the user chose `action`.
  confirm(message: string, action: string): PromiseLike<boolean>;
  // Undefined when the user dismissed the box. `validate` returns the
  // problem with a name, or undefined when it is acceptable.
  branchName(validate: (name: string) => string | undefined): PromiseLike<string|undefined>;
  // Runs `work` while showing `title` and the lines it reports.
  withProgress<T>(title: string, work: (report: (line: string) => void) => Promise<T>):
      PromiseLike<T>;
}

// What a flow ends with: a message to show, or nothing (the user said no
// or dismissed a question).
export interface Done {
  done: true;
  message: string;
}
export interface Dismissed {
  done: false;
}
export type Outcome = Done|Dismissed;

// What the picker lists: the target first, then default and protected
// branches, then the rest by name; each says what it is.
export function branchPicks(branches: Branch[]): BranchPick[] {
  const rank = (b: Branch) => (b.is_target ? 0 : b.is_default ? 1 : b.protected ? 2 : 3);
  return [...branches]
      .sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))
      .map((b) => {
        const marks = [
          b.is_target ? 'target' : '',
          b.is_source ? 'source' : '',
          b.is_default ? 'default' : '',
          b.protected ? 'protected' : '',
        ].filter(Boolean);
        const from = b.parent_name ? `from ${b.parent_name}` : '';
        return {
          label: b.name,
          description: marks.join(' · '),
          detail: [b.provider, from, b.created_at].filter(Boolean).join(' · '),
          branch: b,
        };
      });
}

// What the input box refuses before asking dsd, which checks the rest
// (length, characters) and answers with its own message.
export function checkBranchName(name: string): string|undefined {
  if (name.trim() === '') return 'Type a branch name';
  if (name !== name.trim()) return 'A branch name cannot start or end with a space';
  return undefined;
}

function protectedQuestion(name: string, b: Pick<Branch, 'protected'|'is_default'>): string {
  let what = 'a protected';
  if (b.is_default) what = b.protected ? 'the default, protected' : 'the default';
  return `"${name}" is ${what} branch. Point the workspace's target database at it? ` +
      `Your app's writes will reach shared data.`;
}

function withNotices(message: string, notices: string[]): string {
  return [message, ...notices].join(' ');
}

// Runs `call` without allow_protected first; when dsd refuses because the
// branch is protected or default (FAILED_PRECONDITION, which names the
// branch), asks and retries with it.
async function confirmingRetry<T>(
    prompter: Prompter,
    call: (allow: boolean) => Promise<T>,
    allowFirst: boolean,
    ): Promise<T|undefined> {
  try {
    return await call(allowFirst);
  } catch (e) {
    if (allowFirst || !(e instanceof DsdError) || !e.needsConfirmation) throw e;
    if (!(await prompter.confirm(e.message, 'Switch anyway'))) return undefined;
    return call(true);
  }
}

export async function switchBranch(
    client: DsdClient, ws: WorkspaceRef, prompter: Prompter): Promise<Outcome> {
  await client.ensureDaemon();
  const picked = await prompter.pickBranch(branchPicks(await client.listBranches(ws)));
  if (!picked) return {done: false};
  const b = picked.branch;
  if (b.is_target) return {done: true, message: `The target is already ${b.name}.`};
  const risky = b.protected || b.is_default;
  if (risky && !(await prompter.confirm(protectedQuestion(b.name, b), 'Switch')))
    return {done: false};
  const r = await confirmingRetry(prompter, (allow) => client.setTarget(ws, b.name, allow), risky);
  if (!r) return {done: false};
  return {
    done: true,
    message: withNotices(
        `${r.variable} in ${r.env_file} now points at ${b.name}. Restart your backend to use it.`,
        r.notices),
  };
}

export async function createBranch(
    client: DsdClient, ws: WorkspaceRef, prompter: Prompter): Promise<Outcome> {
  const name = await prompter.branchName(checkBranchName);
  if (name === undefined) return {done: false};
  await client.ensureDaemon();
  const create = (allow: boolean) => Promise.resolve(prompter.withProgress(
      `Creating branch ${name}`, (report) => client.createAndSwitch(ws, name, allow, report)));
  const r = await confirmingRetry(prompter, create, false);
  if (!r) return {done: false};
  const what = r.existed ? `${name} already existed; ${r.variable} now points at it` :
                           `Created ${name}; ${r.variable} points at it`;
  return {done: true, message: withNotices(`${what}. Restart your backend to use it.`, r.notices)};
}
