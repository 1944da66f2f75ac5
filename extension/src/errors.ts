// Maps every failure the UI can meet to a message and the actions that fix it. Pure: the
// vscode side (errorActions.ts) runs the chosen action; the webview shows the same buttons.
import type { z } from 'zod';
import { ErrorCodes, errorDataSpecs, type Preset } from './protocol';
import { SidecarExitedError, SidecarStartError, describeExit } from './sidecar/errors';

export type ErrorActionId =
  | 'openUserCode'
  | 'downloadModels'
  | 'openSettings'
  | 'runPhase2Cpu'
  | 'runPhase3'
  | 'cancelRun'
  | 'showLog'
  | 'restartSidecar'
  | 'openPreview'
  | 'deployProject';

export interface ErrorAction {
  id: ErrorActionId;
  title: string;
  file?: string; // openUserCode
  line?: number; // openUserCode, 1-based
  setting?: string; // openSettings: the settings search query
  preset?: Preset; // downloadModels: whose models to fetch (the failed run's); absent: the run form's
}

export type ErrorKind =
  | 'invalidParams'
  | 'cancelled'
  | 'busy'
  | 'modelNotFound'
  | 'userCode'
  | 'backendUnavailable'
  | 'protocolMismatch'
  | 'outputFolder'
  | 'scratchpadOutdated'
  | 'sidecarExited'
  | 'sidecarStart'
  | 'other';

export interface ErrorView {
  kind: ErrorKind;
  message: string;
  actions: ErrorAction[];
  /** Longer text for the log (traceback, stderr tail). */
  detail?: string;
}

const SHOW_LOG: ErrorAction = { id: 'showLog', title: 'Show Log' };
const RESTART: ErrorAction = { id: 'restartSidecar', title: 'Restart Sidecar' };

interface RpcErrorLike {
  code: number;
  message: string;
  data?: unknown;
}

function isRpcError(err: unknown): err is RpcErrorLike {
  return typeof err === 'object' && err !== null && typeof (err as RpcErrorLike).code === 'number' && typeof (err as RpcErrorLike).message === 'string';
}

type ErrorDataOf<C extends keyof typeof errorDataSpecs> = z.output<(typeof errorDataSpecs)[C]>;

function parseData<C extends keyof typeof errorDataSpecs>(code: C, data: unknown): ErrorDataOf<C> | undefined {
  const parsed = (errorDataSpecs[code] as z.ZodType).safeParse(data);
  return parsed.success ? (parsed.data as ErrorDataOf<C>) : undefined;
}

/** `request`: the run that failed, when there is one (a Phase 3 run offers Phase 3's torch run). */
export function describeError(err: unknown, request?: { phase: number }): ErrorView {
  if (err instanceof SidecarExitedError) {
    return {
      kind: 'sidecarExited',
      message: `The AnimateDiff sidecar stopped unexpectedly (${describeExit(err.exitCode, err.signal)}). It starts again by itself; its last output is in the log.`,
      actions: [SHOW_LOG, RESTART],
      detail: err.stderrTail.join('\n'),
    };
  }
  if (err instanceof SidecarStartError) {
    const actions: ErrorAction[] =
      err.reason === 'interpreterNotFound' || err.reason === 'missingModules'
        ? [{ id: 'openSettings', title: 'Choose Python Interpreter', setting: 'animatediff.pythonPath' }, SHOW_LOG]
        : [SHOW_LOG, RESTART];
    return { kind: 'sidecarStart', message: err.message, actions, detail: err.stderrTail.join('\n') };
  }
  if (!isRpcError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return { kind: 'other', message, actions: [SHOW_LOG] };
  }
  switch (err.code) {
    case ErrorCodes.InvalidParams: {
      const d = parseData(ErrorCodes.InvalidParams, err.data);
      return {
        kind: 'invalidParams',
        message: d ? `Invalid ${d.field}: ${d.message}` : err.message,
        actions: [{ id: 'openPreview', title: 'Edit Parameters' }],
      };
    }
    case ErrorCodes.RequestCancelled:
      return { kind: 'cancelled', message: 'Cancelled.', actions: [] };
    case ErrorCodes.Busy:
      return {
        kind: 'busy',
        message: 'Another generation is still running in the sidecar. Cancel it or wait for it to finish.',
        actions: [{ id: 'cancelRun', title: 'Cancel Run' }],
      };
    case ErrorCodes.ModelNotFound: {
      const d = parseData(ErrorCodes.ModelNotFound, err.data);
      return {
        kind: 'modelNotFound',
        message: d ? `Model not found: ${d.what} (${d.source}). ${d.fix}` : err.message,
        actions: [
          { id: 'downloadModels', title: 'Download Models' },
          { id: 'openSettings', title: 'Model Settings', setting: 'animatediff.models' },
        ],
      };
    }
    case ErrorCodes.UserCodeError: {
      const d = parseData(ErrorCodes.UserCodeError, err.data);
      if (!d) return { kind: 'userCode', message: err.message, actions: [SHOW_LOG] };
      const at = `${basename(d.file)}:${d.line}`;
      const where = ` (${at})`;
      const actions: ErrorAction[] = [{ id: 'openUserCode', title: `Open ${at}`, file: d.file, line: d.line }, SHOW_LOG];
      return { kind: 'userCode', message: `Your pipeline code raised ${d.type}: ${d.message}${where}`, actions, detail: d.traceback };
    }
    case ErrorCodes.BackendUnavailable: {
      const reason = parseData(ErrorCodes.BackendUnavailable, err.data)?.reason ?? err.message;
      // The same code covers "no Blackhole" and "this Python lacks torch/diffusers": different fixes.
      if (/\b(torch|diffusers)\b/i.test(reason) && !/blackhole|tt-?metal|ttnn/i.test(reason)) {
        return {
          kind: 'backendUnavailable',
          message: `This Python cannot run the pipeline: ${reason}`,
          actions: [
            { id: 'deployProject', title: 'Deploy Project (installs the requirements)' },
            { id: 'openSettings', title: 'Choose Python Interpreter', setting: 'animatediff.pythonPath' },
          ],
        };
      }
      return {
        kind: 'backendUnavailable',
        message: `Blackhole is not available: ${reason}`,
        actions: [
          request?.phase === 3
            ? { id: 'runPhase3', title: 'Run Phase 3 in torch instead' }
            : { id: 'runPhase2Cpu', title: 'Run the Phase 2 Algorithm on CPU' },
          { id: 'openSettings', title: 'Open Settings', setting: 'animatediff.ttMetalHome' },
        ],
      };
    }
    case ErrorCodes.InternalError: {
      const d = parseData(ErrorCodes.InternalError, err.data);
      return {
        kind: 'other',
        message: d ? `The sidecar failed: ${d.type}: ${d.message}` : err.message,
        actions: [SHOW_LOG],
        detail: d?.traceback,
      };
    }
    case ErrorCodes.OutputFolder: {
      // Not the user's code: the folder or the disk. Nothing of the run was written.
      const d = parseData(ErrorCodes.OutputFolder, err.data);
      return {
        kind: 'outputFolder',
        message: d ? `Cannot write the run's files to ${d.path}${d.file ? ` (${basename(d.file)})` : ''}: ${d.reason}. Nothing was written.` : err.message,
        actions: [SHOW_LOG],
      };
    }
    case ErrorCodes.ScratchpadOutdated: {
      // The sidecar's message says what deploy does with the learner's edits (asks; backs up).
      return { kind: 'scratchpadOutdated', message: err.message, actions: [{ id: 'deployProject', title: 'Deploy Project to Scratchpad' }, SHOW_LOG] };
    }
    case ErrorCodes.ProtocolMismatch: {
      const d = parseData(ErrorCodes.ProtocolMismatch, err.data);
      return {
        kind: 'protocolMismatch',
        message: d
          ? `The sidecar (version ${d.serverVersion}) speaks protocol ${d.protocolVersion}; this extension needs another. Reinstall the extension so both come from the same build.`
          : err.message,
        actions: [SHOW_LOG, RESTART],
      };
    }
    default:
      return { kind: 'other', message: err.message, actions: [SHOW_LOG] };
  }
}

function basename(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}
