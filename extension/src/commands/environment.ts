// AnimateDiff: Check Environment — asks the sidecar what this machine has, reports it, ticks step 1.
import * as vscode from 'vscode';
import { reportEnvironment } from '../environmentReport';
import { describeError } from '../errors';
import { showError } from '../errorActions';
import type { Studio } from '../studio';
import { CommandIds } from '../commandIds';

export async function checkEnvironment(studio: Studio): Promise<void> {
  let env;
  try {
    env = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'AnimateDiff: checking the environment…' },
      () => studio.environment.get(true),
    );
  } catch (err) {
    await showError(describeError(err), studio.log, 'AnimateDiff environment check failed');
    return;
  }
  const report = reportEnvironment(env);
  studio.log.info(`Environment:\n  ${report.lines.join('\n  ')}`);
  await studio.walkthrough.markDone('environmentDone');

  const buttons = ['Show Details'];
  if (!report.deployed) buttons.push('Deploy Project');
  else if (!report.modelsReady) buttons.push('Download Models');
  const show = env.torch.version ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
  const pick = await show(`AnimateDiff environment: ${report.summary}`, ...buttons);
  if (pick === 'Show Details') studio.log.show();
  if (pick === 'Deploy Project') await vscode.commands.executeCommand(CommandIds.deployProject);
  if (pick === 'Download Models') await vscode.commands.executeCommand(CommandIds.downloadModels);
}
