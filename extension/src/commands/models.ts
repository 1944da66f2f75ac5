// AnimateDiff: Download Models — fetches the configured models into the Hugging Face cache
// (local folders/files are only checked), plus the motion modules of the preset chosen in the run
// form (Lightning checkpoint, AnimateLCM adapter + LoRA), with a cancellable progress notification.
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import * as vscode from 'vscode';
import { readConfig } from '../config';
import { describeError } from '../errors';
import { showError } from '../errorActions';
import { formatBytes } from '../format';
import type { ModelStatus, Preset, UnusedField } from '../protocol';
import type { Studio } from '../studio';

function describeModels(models: ModelStatus[]): string {
  return models.map((m) => `${m.role === 'sd' ? 'Stable Diffusion' : 'motion adapter'} (${m.source})`).join(' and ');
}

/** A setting the preset does not use (the motion adapter with Lightning): said, not silently skipped. */
function describeUnused(unused: UnusedField[]): string {
  return unused.map((u) => ` ${u.field === 'models.motionAdapter' ? 'Your motion adapter setting' : u.field} is not used: ${u.reason}.`).join('');
}

export async function downloadModels(studio: Studio, preset?: Preset): Promise<void> {
  const { models } = readConfig();
  const client = studio.client;
  let unused = '';
  try {
    const status = await client.request('studio/modelsStatus', { models, preset });
    unused = describeUnused(status.unused);
    if (unused) studio.log.info(`Models for the ${preset ?? 'quality'} preset:${unused}`);
    if (status.models.every((m) => m.available)) {
      await studio.walkthrough.markDone('modelsDone');
      void vscode.window.showInformationMessage(`AnimateDiff: models are ready: ${describeModels(status.models)}.${unused}`);
      return;
    }
  } catch (err) {
    await showError(describeError(err), studio.log, 'AnimateDiff model check failed');
    return;
  }

  const downloadId = `download-${Date.now()}`;
  const cts = new CancellationTokenSource();
  let result;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'AnimateDiff: downloading models', cancellable: true },
      async (progress, token) => {
        const sub = client.onNotification('studio/downloadProgress', (p) => {
          if (p.downloadId !== downloadId) return;
          const name = path.basename(p.file) || p.source;
          progress.report({ message: `${name}: ${formatBytes(p.bytes)}${p.totalBytes > 0 ? ` of ${formatBytes(p.totalBytes)}` : ''}` });
        });
        token.onCancellationRequested(() => {
          client.request('studio/cancel', { downloadId }).catch(() => undefined);
          cts.cancel();
        });
        try {
          return await client.request('studio/downloadModels', { models, downloadId, preset }, cts.token);
        } finally {
          sub.dispose();
          cts.dispose();
        }
      },
    );
  } catch (err) {
    const view = describeError(err);
    if (view.kind === 'cancelled') {
      void vscode.window.showInformationMessage('AnimateDiff: download cancelled. Files already fetched stay in the cache.');
      return;
    }
    await showError(view, studio.log, 'AnimateDiff download failed');
    return;
  }
  const missing = result.models.filter((m) => !m.available);
  if (missing.length === 0) {
    await studio.walkthrough.markDone('modelsDone');
    studio.environment.invalidate();
    void vscode.window.showInformationMessage(`AnimateDiff: models are ready: ${describeModels(result.models)}.${unused}`);
    return;
  }
  const fixes = missing.map((m) => `${m.source}: ${m.fix ?? 'not available'}`).join(' · ');
  studio.log.warn(`Models still missing after download: ${fixes}`);
  const pick = await vscode.window.showWarningMessage(`AnimateDiff: some models are still missing. ${fixes}`, 'Model Settings', 'Show Log');
  if (pick === 'Model Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'animatediff.models');
  if (pick === 'Show Log') studio.log.show();
}
