// Static half of the protocol sync: what protocol.ts declares equals what the Python
// protocol.py declares — method names, error codes, enums, and every message's field names.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { PARAMETERS } from '../../src/generated/parameters';
import * as P from '../../src/protocol';
import { dumpPythonProtocol, skipReason, type PythonProtocol } from './pythonSide';

const reason = skipReason();

function keysOf(schema: z.ZodType): string[] {
  const s = schema as unknown as { shape?: Record<string, unknown>; options?: z.ZodType[] };
  if (s.shape) return Object.keys(s.shape).sort();
  if (s.options) return [...new Set(s.options.flatMap(keysOf))].sort();
  throw new Error('not an object schema');
}

// Python dataclass → the TS schema for the same message.
const PAIRS: Record<string, z.ZodType> = {
  HandshakeParams: P.HandshakeParams,
  ModelSources: P.ModelSources,
  ModelsParams: P.ModelsStatusParams,
  DownloadParams: P.DownloadModelsParams,
  GenerateParams: P.GenerateParams,
  CancelParams: P.CancelParams,
  RunsParams: P.RunsParams,
  ExportParams: P.ExportParams,
  PythonInfo: P.PythonInfo,
  Capabilities: P.Handshake.shape.capabilities,
  PipelineSourceInfo: P.Handshake.shape.pipelineSource,
  Handshake: P.Handshake,
  ModelStatus: P.ModelStatus,
  ModelsStatusResult: P.ModelsStatusResult,
  DownloadResult: P.DownloadModelsResult,
  TorchInfo: P.Environment.shape.torch,
  TtnnInfo: P.Environment.shape.ttnn,
  BlackholeInfo: P.Environment.shape.blackhole,
  TtMetalHomeInfo: P.Environment.shape.ttMetalHome,
  ScratchpadInfo: P.Environment.shape.scratchpad,
  TtnnCheckInfo: P.Environment.shape.ttnnCheck.unwrap(),
  Environment: P.Environment,
  GenerateResult: P.GenerateResult,
  RunSummary: P.RunSummary,
  RunsResult: P.RunsResult,
  SkippedFile: P.SkippedFile,
  UnusedField: P.UnusedField,
  CancelResult: P.CancelResult,
  ExportResult: P.ExportResult,
  EstimateStages: P.EstimateStages,
  EstimateResult: P.EstimateResult,
  Progress: P.ProgressNotification,
  Preview: P.PreviewNotification,
  FrameDone: P.FrameDoneNotification,
  DownloadProgress: P.DownloadProgressNotification,
  LogMessage: P.LogNotification,
  Timings: P.Timings,
};
// Python-internal message classes that are not a wire message.
const NOT_ON_THE_WIRE = new Set(['GenParams']);

if (reason) {
  it.skip(`protocol.ts ↔ protocol.py: skipped, ${reason}`, () => undefined);
} else {
  describe('protocol.ts ↔ protocol.py', () => {
    let py: PythonProtocol;
    it('dumps the Python protocol', () => {
      py = dumpPythonProtocol();
      expect(py.protocolVersion).toBe(P.PROTOCOL_VERSION);
    });

    it('declares the same method names', () => {
      expect(P.allMethodNames()).toEqual([...py.methods].sort());
    });

    it('declares the same error codes', () => {
      expect(Object.values(P.ErrorCodes).sort()).toEqual(Object.values(py.errorCodes).sort());
    });

    it('declares the same enums', () => {
      const choices = (name: string) => py.parameters.find((x) => x.name === name)?.choices;
      expect(P.Backend.options).toEqual(choices('backend'));
      expect(P.TorchDevice.options).toEqual(choices('device'));
      expect(P.Preset.options).toEqual(choices('preset'));
      expect(P.Dtype.options).toEqual(choices('dtype'));
      expect(P.OutputFormat.options).toEqual(choices('formats'));
      expect(P.Stage.options).toEqual(py.enums.STAGES);
      expect(P.LogNotification.shape.level.options).toEqual(py.enums.LOG_LEVELS);
      expect(P.EstimateBasis.options).toEqual(py.enums.ESTIMATE_BASES);
    });

    it('has a TS schema for every Python message class', () => {
      const unmapped = Object.keys(py.dataclasses).filter((n) => !(n in PAIRS) && !NOT_ON_THE_WIRE.has(n));
      expect(unmapped).toEqual([]);
    });

    it.each(Object.keys(PAIRS))('%s has the same fields on both sides', (name) => {
      expect(py.dataclasses[name], `${name} is gone from protocol.py`).toBeDefined();
      expect(keysOf(PAIRS[name])).toEqual([...py.dataclasses[name]].sort());
    });

    it('generation params have the same wire names', () => {
      expect(keysOf(P.GenerationInputs)).toEqual(py.genParamFields);
    });

    it('the generated parameter definition is what params.py describes', () => {
      expect(JSON.parse(JSON.stringify(PARAMETERS))).toEqual(py.parameters);
    });

    it('every zod field of a parameter has its kind (numbers, strings, enums)', () => {
      const shapes: Record<string, unknown> = { ...P.GenerationInputs.shape, ...P.GenerateParams.shape };
      for (const p of py.parameters) {
        const field = shapes[p.wire] as z.ZodType | undefined;
        expect(field, p.wire).toBeDefined();
        const sample = { str: 'x', int: 1, float: 0.5, choice: p.choices?.[0], choices: p.choices?.slice(0, 1) }[p.kind];
        expect(field!.safeParse(sample).success, `${p.wire} accepts ${JSON.stringify(sample)}`).toBe(true);
        if (p.kind !== 'str') expect(field!.safeParse('not a value').success, `${p.wire} refuses a string`).toBe(false);
      }
    });
  });
}
