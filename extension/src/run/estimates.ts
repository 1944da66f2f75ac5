// The run form's estimates ("about 4 min on this machine"), shown before a run: one per run button, plus
// Quality's when the form is on a faster preset (it is one click away). The arithmetic is the lesson
// package's runtime/estimate.py, asked through studio/estimate; here only which runs to ask about, and words.
import { describeEstimate, estimateStages } from '../format';
import { presetSpec, runLabel, toGenerateParams, type GenerateContext, type RunForm, type RunRequest } from '../params';
import type { EstimateResult } from '../protocol';
import type { SidecarClient } from '../sidecar/client';
import type { Log } from '../log';
import type { EstimateLine } from '../webview/outbound';

export interface EstimateAsk {
  request: RunRequest;
  form: RunForm;
  label: string;
}

/** The runs the form can start, as it would start them; Phase 2 on CPU where there is no card. */
export function asksFor(form: RunForm, blackholeAvailable: boolean | undefined): EstimateAsk[] {
  const phase2: RunRequest = { phase: 2, backend: form.backend === 'blackhole' && blackholeAvailable !== false ? 'blackhole' : 'cpu' };
  const asks: EstimateAsk[] = [
    { request: { phase: 1 }, form, label: `${runLabel({ phase: 1 })}, ${presetSpec(form.preset).title}` },
    { request: phase2, form, label: runLabel(phase2) },
    { request: { phase: 3 }, form, label: runLabel({ phase: 3 }) },
  ];
  if (form.preset !== 'quality') {
    const quality = presetSpec('quality');
    const qualityForm: RunForm = { ...form, preset: 'quality', steps: quality.steps, guidanceScale: quality.guidanceScale };
    asks.splice(1, 0, { request: { phase: 1 }, form: qualityForm, label: `${runLabel({ phase: 1 })}, ${quality.title}: one click away` });
  }
  return asks;
}

export function estimateLine(ask: EstimateAsk, result: EstimateResult): EstimateLine {
  const { text, guess } = describeEstimate(result);
  return { phase: ask.request.phase, preset: ask.request.phase === 1 ? ask.form.preset : null, label: ask.label, text,
    basis: result.basis, guess, detail: estimateStages(result) };
}

export class Estimates {
  private generation = 0;

  constructor(private readonly client: SidecarClient, private readonly log: Log) {}

  /** studio/estimate for one run as the form would start it; undefined when the sidecar cannot say. */
  async of(form: RunForm, request: RunRequest, ctx: GenerateContext): Promise<EstimateResult | undefined> {
    try {
      return await this.client.request('studio/estimate', toGenerateParams(form, request, ctx));
    } catch (err) {
      this.log.warn(`No estimate for ${runLabel(request)}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** Every line of the form; undefined when a newer form has been asked about meanwhile. */
  async lines(form: RunForm, blackholeAvailable: boolean | undefined, ctx: GenerateContext): Promise<EstimateLine[] | undefined> {
    const mine = ++this.generation;
    const lines: EstimateLine[] = [];
    for (const ask of asksFor(form, blackholeAvailable)) {
      const result = await this.of(ask.form, ask.request, ctx);
      if (mine !== this.generation) return undefined;
      if (result) lines.push(estimateLine(ask, result));
    }
    return lines;
  }
}
