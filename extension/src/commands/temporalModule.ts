// AnimateDiff: Open temporal_module.py — the scratchpad copy of the motion module the lesson step explains.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readConfig } from '../config';
import type { Studio } from '../studio';
import { CommandIds } from '../commandIds';

export const TEMPORAL_MODULE_REL = ['animatediff_ttnn', 'temporal_module.py'];

export async function openTemporalModule(studio: Studio): Promise<void> {
  const file = path.join(readConfig().scratchpadPath, ...TEMPORAL_MODULE_REL);
  if (!existsSync(file)) {
    const pick = await vscode.window.showWarningMessage(
      `AnimateDiff: ${file} does not exist yet. Deploy the project to your scratchpad first.`,
      'Deploy Project',
    );
    if (pick) await vscode.commands.executeCommand(CommandIds.deployProject);
    return;
  }
  await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false });
  await studio.walkthrough.markDone('motionModuleDone'); // the step is done once the module has been opened
}
