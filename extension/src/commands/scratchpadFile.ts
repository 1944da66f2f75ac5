// A file of the deployed scratchpad, or — when it is not there yet — an offer to deploy first.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readConfig } from '../config';
import { CommandIds } from '../commandIds';

export function scratchpadFile(rel: readonly string[]): string {
  return path.join(readConfig().scratchpadPath, ...rel);
}

/** The file's path when it exists; otherwise undefined, after offering to run Deploy Project. */
export async function existingScratchpadFile(rel: readonly string[]): Promise<string | undefined> {
  const file = scratchpadFile(rel);
  if (existsSync(file)) return file;
  const pick = await vscode.window.showWarningMessage(
    `AnimateDiff: ${file} does not exist yet. Deploy the project to your scratchpad first.`,
    'Deploy Project',
  );
  if (pick) await vscode.commands.executeCommand(CommandIds.deployProject);
  return undefined;
}
