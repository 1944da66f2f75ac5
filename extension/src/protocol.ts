// The sidecar protocol (docs/protocol.md), defined once for the TypeScript side.
// Each message is a zod schema, and its TS type is inferred from it, so the same definition
// types the client and checks messages at run time (drift is logged; the sync test fails on it).
// Python's twin is python/sidecar/animatediff_sidecar/protocol.py; extension/test/protocol keeps
// the two in step.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

/** Requests, client → sidecar. */
export const Methods = {
  handshake: 'studio/handshake',
  environment: 'studio/environment',
  modelsStatus: 'studio/modelsStatus',
  downloadModels: 'studio/downloadModels',
  generate: 'studio/generate',
  cancel: 'studio/cancel',
  runs: 'studio/runs',
  export: 'studio/export',
  estimate: 'studio/estimate',
  shutdown: 'shutdown',
} as const;

/** Notifications, sidecar → client. */
export const Notifications = {
  progress: 'studio/progress',
  preview: 'studio/preview',
  frameDone: 'studio/frameDone',
  downloadProgress: 'studio/downloadProgress',
  log: 'studio/log',
} as const;

/** Notifications, client → sidecar. */
export const ClientNotifications = {
  exit: 'exit',
  /** JSON-RPC's own; vscode-jsonrpc sends it when a request's CancellationToken fires. */
  cancelRequest: '$/cancelRequest',
} as const;

export const ErrorCodes = {
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
  Busy: -32001,
  ModelNotFound: -32002,
  UserCodeError: -32003,
  BackendUnavailable: -32004,
  ProtocolMismatch: -32005,
  OutputFolder: -32006,
  ScratchpadOutdated: -32007,
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

// ---------- shared pieces ----------

const nullableStr = z.string().nullable();
const nullableNum = z.number().nullable();

// the run option's choices (params.py `preset`; protocol-names.test.ts checks them)
export const Preset = z.enum(['quality', 'lightning', 'animatelcm']);
export type Preset = z.infer<typeof Preset>;

export const ModelSources = z.strictObject({
  sd: z.string().optional(),
  motionAdapter: z.string().optional(),
});
export type ModelSources = z.infer<typeof ModelSources>;

export const ModelStatus = z.strictObject({
  role: z.enum(['sd', 'motionAdapter']),
  source: z.string(),
  kind: z.enum(['hub', 'local']),
  available: z.boolean(),
  path: nullableStr,
  sizeBytes: nullableNum,
  fix: nullableStr,
});
export type ModelStatus = z.infer<typeof ModelStatus>;

export const PythonInfo = z.strictObject({ version: z.string(), executable: z.string() });

export const OutputFormat = z.enum(['gif', 'mp4', 'webp', 'png']);
export type OutputFormat = z.infer<typeof OutputFormat>;

export const Outputs = z.strictObject({
  gif: z.string().optional(),
  mp4: z.string().optional(),
  webp: z.string().optional(),
  png: z.string().optional(),
});
export type Outputs = z.infer<typeof Outputs>;

export const Phase = z.union([z.literal(1), z.literal(2), z.literal(3)]);
export type Phase = z.infer<typeof Phase>;

export const Timings = z.strictObject({
  loadS: z.number(),
  encodeS: z.number(),
  firstStepS: nullableNum,
  stepsS: z.array(z.number()),
  denoiseS: z.number(),
  decodeS: z.number(),
  exportS: z.number(),
  totalS: z.number(),
});
export type Timings = z.infer<typeof Timings>;

// ---------- requests ----------

export const HandshakeParams = z.strictObject({
  protocolVersion: z.literal(PROTOCOL_VERSION),
  clientName: z.string(),
});
export type HandshakeParams = z.infer<typeof HandshakeParams>;

export const Handshake = z.strictObject({
  protocolVersion: z.literal(PROTOCOL_VERSION),
  serverVersion: z.string(),
  python: PythonInfo,
  capabilities: z.strictObject({
    torch: z.boolean(),
    diffusers: z.boolean(),
    ttnn: z.boolean(),
    mp4: z.boolean(),
  }),
  missing: z.array(z.string()),
  pipelineSource: z.strictObject({ kind: z.enum(['scratchpad', 'bundle']), path: z.string() }),
});
export type Handshake = z.infer<typeof Handshake>;

// `models`: the sources whose status to report (default: the sidecar's defaults).
export const EnvironmentParams = z.strictObject({ models: ModelSources.optional() });

export const Environment = z.strictObject({
  python: PythonInfo,
  torch: z.strictObject({ version: nullableStr, devices: z.array(z.string()), error: nullableStr }),
  diffusers: nullableStr,
  transformers: nullableStr,
  ttnn: z.strictObject({ importable: z.boolean(), version: nullableStr, error: nullableStr }),
  blackhole: z.strictObject({ available: z.boolean(), deviceCount: z.number(), reason: z.string() }),
  ttMetalHome: z.strictObject({
    value: nullableStr,
    valid: z.boolean(),
    demoPath: nullableStr,
    error: nullableStr,
  }),
  scratchpad: z.strictObject({ path: z.string(), deployed: z.boolean(), version: nullableStr }),
  models: z.array(ModelStatus),
  // The bring-up check of the learner's ttnn_temporal.py: the scratchpad's ttnn venv (null: not made yet) and
  // the command to run there; null when the lesson copy could not say.
  ttnnCheck: z.strictObject({ python: nullableStr, command: z.string() }).nullable(),
});
export type Environment = z.infer<typeof Environment>;

// preset: also the motion modules that few-step preset brings (Lightning checkpoint, AnimateLCM adapter + LoRA)
export const ModelsStatusParams = z.strictObject({ models: ModelSources.optional(), preset: Preset.optional() });
// A field the client gave that the request does not use, and why (the settings' motion adapter with a few-step preset).
export const UnusedField = z.strictObject({ field: z.string(), value: z.string(), reason: z.string() });
export type UnusedField = z.infer<typeof UnusedField>;
// models: exactly what the preset runs (without a preset: the settings' SD model and motion adapter).
export const ModelsStatusResult = z.strictObject({ cacheDir: z.string(), models: z.array(ModelStatus), unused: z.array(UnusedField) });
export type ModelsStatusResult = z.infer<typeof ModelsStatusResult>;

export const DownloadModelsParams = z.strictObject({
  models: ModelSources.optional(),
  downloadId: z.string().optional(),
  preset: Preset.optional(),
});
export const DownloadModelsResult = z.strictObject({ models: z.array(ModelStatus) });
export type DownloadModelsResult = z.infer<typeof DownloadModelsResult>;

export const GenerationInputs = z.strictObject({
  prompt: z.string(),
  negativePrompt: z.string().optional(),
  numFrames: z.number().optional(),
  steps: z.number().optional(),
  guidanceScale: z.number().optional(),
  seed: z.number().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  fps: z.number().optional(),
  formats: z.array(OutputFormat).optional(),
  promptSchedule: z.string().optional(),
  motionLoras: z.string().optional(),
  contextLength: z.number().optional(),
  contextStride: z.number().optional(),
  contextWeighting: z.enum(['pyramid', 'flat', 'delayed_reverse_sawtooth']).optional(),
  noiseType: z.enum(['shuffle_context', 'repeat_context', 'random']).optional(),
});
export type GenerationInputs = z.infer<typeof GenerationInputs>;

export const Backend = z.enum(['auto', 'blackhole', 'torch']);
export type Backend = z.infer<typeof Backend>;
export const TorchDevice = z.enum(['auto', 'cpu', 'cuda', 'mps']);
export type TorchDevice = z.infer<typeof TorchDevice>;
export const Dtype = z.enum(['auto', 'float32', 'bfloat16', 'float16']);
export type Dtype = z.infer<typeof Dtype>;

export const GenerateParams = z.strictObject({
  phase: Phase,
  backend: Backend.optional(),
  device: TorchDevice.optional(),
  preset: Preset.optional(),
  dtype: Dtype.optional(),
  models: ModelSources.optional(),
  params: GenerationInputs,
  perturbationStrength: z.number().optional(),
  motionScale: z.number().optional(),
  outputDir: z.string().optional(),
  previewEvery: z.number().optional(),
});
export type GenerateParams = z.infer<typeof GenerateParams>;

export const GenerateResult = z.strictObject({
  runId: z.string(),
  status: z.enum(['completed', 'cancelled']),
  outputs: Outputs,
  metadataPath: nullableStr,
  backend: z.string(),
  backendReason: z.string(),
  device: z.string(),
  timings: Timings,
  modelsReloaded: z.boolean(),
  reloadedModules: z.array(z.string()),
});
export type GenerateResult = z.infer<typeof GenerateResult>;

export const CancelParams = z.union([
  z.strictObject({ runId: z.string() }),
  z.strictObject({ downloadId: z.string() }),
]);
export type CancelParams = z.infer<typeof CancelParams>;
export const CancelResult = z.strictObject({ cancelled: z.boolean() });

export const RunsParams = z.strictObject({
  outputDir: z.string().optional(),
  limit: z.number().optional(),
});

// Read back from each run's metadata file: params and timings are whatever that run recorded.
export const RunSummary = z.strictObject({
  runId: z.string(),
  phase: Phase,
  prompt: z.string(),
  created: z.string(),
  outputs: Outputs,
  metadataPath: z.string(),
  params: z.record(z.string(), z.unknown()),
  backend: z.string(),
  device: z.string(),
  timings: z.record(z.string(), z.unknown()),
  perturbationStrength: nullableNum,
  // The temporal-coherence figure of the finished frames (outputs/coherence.py); null for older runs.
  coherence: z.record(z.string(), z.number()).nullable(),
});
export type RunSummary = z.infer<typeof RunSummary>;
// A JSON file in the output folder that is not listed as a run, and why (a hand edit, another program's file).
export const SkippedFile = z.strictObject({ path: z.string(), reason: z.string() });
export type SkippedFile = z.infer<typeof SkippedFile>;
export const RunsResult = z.strictObject({ runs: z.array(RunSummary), skipped: z.array(SkippedFile) });
export type RunsResult = z.infer<typeof RunsResult>;

// Re-exports a finished run to more formats (e.g. mp4) from its saved frames.
export const ExportParams = z.strictObject({ metadataPath: z.string(), formats: z.array(OutputFormat) });
export const ExportResult = z.strictObject({ outputs: Outputs, metadataPath: z.string() });
export type ExportResult = z.infer<typeof ExportResult>;

// How long a studio/generate with the same params would take here, before it runs (runtime/estimate.py).
export const EstimateBasis = z.enum(['job', 'scaled', 'calibration', 'reference', 'none']);
export type EstimateBasis = z.infer<typeof EstimateBasis>;
export const EstimateStages = z.strictObject({
  loadS: z.number(),
  encodeS: z.number(),
  denoiseS: z.number(),
  decodeS: z.number(),
  exportS: z.number(),
  otherS: z.number(),
});
export const EstimateResult = z.strictObject({
  totalS: nullableNum, // null: no estimate; `note` says why
  stages: EstimateStages.nullable(),
  basis: EstimateBasis,
  runs: z.number(),
  note: z.string(),
  modelsLoaded: z.boolean(),
});
export type EstimateResult = z.infer<typeof EstimateResult>;

export const ShutdownParams = z.undefined();
export const ShutdownResult = z.null();

/** Every request: its params and result schema. Keys are the wire method names. */
export const requestSpecs = {
  [Methods.handshake]: { params: HandshakeParams, result: Handshake },
  [Methods.environment]: { params: EnvironmentParams, result: Environment },
  [Methods.modelsStatus]: { params: ModelsStatusParams, result: ModelsStatusResult },
  [Methods.downloadModels]: { params: DownloadModelsParams, result: DownloadModelsResult },
  [Methods.generate]: { params: GenerateParams, result: GenerateResult },
  [Methods.cancel]: { params: CancelParams, result: CancelResult },
  [Methods.runs]: { params: RunsParams, result: RunsResult },
  [Methods.export]: { params: ExportParams, result: ExportResult },
  [Methods.estimate]: { params: GenerateParams, result: EstimateResult },
  [Methods.shutdown]: { params: ShutdownParams, result: ShutdownResult },
} as const;
export type RequestMethod = keyof typeof requestSpecs;
export type ParamsOf<M extends RequestMethod> = z.input<(typeof requestSpecs)[M]['params']>;
export type ResultOf<M extends RequestMethod> = z.output<(typeof requestSpecs)[M]['result']>;

// ---------- notifications ----------

export const Stage = z.enum(['loading', 'encoding', 'denoising', 'decoding', 'exporting']);
export type Stage = z.infer<typeof Stage>;

export const ProgressNotification = z.strictObject({
  runId: z.string(),
  phase: Phase,
  stage: Stage,
  step: z.number(),
  totalSteps: z.number(),
  frame: nullableNum,
  totalFrames: z.number(),
  elapsedS: z.number(),
  etaS: nullableNum,
});
export type ProgressNotification = z.infer<typeof ProgressNotification>;

export const PreviewNotification = z.strictObject({
  runId: z.string(),
  phase: Phase,
  step: z.number(),
  totalSteps: z.number(),
  frame: nullableNum,
  totalFrames: z.number(),
  width: z.number(),
  height: z.number(),
  frames: z.array(z.string()), // base64 PNGs, one per frame shown so far
});
export type PreviewNotification = z.infer<typeof PreviewNotification>;

export const FrameDoneNotification = z.strictObject({
  runId: z.string(),
  frame: z.number(), // 0-based
  totalFrames: z.number(),
  png: z.string(),
});
export type FrameDoneNotification = z.infer<typeof FrameDoneNotification>;

export const DownloadProgressNotification = z.strictObject({
  downloadId: z.string(),
  source: z.string(),
  file: z.string(),
  bytes: z.number(),
  totalBytes: z.number(), // 0 while unknown
});
export type DownloadProgressNotification = z.infer<typeof DownloadProgressNotification>;

export const LogNotification = z.strictObject({
  level: z.enum(['debug', 'info', 'warning', 'error']),
  message: z.string(),
});
export type LogNotification = z.infer<typeof LogNotification>;

export const notificationSpecs = {
  [Notifications.progress]: ProgressNotification,
  [Notifications.preview]: PreviewNotification,
  [Notifications.frameDone]: FrameDoneNotification,
  [Notifications.downloadProgress]: DownloadProgressNotification,
  [Notifications.log]: LogNotification,
} as const;
export type NotificationMethod = keyof typeof notificationSpecs;
export type NotificationOf<M extends NotificationMethod> = z.output<(typeof notificationSpecs)[M]>;

// ---------- error data ----------

export const errorDataSpecs = {
  [ErrorCodes.InvalidParams]: z.strictObject({ field: z.string(), message: z.string() }),
  [ErrorCodes.Busy]: z.strictObject({ runId: z.string() }),
  [ErrorCodes.ModelNotFound]: z.strictObject({
    what: z.string(),
    source: z.string(),
    lookedIn: z.string(),
    fix: z.string(),
  }),
  [ErrorCodes.UserCodeError]: z.strictObject({
    file: z.string(),
    line: z.number(), // 1-based
    message: z.string(),
    type: z.string(),
    traceback: z.string(),
  }),
  [ErrorCodes.BackendUnavailable]: z.strictObject({ reason: z.string() }),
  [ErrorCodes.ProtocolMismatch]: z.strictObject({ serverVersion: z.string(), protocolVersion: z.number() }),
  // The output folder cannot take the run's files (missing and not creatable, read-only, full…).
  // path: the output folder; file: the file (or sub-folder) whose write failed, when the OS named one.
  [ErrorCodes.OutputFolder]: z.strictObject({ path: z.string(), file: nullableStr, reason: z.string(), errno: z.string() }),
  // The scratchpad was deployed before the studio's contract (studio_api.py) existed: deploy again.
  [ErrorCodes.ScratchpadOutdated]: z.strictObject({ path: z.string(), missing: z.string() }),
  // Any failure that is none of the above.
  [ErrorCodes.InternalError]: z.strictObject({ type: z.string(), message: z.string(), traceback: z.string() }),
} as const;

/** Every method name this side knows, for the cross-language sync check. */
export function allMethodNames(): string[] {
  return [
    ...Object.values(Methods),
    ...Object.values(Notifications),
    ...Object.values(ClientNotifications),
  ].sort();
}
