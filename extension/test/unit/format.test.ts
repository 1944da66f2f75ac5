import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatEta, formatProgressLine, formatStepCounter, overallFraction } from '../../src/format';

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
