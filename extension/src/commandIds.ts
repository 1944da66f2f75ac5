// Every command this extension contributes (package.json keeps the same list; a unit test checks).
export const CommandIds = {
  checkEnvironment: 'animatediff.checkEnvironment',
  deployProject: 'animatediff.deployProject',
  downloadModels: 'animatediff.downloadModels',
  runPhase1: 'animatediff.runPhase1',
  runPhase2: 'animatediff.runPhase2',
  runPhase2Cpu: 'animatediff.runPhase2Cpu',
  runPhase3: 'animatediff.runPhase3',
  runPhase3Blackhole: 'animatediff.runPhase3Blackhole',
  cancelRun: 'animatediff.cancelRun',
  openPreview: 'animatediff.openPreview',
  openOutputs: 'animatediff.openOutputs',
  openTtnnPipeline: 'animatediff.openTtnnPipeline',
  openTemporalModule: 'animatediff.openTemporalModule',
  restartSidecar: 'animatediff.restartSidecar',
  showLog: 'animatediff.showLog',
  openWalkthrough: 'animatediff.openWalkthrough',
} as const;
