// Shows an ErrorView as a notification with its action buttons, and runs the action picked
// (from the notification or from the preview webview's error box).
import * as vscode from 'vscode';
import { CommandIds } from './commandIds';
import type { ErrorAction, ErrorView } from './errors';
import type { Log } from './log';

export async function runErrorAction(action: ErrorAction, log: Log): Promise<void> {
  switch (action.id) {
    case 'openUserCode': {
      if (!action.file) return;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(action.file));
      const line = Math.max(0, Math.min((action.line ?? 1) - 1, doc.lineCount - 1));
      const range = doc.lineAt(line).range;
      await vscode.window.showTextDocument(doc, { selection: range, preview: false });
      return;
    }
    case 'openSettings':
      await vscode.commands.executeCommand('workbench.action.openSettings', action.setting ?? 'animatediff');
      return;
    case 'showLog':
      log.show();
      return;
    case 'downloadModels':
      await vscode.commands.executeCommand(CommandIds.downloadModels, action.preset ? { preset: action.preset } : undefined);
      return;
    case 'runPhase2Cpu':
      await vscode.commands.executeCommand(CommandIds.runPhase2Cpu);
      return;
    case 'runPhase3':
      await vscode.commands.executeCommand(CommandIds.runPhase3);
      return;
    case 'cancelRun':
      await vscode.commands.executeCommand(CommandIds.cancelRun);
      return;
    case 'restartSidecar':
      await vscode.commands.executeCommand(CommandIds.restartSidecar);
      return;
    case 'openPreview':
      await vscode.commands.executeCommand(CommandIds.openPreview);
      return;
    case 'deployProject':
      await vscode.commands.executeCommand(CommandIds.deployProject);
      return;
  }
}

/** Logs the error (with its detail) and shows it; resolves once the user picked or dismissed. */
export async function showError(view: ErrorView, log: Log, prefix = 'AnimateDiff'): Promise<void> {
  log.error(view.detail ? `${view.message}\n${view.detail}` : view.message);
  const picked = await vscode.window.showErrorMessage(`${prefix}: ${view.message}`, ...view.actions.map((a) => a.title));
  const action = view.actions.find((a) => a.title === picked);
  if (action) await runErrorAction(action, log);
}
