// Messages the extension posts to its webviews (media/preview.js and media/gallery.js read them).
import type { RunForm } from '../params';

export type BlackholeState = { state: 'unknown' } | { state: 'available'; reason: string } | { state: 'unavailable'; reason: string };

/** One run the form can start and how long it would take here (run/estimates.ts). */
export interface EstimateLine {
  phase: 1 | 2 | 3;
  preset: string | null; // Phase 1: the preset it is for
  label: string;
  text: string; // "about 4 min on this machine (from your 2 runs of this job here)"
  basis: string; // studio/estimate's basis
  guess: boolean; // not from this machine's own runs
  detail: string; // the stages, for a tooltip
}

export interface OutputLink {
  label: string;
  path: string;
}

export type PreviewOutbound =
  | { type: 'init'; form: RunForm; blackhole: BlackholeState; running: boolean; presetNote: string | null }
  | { type: 'estimates'; lines: EstimateLine[] }
  | { type: 'environment'; blackhole: BlackholeState }
  | { type: 'runStarted'; phase: 1 | 2 | 3; label: string; totalFrames: number; totalSteps: number; estimate: string | null }
  | { type: 'status'; state: 'idle' | 'running' | 'completed' | 'cancelled' | 'error'; message: string }
  | {
      type: 'progress';
      stage: string;
      step: number;
      totalSteps: number;
      frame: number | null;
      totalFrames: number;
      counter: string;
      eta: string;
      etaKnown: boolean; // false until the sidecar can measure one (the form's estimate stays shown meanwhile)
      fraction: number;
    }
  | { type: 'preview'; step: number; totalSteps: number; frame: number | null; totalFrames: number; frames: string[] }
  | { type: 'frameDone'; frame: number; totalFrames: number; png: string; step: number }
  | { type: 'completed'; gifUri: string | null; gifPath: string | null; links: OutputLink[]; summary: string; scheduleRows: ScheduleRow[] }
  | { type: 'cancelled'; message: string }
  | { type: 'error'; message: string; actions: { title: string }[] }
  | { type: 'formErrors'; errors: string[] };

export interface RunCard {
  runId: string;
  phase: 1 | 2 | 3;
  phaseLabel: string;
  prompt: string;
  created: string;
  thumbUri: string | null;
  gifPath: string | null;
  metadataPath: string;
  params: { label: string; value: string }[];
  timings: { label: string; value: string }[];
  backend: string;
  device: string;
  perturbationStrength: number | null;
  /** The temporal-coherence figure, one row per measure (empty for runs recorded before it existed). */
  coherence: { label: string; value: string }[];
}

export type GalleryOutbound =
  | { type: 'runs'; runs: RunCard[]; outputDirs: string[]; skipped: { file: string; reason: string }[] }
  | { type: 'error'; message: string }
  | { type: 'loading' };

/** One entry of a run's prompt schedule as the run record states it (Python's schedule_rows). */
export interface ScheduleRow {
  fromFrame: number;
  toFrame: number;
  prompt: string;
}
