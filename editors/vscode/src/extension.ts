// The VS Code side: wires StatusModel to a StatusBarItem and the command
// flows to QuickPick, modal and input box. Every decision is made in the
// modules it imports (tested under node against a real dsd); nothing here
// but glue.
import * as path from 'node:path';
import * as vscode from 'vscode';

import {createBranch, Outcome, Prompter, switchBranch} from './commands';
import {DsdClient} from './dsd_client';
import {socketPath} from './paths';
import {StatusModel, StatusView} from './status_model';

const prompter: Prompter = {
  pickBranch: (picks) => vscode.window.showQuickPick(
      picks, {placeHolder: 'Branch for the target database', matchOnDescription: true}),
  confirm: async (message, action) =>
      (await vscode.window.showWarningMessage(message, {modal: true}, action)) === action,
  branchName: (validate) => vscode.window.showInputBox(
      {prompt: 'New branch (created from the default branch)', validateInput: validate}),
  withProgress: (title, work) => vscode.window.withProgress(
      {location: vscode.ProgressLocation.Notification, title},
      (progress) => work((line) => progress.report({message: line}))),
};

// The protos ship beside the bundle (dist/extension.js), in proto/.
function newClient(context: vscode.ExtensionContext): DsdClient {
  const dsPath = vscode.workspace.getConfiguration('ds').get<string>('path') || 'ds';
  return new DsdClient({
    socketPath: socketPath(process.env, process.geteuid!()),
    dsPath,
    env: process.env,
    protoDir: path.join(context.extensionPath, 'proto'),
  });
}

function show(item: vscode.StatusBarItem, view: StatusView): void {
  item.text = `$(database) ${view.label}`;
  item.tooltip = view.tooltip;
  item.backgroundColor = view.severity === 'warning' ?
      new vscode.ThemeColor('statusBarItem.warningBackground') :
      view.severity === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') :
                                  undefined;
}

export function activate(context: vscode.ExtensionContext): void {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder || folder.uri.scheme !== 'file') {
    // The commands still answer (VS Code activates on them), saying why not.
    const why = () => void vscode.window.showErrorMessage(
        'ds: open the folder that holds your .env (a local folder) first');
    context.subscriptions.push(
        vscode.commands.registerCommand('ds.switchBranch', why),
        vscode.commands.registerCommand('ds.createBranch', why));
    return;
  }
  // The watch and the commands use separate channels, so that resetting one
  // after dsd went away never cuts the other's call short.
  const watchClient = newClient(context);
  const commandClient = newClient(context);
  const ws = commandClient.workspace(folder.uri.fsPath);
  const model = new StatusModel(watchClient, ws);
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  item.command = 'ds.switchBranch';
  show(item, model.view);
  item.show();
  model.on('change', (v: StatusView) => show(item, v));

  const run = (flow: typeof switchBranch) => async () => {
    try {
      const outcome: Outcome = await flow(commandClient, ws, prompter);
      if (outcome.done) void vscode.window.showInformationMessage(outcome.message);
    } catch (e) {
      void vscode.window.showErrorMessage(`ds: ${(e as Error).message}`);
    }
    model.reconnectNow();  // the flow may have started dsd
  };
  context.subscriptions.push(
      item,
      vscode.commands.registerCommand('ds.switchBranch', run(switchBranch)),
      vscode.commands.registerCommand('ds.createBranch', run(createBranch)),
      {dispose: () => model.dispose()},
      {dispose: () => watchClient.close()},
      {dispose: () => commandClient.close()},
  );
  // Start dsd as `ds` would, then watch; a failure shows in the status bar
  // and the model keeps retrying.
  commandClient.ensureDaemon()
      .catch((e: Error) => void vscode.window.showWarningMessage(`ds: ${e.message}`))
      .finally(() => model.start());
}

export function deactivate(): void {}

// The logic inside the bundle, so that the packaging test can run the very
// code (and bundled gRPC) that ships against a real dsd.
export {DsdClient, socketPath};
