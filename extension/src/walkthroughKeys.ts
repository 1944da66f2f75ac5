// The walkthrough's id and its completion keys (`onContext:animatediff.<key>` in package.json). Pure.
export const WALKTHROUGH_ID = 'animatediff';

export const DONE_KEYS = [
  'environmentDone',
  'deployDone',
  'modelsDone',
  'phase1Done',
  'phase2Done',
  'outputsDone',
  'editRerunDone',
  'longerDirectedDone',
  'motionModuleDone',
  'phase3Done',
] as const;
export type DoneKey = (typeof DONE_KEYS)[number];
