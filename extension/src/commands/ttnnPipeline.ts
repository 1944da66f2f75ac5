// AnimateDiff: Open ttnn_pipeline.py — the user's scratchpad copy, cursor on PERTURBATION_STRENGTH.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PERTURBATION_CONSTANT, TTNN_PIPELINE_REL, findConstant } from '../pythonSource';
import { existingScratchpadFile, scratchpadFile } from './scratchpadFile';

export function ttnnPipelinePath(): string {
  return scratchpadFile(TTNN_PIPELINE_REL);
}

export async function openTtnnPipeline(): Promise<void> {
  const file = await existingScratchpadFile(TTNN_PIPELINE_REL);
  if (!file) return;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const at = findConstant(doc.getText(), PERTURBATION_CONSTANT);
  const selection = at ? new vscode.Range(at.line, at.valueStart, at.line, at.valueEnd) : undefined;
  const editor = await vscode.window.showTextDocument(doc, { selection, preview: false });
  if (selection) editor.revealRange(selection, vscode.TextEditorRevealType.InCenter);
  else void vscode.window.showWarningMessage(`AnimateDiff: ${PERTURBATION_CONSTANT} is no longer in ${path.basename(file)}; did you rename it?`);
}
