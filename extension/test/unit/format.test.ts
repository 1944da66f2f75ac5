import { describe, expect, it } from 'vitest';
import { describeEstimate, estimateStages, formatAbout, formatBytes, formatDuration, formatEta, formatProgressLine, formatStepCounter, overallFraction } from '../../src/format';

describe('ETA and durations', () => {
  it('formats seconds, minutes and hours, rounding up', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(0.2)).toBe('1 s');
    expect(formatDuration(59.4)).toBe('1:00');
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3723)).toBe('1:02:03');
  });

  it('shows a dash for unknown or nonsense values', () => {
    expect(formatEta(null)).toBe('ETA —');
    expect(formatEta(undefined)).toBe('ETA —');
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
    expect(formatEta(42)).toBe('ETA 42 s');
  });
});

describe('step counter and overall progress', () => {
  const base = { step: 3, totalSteps: 25, totalFrames: 8 };

  it('names the frame in Phase 2 (1-based for people) and all frames in Phase 1', () => {
    expect(formatStepCounter({ ...base, frame: 1 })).toBe('step 3/25 · frame 2/8');
    expect(formatStepCounter({ ...base, frame: null })).toBe('step 3/25 · all 8 frames');
  });

  it('counts Phase 2 progress across frames', () => {
    expect(overallFraction({ ...base, step: 25, frame: null })).toBe(1);
    expect(overallFraction({ step: 5, totalSteps: 10, frame: null, totalFrames: 4 })).toBe(0.5);
    expect(overallFraction({ step: 5, totalSteps: 10, frame: 1, totalFrames: 4 })).toBeCloseTo(1.5 / 4);
    expect(overallFraction({ step: 10, totalSteps: 10, frame: 3, totalFrames: 4 })).toBe(1);
    expect(overallFraction({ step: 0, totalSteps: 0, frame: null, totalFrames: 4 })).toBe(0);
  });

  it('describes non-denoising stages by name', () => {
    const p = { runId: 'r', phase: 1 as const, step: 0, totalSteps: 25, frame: null, totalFrames: 8, elapsedS: 1, etaS: null };
    expect(formatProgressLine({ ...p, stage: 'loading' })).toBe('loading…');
    expect(formatProgressLine({ ...p, stage: 'denoising', step: 3, etaS: 30 })).toBe('step 3/25 · all 8 frames · ETA 30 s');
  });

  it('formats byte counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2_700_000_000)).toBe('2.7 GB');
    expect(formatBytes(null)).toBe('?');
  });
});

describe('estimates before a run', () => {
  const base = { stages: { loadS: 28, encodeS: 0.1, denoiseS: 144, decodeS: 50, exportS: 1.6, otherS: 0 }, runs: 1, modelsLoaded: false };

  it('rounds to what an estimate can promise', () => {
    expect(formatAbout(12)).toBe('about 10 s');
    expect(formatAbout(1)).toBe('about 5 s');
    expect(formatAbout(224)).toBe('about 4 min');
    expect(formatAbout(1652)).toBe('about 28 min');
    expect(formatAbout(4200)).toBe('about 1 h 10 min');
    expect(formatAbout(Number.NaN)).toBe('an unknown time');
  });

  it('says when an estimate is a guess, and why there is none', () => {
    expect(describeEstimate({ ...base, totalS: 224, basis: 'job', note: 'from your 2 runs of this job here' }))
      .toEqual({ text: 'about 4 min on this machine (from your 2 runs of this job here)', guess: false });
    const guess = describeEstimate({ ...base, totalS: 224, basis: 'calibration', note: 'a guess: no Phase 1 run here yet' });
    expect(guess).toEqual({ text: 'about 4 min on this machine — a guess: no Phase 1 run here yet', guess: true });
    expect(describeEstimate({ ...base, stages: null, totalS: null, basis: 'none', note: 'no estimate: Phase 2 has not run on a card here' }))
      .toEqual({ text: 'no estimate: Phase 2 has not run on a card here', guess: true });
  });

  it('lists the stages for the tooltip, load included', () => {
    expect(estimateStages({ ...base, totalS: 224, basis: 'job', note: '' }))
      .toBe('load 28 s · encode 1 s · denoise 2:24 · VAE decode 50 s · export 2 s · the rest 0 s');
  });
});
