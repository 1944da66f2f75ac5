// AnimateDiff: Deploy Project — copies the bundled lesson package to the scratchpad, asks about
// every file the user changed since the last deploy, records a manifest, then `pip install -e`.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readConfig } from '../config';
import { backupRel, copyRel, hashExisting, listFiles, makeFolder, readManifest, writeManifest } from '../deploy/files';
import { MANIFEST_FILE, describeOrphanedEdits, movedTo, nextManifest, planDeploy, type ConflictResolution, type FileHashes } from '../deploy/manifest';
import { explainPipFailure, pipInstallArgs, runPip } from '../deploy/pip';
import { sidecarPaths } from '../sidecar/launch';
import { resolveStudioInterpreter, type Studio } from '../studio';
import type { RunController } from '../run/runController';
import { CommandIds } from '../commandIds';

/** Optional argument for automation: how to treat changed files without asking. */
export interface DeployArgs {
  onConflict?: ConflictResolution;
}

function parseArgs(raw: unknown): DeployArgs {
  if (typeof raw !== 'object' || raw === null) return {};
  const onConflict = (raw as DeployArgs).onConflict;
  return onConflict === 'keep' || onConflict === 'overwrite' ? { onConflict } : {};
}

export async function deployProject(studio: Studio, runs: RunController, rawArgs?: unknown): Promise<void> {
  const args = parseArgs(rawArgs);
  const log = studio.log;
  if (runs.isRunning) {
    void vscode.window.showWarningMessage('AnimateDiff: a run is in progress; deploy when it has finished (or cancel it).');
    return;
  }
  const config = readConfig();
  const bundleDir = sidecarPaths(studio.extensionRoot).bundleDir;
  const target = config.scratchpadPath;

  // 1. What would change?
  const bundleFiles = await listFiles(bundleDir);
  const bundle = await hashExisting(bundleDir, bundleFiles);
  const read = await readManifest(target);
  if (read.refused) {
    // Trusting it could remove or read files outside the scratchpad: deploy as if there were none.
    const why = `Deploy does not trust ${MANIFEST_FILE} in ${target}: ${read.refused}. It deploys as if it were the first time: every file that differs from the lesson's counts as changed by you (you are asked), and nothing is removed.`;
    log.warn(why);
    void vscode.window.showWarningMessage(`AnimateDiff: ${why}`);
  }
  const previous = read.manifest;
  const current = await hashExisting(target, new Set([...bundleFiles, ...Object.keys(previous?.files ?? {})]));
  const plan = planDeploy(bundle, current, previous);
  log.info(
    `Deploy plan for ${target}: ${plan.add.length} new, ${plan.update.length} updated, ${plan.unchanged.length} unchanged, ` +
      `${plan.conflicts.length} changed by you, ${plan.obsolete.length} obsolete`,
  );

  // 2. Never overwrite a user's edit without asking.
  let resolution: ConflictResolution = 'keep';
  if (plan.conflicts.length) {
    const chosen = args.onConflict ?? (await askAboutConflicts(plan.conflicts, bundleDir, target));
    if (!chosen) {
      log.info('Deploy cancelled: no choice for the changed files.');
      return;
    }
    resolution = chosen;
  }

  // 3. Copy, back up, remove, record.
  const now = new Date();
  const backups: string[] = [];
  await makeFolder(target);
  for (const rel of [...plan.add, ...plan.update]) await copyRel(bundleDir, target, rel);
  if (resolution === 'overwrite') {
    for (const rel of plan.conflicts) {
      backups.push(await backupRel(target, rel, now));
      await copyRel(bundleDir, target, rel);
    }
  }
  for (const rel of plan.obsolete) await fs.rm(path.join(target, ...rel.split('/')), { force: true });
  const version = String((studio.context.extension.packageJSON as { version?: string }).version ?? '');
  await writeManifest(target, nextManifest(bundle, plan, resolution, previous, { deployedAt: now.toISOString(), extensionVersion: version }));
  const copied = plan.add.length + plan.update.length + (resolution === 'overwrite' ? plan.conflicts.length : 0);
  log.info(`Deployed ${copied} file(s) to ${target}${backups.length ? `; backups: ${backups.join(', ')}` : ''}`);
  if (resolution === 'keep' && plan.conflicts.length) log.info(`Kept your versions of: ${plan.conflicts.join(', ')}`);
  if (plan.orphanedEdits.length) log.info(`No longer part of the lesson but edited by you, left in place: ${plan.orphanedEdits.join(', ')}`);

  // 4. pip install -e, so `import animatediff_ttnn` anywhere uses the scratchpad copy.
  if (config.pipInstall && !(await pipInstall(studio, target))) return;

  await studio.walkthrough.markDone('deployDone');
  studio.environment.invalidate();
  // The sidecar picks its pipeline source at start: restart it so it uses the scratchpad now.
  if (studio.client.isRunning && !runs.isRunning) await studio.client.restart().catch((e: Error) => log.warn(`Sidecar restart after deploy failed: ${e.message}`));

  if (plan.orphanedEdits.length) void warnAboutOrphanedEdits(plan.orphanedEdits, bundle, bundleDir, target);
  const kept = resolution === 'keep' && plan.conflicts.length ? ` Kept your ${plan.conflicts.length} changed file(s).` : '';
  const backed = backups.length ? ` Your changed file(s) were backed up as *.bak.` : '';
  const pick = await vscode.window.showInformationMessage(
    `AnimateDiff: deployed to ${target} (${copied} copied, ${plan.unchanged.length} unchanged).${kept}${backed}${config.pipInstall ? ' Installed with pip.' : ''}`,
    'Open ttnn_pipeline.py',
    'Show Log',
  );
  if (pick === 'Open ttnn_pipeline.py') await vscode.commands.executeCommand(CommandIds.openTtnnPipeline);
  if (pick === 'Show Log') log.show();
}

/** Edits to files the lesson no longer has are kept, never deleted; say so, and where each file went. */
async function warnAboutOrphanedEdits(orphans: string[], bundle: FileHashes, bundleDir: string, target: string): Promise<void> {
  const first = orphans.find((rel) => movedTo(rel, bundle) !== undefined);
  const compare = first ? `Compare ${first.split('/').pop()}` : undefined;
  const pick = await vscode.window.showWarningMessage(
    `AnimateDiff: ${describeOrphanedEdits(orphans, bundle)}`,
    ...(compare ? [compare] : []),
  );
  if (first && pick === compare) {
    const to = movedTo(first, bundle)!;
    await vscode.commands.executeCommand(
      'vscode.diff',
      vscode.Uri.file(path.join(target, ...first.split('/'))),
      vscode.Uri.file(path.join(bundleDir, ...to.split('/'))),
      `${first} (yours) ↔ ${to} (lesson)`,
    );
  }
}

async function askAboutConflicts(conflicts: string[], bundleDir: string, target: string): Promise<ConflictResolution | undefined> {
  type Item = vscode.QuickPickItem & { choice: ConflictResolution | 'diff'; rel?: string };
  const list = conflicts.length <= 3 ? conflicts.join(', ') : `${conflicts.slice(0, 3).join(', ')} and ${conflicts.length - 3} more`;
  for (;;) {
    const items: Item[] = [
      { label: '$(check) Keep mine', description: `skip ${conflicts.length} changed file(s), deploy the rest`, choice: 'keep' },
      { label: '$(save) Overwrite with backup', description: 'copy each changed file to <name>.<time>.bak first', choice: 'overwrite' },
      ...conflicts.map((rel): Item => ({ label: `$(diff) Show diff: ${rel}`, description: 'yours ↔ the lesson’s version', choice: 'diff', rel })),
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: `You changed ${list} since the last deploy`,
      placeHolder: 'Keep your versions, overwrite them (with a backup), or look at the differences first',
      ignoreFocusOut: true,
    });
    if (!picked) return undefined;
    if (picked.choice !== 'diff') return picked.choice;
    const rel = picked.rel!;
    await vscode.commands.executeCommand(
      'vscode.diff',
      vscode.Uri.file(path.join(target, ...rel.split('/'))),
      vscode.Uri.file(path.join(bundleDir, ...rel.split('/'))),
      `${rel}: yours ↔ lesson`,
    );
  }
}

async function pipInstall(studio: Studio, target: string): Promise<boolean> {
  const interpreter = await resolveStudioInterpreter();
  const args = pipInstallArgs(target);
  studio.log.info(`Running ${interpreter.path} ${args.join(' ')} (interpreter from ${interpreter.source})`);
  const run = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `AnimateDiff: pip install -e ${target}`, cancellable: true },
    (progress, token) =>
      runPip(
        interpreter.path,
        args,
        (text) => {
          studio.log.raw(text);
          const line = text.trim().split(/\r?\n/).pop();
          if (line) progress.report({ message: line.slice(0, 120) });
        },
        token,
      ),
  );
  if (run.cancelled) {
    void vscode.window.showWarningMessage('AnimateDiff: pip install was cancelled; the files are deployed but not installed.');
    return false;
  }
  if (run.code === 0) return true;
  const hint = explainPipFailure(run.output);
  const pick = await vscode.window.showErrorMessage(
    `AnimateDiff: pip install failed (exit ${run.code ?? 'unknown'}).${hint ? ` ${hint}` : ''}`,
    'Show Log',
    'Choose Interpreter',
  );
  if (pick === 'Show Log') studio.log.show();
  if (pick === 'Choose Interpreter') await vscode.commands.executeCommand('workbench.action.openSettings', 'animatediff.pythonPath');
  return false;
}

