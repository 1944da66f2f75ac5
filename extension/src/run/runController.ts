// One generation at a time: form → studio/generate, with a cancellable progress notification,
// live previews in the preview panel, and the finished GIF and links after. What the panel asks
// for is routed by previewRouter.ts; walkthrough ticks follow onDidComplete (runTicks.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import * as vscode from 'vscode';
import { readConfig } from '../config';
import { CommandIds } from '../commandIds';
import { describeError, type ErrorView } from '../errors';
import { runErrorAction, showError } from '../errorActions';
import { describeEstimate, formatAbout, formatDuration, formatEta, formatProgressLine, formatStepCounter, overallFraction } from '../format';
import { runLabel, toGenerateParams, validateRunForm, withoutCard, type RunForm, type RunRequest } from '../params';
import type { Environment, GenerateResult, Outputs, Preset } from '../protocol';
import { outputRoots, type Studio } from '../studio';
import type { BlackholeState, OutputLink, PreviewOutbound, ScheduleRow } from '../webview/outbound';
import type { PreviewPanelHost } from '../webview/previewPanel';
import { Estimates } from './estimates';
import type { FormStore } from './formStore';
import { RunSnapshot } from './snapshot';

interface ActiveRun {
  request: RunRequest;
  /** Whose models the run needs: its Phase 1 preset; 'quality' (the settings' models) for Phases 2 and 3. */
  modelsOf: Preset;
  label: string;
  runId?: string;
  cts: CancellationTokenSource;
  cancelling: boolean;
  fraction: number;
  frames: number;
  steps: number;
  stage?: string;
  progress?: vscode.Progress<{ message?: string; increment?: number }>;
}

const ESTIMATE_WAIT_MS = 20_000; // an estimate may import torch or calibrate first; a run never waits longer

/** A run that finished with outputs. */
export interface CompletedRun {
  request: RunRequest;
  result: GenerateResult;
}

export class RunController implements vscode.Disposable {
  private readonly snapshot = new RunSnapshot();
  private readonly estimates: Estimates;
  private readonly disposables: vscode.Disposable[] = [];
  private active?: ActiveRun;
  private lastError?: ErrorView;
  private readonly completedEmitter = new vscode.EventEmitter<CompletedRun>();
  /** A run finished with outputs (the gallery refreshes, the walkthrough ticks). */
  readonly onDidComplete = this.completedEmitter.event;

  constructor(
    private readonly studio: Studio,
    readonly preview: PreviewPanelHost,
    private readonly forms: FormStore,
  ) {
    const client = studio.client;
    this.estimates = new Estimates(studio.client, studio.log);
    this.disposables.push(
      this.completedEmitter,
      client.onNotification('studio/progress', (p) => {
        if (!this.isCurrent(p.runId)) return;
        const fraction = overallFraction(p);
        this.post({
          type: 'progress',
          stage: p.stage,
          step: p.step,
          totalSteps: p.totalSteps,
          frame: p.frame,
          totalFrames: p.totalFrames,
          counter: formatStepCounter(p),
          eta: formatEta(p.etaS),
          etaKnown: p.etaS !== null,
          fraction,
        });
        const run = this.active!;
        if (p.stage !== run.stage && !run.cancelling) {
          run.stage = p.stage;
          this.post({ type: 'status', state: 'running', message: `${run.label}: ${p.stage}` });
        }
        const increment = Math.max(0, fraction - run.fraction) * 100;
        run.fraction = Math.max(run.fraction, fraction);
        run.progress?.report({ message: formatProgressLine(p), increment });
      }),
      client.onNotification('studio/preview', (p) => {
        if (!this.isCurrent(p.runId)) return;
        this.post({ type: 'preview', step: p.step, totalSteps: p.totalSteps, frame: p.frame, totalFrames: p.totalFrames, frames: p.frames });
      }),
      client.onNotification('studio/frameDone', (p) => {
        if (!this.isCurrent(p.runId)) return;
        this.post({ type: 'frameDone', frame: p.frame, totalFrames: p.totalFrames, png: p.png, step: this.active!.steps });
      }),
      studio.environment.onDidChange((env) => this.post({ type: 'environment', blackhole: blackholeState(env) })),
    );
  }

  get isRunning(): boolean {
    return !!this.active;
  }

  openPreview(): void {
    this.preview.show();
  }

  /** From the palette or a walkthrough button: the remembered form, optionally overridden by an argument. */
  async runFromCommand(request: RunRequest, override?: unknown): Promise<void> {
    let form = await this.forms.get();
    if (override !== undefined && override !== null) {
      // e.g. executeCommand('animatediff.runPhase1', {steps: 2}): fields over the remembered form
      const checked = validateRunForm(typeof override === 'object' ? { ...form, ...override } : override);
      if (!checked.ok) {
        void vscode.window.showErrorMessage(`AnimateDiff: ${checked.errors.map((e) => e.message).join('; ')}`);
        return;
      }
      form = checked.value;
    }
    await this.run(request, form);
  }

  async run(request: RunRequest, form: RunForm): Promise<void> {
    if (this.active) {
      const pick = await vscode.window.showWarningMessage(`AnimateDiff: ${this.active.label} is still running.`, 'Cancel Run');
      if (pick) await this.cancel();
      return;
    }
    if (request.phase === 2) {
      form = { ...form, backend: request.backend ?? form.backend };
      request = { phase: 2, backend: form.backend };
    }
    const fallback = withoutCard(request);
    if (fallback) {
      const env = await this.studio.environment.get().catch(() => undefined); // unknown: let the sidecar decide
      if (env && !env.blackhole.available) {
        this.post({ type: 'environment', blackhole: blackholeState(env) });
        const pick = await vscode.window.showWarningMessage(
          `AnimateDiff: Phase ${request.phase} on Blackhole is not available here: ${env.blackhole.reason}`,
          fallback.title,
          'Open Settings',
        );
        if (pick === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'animatediff.ttMetalHome');
        if (pick !== fallback.title) return;
        request = fallback.request;
        if (request.phase === 2) form = { ...form, backend: 'cpu' };
      }
    }
    await this.forms.save(form);
    const config = readConfig();
    const params = toGenerateParams(form, request, { device: config.device, dtype: config.dtype, models: config.models });
    const label = runLabel(request);
    const modelsOf = params.phase === 1 ? (params.preset ?? 'quality') : 'quality';
    const run: ActiveRun = { request, modelsOf, label, cts: new CancellationTokenSource(), cancelling: false, fraction: 0, frames: form.numFrames, steps: form.steps };
    this.active = run;
    this.lastError = undefined;
    this.preview.show(true);
    // How long, said before it starts (from this machine's runs, or a calibration: a guess, and it says so).
    const expected = await Promise.race([this.estimates.of(form, request, { device: config.device, dtype: config.dtype, models: config.models }),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ESTIMATE_WAIT_MS))]);
    const estimate = expected ? describeEstimate(expected).text : null;
    if (estimate) this.studio.log.info(`${label}: ${estimate}`);
    this.post({ type: 'runStarted', phase: request.phase, label, totalFrames: form.numFrames, totalSteps: form.steps, estimate });
    const about = expected?.totalS != null ? ` (${formatAbout(expected.totalS)} on this machine)` : '';
    this.post({ type: 'status', state: 'running', message: `${label}: starting${about}` });
    this.studio.log.info(`Run ${label}: ${JSON.stringify(params)}`);

    let after: (() => Promise<void>) | undefined;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `AnimateDiff: ${label}`, cancellable: true },
      async (progress, token) => {
        run.progress = progress;
        token.onCancellationRequested(() => void this.cancel());
        try {
          const result = await this.studio.client.request('studio/generate', params, run.cts.token);
          after = await this.finish(run, result);
        } catch (err) {
          after = this.fail(err, run);
        } finally {
          run.cts.dispose();
          this.active = undefined;
        }
      },
    );
    // Follow-up notifications wait for the user; they must not hold the progress notification open.
    if (after) void after();
  }

  async cancel(): Promise<void> {
    const run = this.active;
    if (!run) {
      void vscode.window.showInformationMessage('AnimateDiff: no run is in progress.');
      return;
    }
    if (run.cancelling) return;
    run.cancelling = true;
    this.post({ type: 'status', state: 'running', message: `${run.label}: cancelling…` });
    this.studio.log.info(`Cancelling ${run.label}${run.runId ? ` (${run.runId})` : ''}`);
    try {
      // Before the first progress we do not know the run id: $/cancelRequest covers that gap.
      const answer = run.runId ? await this.studio.client.request('studio/cancel', { runId: run.runId }) : { cancelled: false };
      if (!answer.cancelled) run.cts.cancel();
    } catch (err) {
      this.studio.log.warn(`studio/cancel failed (${(err as Error).message}); sending $/cancelRequest`);
      run.cts.cancel();
    }
  }

  /** The run form's estimates, posted to the preview panel (a newer form's replace an older one's). */
  async showEstimates(form: RunForm): Promise<void> {
    const env = this.studio.environment.peek();
    const config = readConfig();
    const ctx = { device: config.device, dtype: config.dtype, models: config.models };
    const lines = await this.estimates.lines(form, env ? env.blackhole.available : undefined, ctx);
    if (lines) this.preview.post({ type: 'estimates', lines });
  }

  /** The sidecar died outside a run: nothing to clean up here, but a stale "running" must not stay. */
  onSidecarCrash(): void {
    if (!this.active) this.post({ type: 'status', state: 'idle', message: 'the sidecar restarted' });
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private async finish(run: ActiveRun, result: GenerateResult): Promise<(() => Promise<void>) | undefined> {
    const log = this.studio.log;
    if (result.status === 'cancelled') {
      log.info(`${run.label} cancelled (${result.runId})`);
      this.post({ type: 'cancelled', message: `${run.label} was cancelled; nothing was written.` });
      this.post({ type: 'status', state: 'cancelled', message: `${run.label} was cancelled` });
      return undefined;
    }
    const gif = result.outputs.gif ?? null;
    const creative = creativeOf(result.metadataPath);
    const panel = this.preview.panel;
    panel?.allowFiles([gif, result.metadataPath], outputRoots(this.studio));
    const summary = `${run.frames} frames in ${formatDuration(result.timings.totalS)} · ${result.backend} on ${result.device}` +
      (result.backendReason ? ` (${result.backendReason})` : '') +
      (result.modelsReloaded ? '' : ' · models reused') +
      (result.reloadedModules.length ? ` · reloaded your edits: ${result.reloadedModules.join(', ')}` : '');
    this.post({
      type: 'completed',
      gifUri: gif && panel ? panel.webviewUri(gif) : null,
      gifPath: gif,
      links: outputLinks(result.outputs, result.metadataPath),
      summary,
      scheduleRows: scheduleRows(creative),
    });
    this.post({ type: 'status', state: 'completed', message: `${run.label} finished in ${formatDuration(result.timings.totalS)}` });
    log.info(`${run.label} completed (${result.runId}): ${JSON.stringify(result.outputs)}; timings ${JSON.stringify(result.timings)}`);
    this.completedEmitter.fire({ request: run.request, result });
    void this.forms.get().then((f) => this.showEstimates(f)); // the new run record changes them
    return async () => {
      const pick = await vscode.window.showInformationMessage(
        `AnimateDiff: ${run.label} finished in ${formatDuration(result.timings.totalS)}${gif ? ` → ${path.basename(gif)}` : ''}.`,
        ...(gif ? ['Open GIF'] : []),
        'Open Outputs',
      );
      if (pick === 'Open GIF' && gif) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(gif));
      if (pick === 'Open Outputs') await vscode.commands.executeCommand(CommandIds.openOutputs);
    };
  }

  private fail(err: unknown, run: ActiveRun): () => Promise<void> {
    const described = describeError(err, run.request);
    // "Download Models" fetches what this run needs (a Phase 3 run the quality adapter, even when the
    // run form's preset is Lightning), not what the form's preset needs.
    const view = { ...described, actions: described.actions.map((a) => (a.id === 'downloadModels' ? { ...a, preset: run.modelsOf } : a)) };
    if (view.kind === 'cancelled') {
      this.post({ type: 'cancelled', message: 'The run was cancelled.' });
      this.post({ type: 'status', state: 'cancelled', message: 'cancelled' });
      return async () => undefined;
    }
    this.lastError = view;
    this.post({ type: 'error', message: view.message, actions: view.actions.map((a) => ({ title: a.title })) });
    this.post({ type: 'status', state: 'error', message: view.message });
    return () => showError(view, this.studio.log);
  }

  /** What the preview panel needs when it (re)opens: the messages of the current or last run. */
  replay(): readonly PreviewOutbound[] {
    return this.snapshot.replay();
  }

  /** The button `index` of the last error shown in the panel. */
  async runErrorAction(index: number): Promise<void> {
    const action = this.lastError?.actions[index];
    if (action) await runErrorAction(action, this.studio.log);
  }

  private post(message: PreviewOutbound): void {
    this.snapshot.record(message);
    this.preview.post(message);
  }

  private isCurrent(runId: string): boolean {
    const run = this.active;
    if (!run) return false;
    run.runId ??= runId; // one generation at a time: the first id we hear is ours
    return run.runId === runId;
  }
}

export function blackholeState(env: Environment | undefined): BlackholeState {
  if (!env) return { state: 'unknown' };
  return env.blackhole.available
    ? { state: 'available', reason: env.blackhole.reason }
    : { state: 'unavailable', reason: env.blackhole.reason };
}

/** The run record's `creative` part: what a Phase 1 or 3 run did with windows, schedule, LoRAs, motion scale. */
export function creativeOf(metadataPath: string | null): Record<string, unknown> {
  if (!metadataPath) return {};
  try {
    const creative = JSON.parse(fs.readFileSync(metadataPath, 'utf8'))?.creative;
    return creative && typeof creative === 'object' ? creative : {};
  } catch {
    return {}; // a record we cannot read only loses the rows, not the run
  }
}

/** The prompt schedule's rows from the run record (the Python side computed them; nothing is re-parsed here). */
export function scheduleRows(creative: Record<string, unknown>): ScheduleRow[] {
  const rows = creative.prompt_schedule;
  if (!Array.isArray(rows)) return [];
  return rows
    .filter((r) => Number.isInteger(r?.from_frame) && Number.isInteger(r?.to_frame) && typeof r?.prompt === 'string')
    .map((r) => ({ fromFrame: r.from_frame, toFrame: r.to_frame, prompt: r.prompt }));
}

/** A run that used any of lesson 10's controls (Longer and directed) ticks off its walkthrough step. */
export function usedDirectedControls(creative: Record<string, unknown>): boolean {
  const loras = creative.motion_loras;
  return Boolean(creative.context_windows) || scheduleRows(creative).length > 0
    || (Array.isArray(loras) && loras.length > 0) || (typeof creative.motion_scale === 'number' && creative.motion_scale !== 1);
}

function outputLinks(outputs: Outputs, metadataPath: string | null): OutputLink[] {
  const links: OutputLink[] = [];
  for (const [format, file] of Object.entries(outputs)) if (file) links.push({ label: format.toUpperCase(), path: file });
  if (metadataPath) links.push({ label: 'Metadata (JSON)', path: metadataPath });
  return links;
}
