// AnimateDiff: Open ttnn_pipeline.py — the user's scratchpad copy, cursor on PERTURBATION_STRENGTH.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readConfig } from '../config';
import { PERTURBATION_CONSTANT, TTNN_PIPELINE_REL, findConstant } from '../pythonSource';
import { CommandIds } from '../commandIds';

export function ttnnPipelinePath(): string {
  return path.join(readConfig().scratchpadPath, ...TTNN_PIPELINE_REL);
}

export async function openTtnnPipeline(): Promise<void> {
  const file = ttnnPipelinePath();
  if (!existsSync(file)) {
    const pick = await vscode.window.showWarningMessage(
      `AnimateDiff: ${file} does not exist yet. Deploy the project to your scratchpad first.`,
      'Deploy Project',
    );
    if (pick) await vscode.commands.executeCommand(CommandIds.deployProject);
    return;
  }
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const at = findConstant(doc.getText(), PERTURBATION_CONSTANT);
  const selection = at ? new vscode.Range(at.line, at.valueStart, at.line, at.valueEnd) : undefined;
  const editor = await vscode.window.showTextDocument(doc, { selection, preview: false });
  if (selection) editor.revealRange(selection, vscode.TextEditorRevealType.InCenter);
  else void vscode.window.showWarningMessage(`AnimateDiff: ${PERTURBATION_CONSTANT} is no longer in ${path.basename(file)}; did you rename it?`);
}
