// Entry point: builds the shared services and registers the commands. Activation is lazy
// (a command, the walkthrough), and deactivate stops the sidecar.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RESTART_SETTINGS, readConfig } from './config';
import { checkEnvironment } from './commands/environment';
import { deployProject } from './commands/deploy';
import { CommandIds } from './commandIds';
import { downloadModels } from './commands/models';
import { restartSidecar } from './commands/sidecar';
import { openTemporalModule } from './commands/temporalModule';
import { openTtnnPipeline, ttnnPipelinePath } from './commands/ttnnPipeline';
import { EnvironmentCache } from './environmentCache';
import { describeError } from './errors';
import { showError } from './errorActions';
import { Log } from './log';
import { presetArg } from './params';
import { FormStore } from './run/formStore';
import { PreviewRouter } from './run/previewRouter';
import { RunController } from './run/runController';
import { RunTicks } from './run/runTicks';
import { SidecarClient } from './sidecar/client';
import { buildLaunch } from './sidecar/launch';
import { outputRoots, resolveStudioInterpreter, type Studio } from './studio';
import { GalleryHost } from './webview/galleryPanel';
import { PreviewPanelHost } from './webview/previewPanel';
import { WalkthroughProgress, openWalkthrough } from './walkthrough';

let client: SidecarClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = new Log();
  const extensionRoot = context.extensionUri.fsPath;
  client = new SidecarClient({
    clientName: `vscode-${context.extension.id}`,
    log,
    restartOnCrash: true,
    launch: async () => {
      const config = readConfig();
      const interpreter = await resolveStudioInterpreter();
      log.info(`Python interpreter: ${interpreter.path} (from ${interpreter.source})`);
      const spec = buildLaunch({
        interpreter: interpreter.path,
        extensionRoot,
        scratchpad: config.scratchpadPath,
        ttMetalHome: config.ttMetalHome,
        baseEnv: process.env,
      });
      // Not the user's folder: `python -m` puts the working directory on sys.path.
      return { ...spec, cwd: path.join(extensionRoot, 'python', 'sidecar') };
    },
  });
  const environment = new EnvironmentCache(client);
  const walkthrough = new WalkthroughProgress(context.globalState);
  const studio: Studio = { context, extensionId: context.extension.id, extensionRoot, log, client, environment, walkthrough };
  // The run form's first preset follows the machine's torch devices (params.py device_defaults).
  const forms = new FormStore(context.workspaceState, () => environment.get().then((env) => env.torch.devices, () => undefined));
  const preview: PreviewPanelHost = new PreviewPanelHost(context.extensionUri, log, () => outputRoots(studio), (m, p): Promise<void> => router.route(m, p));
  const runs: RunController = new RunController(studio, preview, forms);
  const router: PreviewRouter = new PreviewRouter(studio, runs, forms);
  const ticks = new RunTicks(walkthrough);
  const gallery = new GalleryHost(studio);
  context.subscriptions.push(log, client, environment, preview, runs, gallery, ticks.follow(runs.onDidComplete));
  await walkthrough.restore();

  const register = (id: string, fn: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          // Last resort: every command failure is visible and logged, never swallowed.
          log.error(`${id} failed: ${(err as Error).stack ?? err}`);
          await showError(describeError(err), log);
          return undefined;
        }
      }),
    );
  register(CommandIds.checkEnvironment, () => checkEnvironment(studio));
  register(CommandIds.deployProject, (arg) => deployProject(studio, runs, arg));
  // An argument {preset} (the "Download Models" fix of a failed run) names whose models; else the run form's preset.
  register(CommandIds.downloadModels, async (arg?: unknown) =>
    downloadModels(studio, presetArg(arg) ?? (await forms.get()).preset));
  register(CommandIds.runPhase1, (arg) => runs.runFromCommand({ phase: 1 }, arg));
  register(CommandIds.runPhase2, (arg) => runs.runFromCommand({ phase: 2, backend: 'blackhole' }, arg));
  register(CommandIds.runPhase2Cpu, (arg) => runs.runFromCommand({ phase: 2, backend: 'cpu' }, arg));
  register(CommandIds.runPhase3, (arg) => runs.runFromCommand({ phase: 3 }, arg));
  register(CommandIds.runPhase3Blackhole, (arg) => runs.runFromCommand({ phase: 3, backend: 'blackhole' }, arg));
  register(CommandIds.cancelRun, () => runs.cancel());
  register(CommandIds.openPreview, () => runs.openPreview());
  register(CommandIds.openOutputs, () => gallery.show());
  register(CommandIds.openTtnnPipeline, () => openTtnnPipeline());
  register(CommandIds.openTemporalModule, () => openTemporalModule(studio));
  register(CommandIds.restartSidecar, () => restartSidecar(studio, runs));
  register(CommandIds.showLog, () => log.show());
  register(CommandIds.openWalkthrough, () => openWalkthrough(context.extension.id));

  context.subscriptions.push(
    runs.onDidComplete(() => void gallery.refresh()),
    client.onDidCrash((err) => {
      environment.invalidate();
      runs.onSidecarCrash();
      // A crash during a run is reported by the run itself; this covers the idle case.
      if (!runs.isRunning) void showError(describeError(err), log);
    }),
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (path.resolve(doc.uri.fsPath) === path.resolve(ttnnPipelinePath())) ticks.noteTtnnPipelineSaved();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) return;
      environment.invalidate();
      if (runs.isRunning) {
        log.info('Settings changed during a run: the sidecar picks them up after it ends (Restart Sidecar).');
        return;
      }
      log.info('Interpreter/scratchpad/tt-metal settings changed: the sidecar restarts on next use.');
      void client?.stop();
    }),
  );
  log.info(`AnimateDiff Lesson Studio ${String((context.extension.packageJSON as { version?: string }).version)} activated`);
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  if (!c) return;
  // Polite shutdown first, but never hold VS Code up for long.
  await Promise.race([c.stop(), new Promise((resolve) => setTimeout(resolve, 4000))]);
  c.dispose();
}
