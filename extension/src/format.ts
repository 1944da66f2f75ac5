// Human-readable progress text shared by the progress notification and the preview webview.
import type { EstimateResult, ProgressNotification } from './protocol';

/** "12 s", "1:05", "1:02:03"; rounds up so a countdown never shows 0 s while work remains. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const total = Math.ceil(seconds);
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** "ETA 1:05" or "ETA —" while the sidecar cannot estimate yet (first step, loading). */
export function formatEta(etaS: number | null | undefined): string {
  if (etaS === null || etaS === undefined) return 'ETA —';
  return `ETA ${formatDuration(etaS)}`;
}

/** "step 3/25 · frame 2/8" (Phase 2, frame-by-frame) or "step 3/25 · all 8 frames" (Phase 1). */
export function formatStepCounter(p: Pick<ProgressNotification, 'step' | 'totalSteps' | 'frame' | 'totalFrames'>): string {
  const frames = p.frame === null ? `all ${p.totalFrames} frames` : `frame ${p.frame + 1}/${p.totalFrames}`;
  return `step ${p.step}/${p.totalSteps} · ${frames}`;
}

/** Share of the whole run's denoising that is done, 0..1 (Phase 2 denoises frame after frame). */
export function overallFraction(p: Pick<ProgressNotification, 'step' | 'totalSteps' | 'frame' | 'totalFrames'>): number {
  if (p.totalSteps <= 0) return 0;
  const stepShare = Math.min(Math.max(p.step / p.totalSteps, 0), 1);
  if (p.frame === null || p.totalFrames <= 0) return stepShare;
  return Math.min((p.frame + stepShare) / p.totalFrames, 1);
}

/** One line for the progress notification: "denoising · step 3/25 · frame 2/8 · ETA 0:42". */
export function formatProgressLine(p: ProgressNotification): string {
  if (p.stage !== 'denoising') return `${p.stage}…`;
  return `${formatStepCounter(p)} · ${formatEta(p.etaS)}`;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '?';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** A rounded duration for an estimate: "about 40 s", "about 4 min", "about 1 h 10 min" (never false precision). */
export function formatAbout(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'an unknown time';
  if (seconds < 90) return `about ${Math.max(5, Math.round(seconds / 5) * 5)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  return `about ${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
}

/** One line for a studio/estimate answer; `guess` when it does not rest on this machine's own runs. */
export function describeEstimate(e: EstimateResult): { text: string; guess: boolean } {
  if (e.totalS === null) return { text: e.note, guess: true };
  const guess = e.basis !== 'job' && e.basis !== 'scaled';
  return { text: `${formatAbout(e.totalS)} on this machine${guess ? ' — ' : ' ('}${e.note}${guess ? '' : ')'}`, guess };
}

/** The stages of an estimate, for a tooltip: "load 28 s · encode 1 s · denoise 2:24 · VAE decode 49 s · …". */
export function estimateStages(e: EstimateResult): string {
  if (!e.stages) return '';
  const s = e.stages;
  const parts: [string, number][] = [['load', s.loadS], ['encode', s.encodeS], ['denoise', s.denoiseS],
    ['VAE decode', s.decodeS], ['export', s.exportS], ['the rest', s.otherS]];
  return parts.map(([name, v]) => `${name} ${formatDuration(v)}`).join(' · ') + (e.modelsLoaded ? ' (models already loaded)' : '');
}
