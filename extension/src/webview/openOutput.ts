import * as vscode from 'vscode';
import type { Log } from '../log';
import { isOpenableOutput } from './outputRoots';

/** Open a file a webview asked for, but only a run output inside the panel's allowed roots. */
export async function openRunOutput(file: string, allowedRoots: readonly string[], log: Log): Promise<void> {
  if (!isOpenableOutput(file, allowedRoots)) {
    log.warn(`Refused to open ${file}: not a run output`);
    return;
  }
  await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file));
}
