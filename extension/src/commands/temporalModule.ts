// AnimateDiff: Open temporal_module.py — the scratchpad copy of the motion module the lesson step explains.
import * as vscode from 'vscode';
import type { Studio } from '../studio';
import { existingScratchpadFile } from './scratchpadFile';

export const TEMPORAL_MODULE_REL = ['animatediff_ttnn', 'temporal_module.py'];

export async function openTemporalModule(studio: Studio): Promise<void> {
  const file = await existingScratchpadFile(TEMPORAL_MODULE_REL);
  if (!file) return;
  await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false });
  await studio.walkthrough.markDone('motionModuleDone'); // the step is done once the module has been opened
}
