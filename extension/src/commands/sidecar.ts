// AnimateDiff: Restart Sidecar.
import * as vscode from 'vscode';
import { describeError } from '../errors';
import { showError } from '../errorActions';
import type { RunController } from '../run/runController';
import type { Studio } from '../studio';

export async function restartSidecar(studio: Studio, runs: RunController): Promise<void> {
  if (runs.isRunning) {
    const pick = await vscode.window.showWarningMessage('AnimateDiff: a run is in progress; restarting the sidecar stops it.', 'Restart Anyway');
    if (!pick) return;
  }
  try {
    const hs = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'AnimateDiff: restarting the sidecar…' },
      () => studio.client.restart(),
    );
    studio.environment.invalidate();
    void vscode.window.showInformationMessage(
      `AnimateDiff: sidecar ${hs.serverVersion} restarted (pid ${studio.client.pid}, Python ${hs.python.version}, pipeline from the ${hs.pipelineSource.kind}).`,
    );
  } catch (err) {
    await showError(describeError(err), studio.log, 'AnimateDiff sidecar did not start');
  }
}
