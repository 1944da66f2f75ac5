import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/errors';
import { ErrorCodes } from '../../src/protocol';
import { SidecarExitedError, SidecarStartError, missingModuleIn } from '../../src/sidecar/errors';

const rpc = (code: number, data?: unknown, message = 'server said no') => ({ code, message, data });
const ids = (err: unknown) => describeError(err).actions.map((a) => a.id);

describe('protocol error → message and action', () => {
  it('UserCodeError opens the user file at the failing line', () => {
    const view = describeError(rpc(ErrorCodes.UserCodeError, { file: '/pad/animatediff_ttnn/ttnn_pipeline.py', line: 41, message: 'boom', type: 'ValueError', traceback: 'Traceback…' }));
    expect(view.kind).toBe('userCode');
    expect(view.message).toContain('ValueError: boom (ttnn_pipeline.py:41)');
    expect(view.actions[0]).toEqual({ id: 'openUserCode', title: 'Open ttnn_pipeline.py:41', file: '/pad/animatediff_ttnn/ttnn_pipeline.py', line: 41 });
    expect(view.detail).toBe('Traceback…');
  });

  it('ModelNotFound offers Download Models first', () => {
    const view = describeError(rpc(ErrorCodes.ModelNotFound, { what: 'motion adapter', source: 'guoyww/x', lookedIn: '/cache', fix: 'Run Download Models.' }));
    expect(view.message).toBe('Model not found: motion adapter (guoyww/x). Run Download Models.');
    expect(ids(rpc(ErrorCodes.ModelNotFound, {}))).toEqual(['downloadModels', 'openSettings']);
  });

  it('BackendUnavailable offers the CPU run of the Phase 2 algorithm and the settings', () => {
    const view = describeError(rpc(ErrorCodes.BackendUnavailable, { reason: 'no /dev/tenstorrent' }));
    expect(view.message).toContain('no /dev/tenstorrent');
    expect(view.actions.map((a) => a.id)).toEqual(['runPhase2Cpu', 'openSettings']);
    expect(view.actions[1].setting).toBe('animatediff.ttMetalHome');
  });

  it('BackendUnavailable in a Phase 3 run offers Phase 3 in torch, not Phase 2', () => {
    const view = describeError(rpc(ErrorCodes.BackendUnavailable, { reason: "backend 'blackhole' cannot run here: no /dev/tenstorrent" }), { phase: 3 });
    expect(view.actions.map((a) => a.id)).toEqual(['runPhase3', 'openSettings']);
    expect(view.actions[0].title).toBe('Run Phase 3 in torch instead');
  });

  it('BackendUnavailable for a Python without torch points at the interpreter, not at the CPU run', () => {
    const view = describeError(rpc(ErrorCodes.BackendUnavailable, { reason: "torch is not installed in this Python (No module named 'torch')" }));
    expect(view.message).toMatch(/This Python cannot run the pipeline/);
    expect(view.actions.map((a) => a.id)).toEqual(['deployProject', 'openSettings']);
  });

  it('an output-folder problem names the folder, the file that failed and the reason, and opens no user code', () => {
    const view = describeError(rpc(ErrorCodes.OutputFolder, { path: '/out', file: '/out/run.webp', reason: 'No space left on device', errno: 'ENOSPC' }));
    expect(view.kind).toBe('outputFolder');
    expect(view.message).toBe("Cannot write the run's files to /out (run.webp): No space left on device. Nothing was written.");
    expect(view.actions.map((a) => a.id)).toEqual(['showLog']);
    const folderOnly = describeError(rpc(ErrorCodes.OutputFolder, { path: '/ro/out', file: null, reason: 'Read-only file system', errno: 'EROFS' }));
    expect(folderOnly.message).toBe("Cannot write the run's files to /ro/out: Read-only file system. Nothing was written.");
  });

  it('a scratchpad older than the studio offers Deploy Project, with the sidecar\'s message', () => {
    const message = 'your scratchpad /home/u/tt-scratchpad/tt-animatediff was deployed before this version of the studio: …';
    const view = describeError({ code: ErrorCodes.ScratchpadOutdated, message, data: { path: '/home/u/tt-scratchpad/tt-animatediff', missing: 'animatediff_ttnn/studio_api.py' } });
    expect(view.kind).toBe('scratchpadOutdated');
    expect(view.message).toBe(message);
    expect(view.actions.map((a) => a.id)).toEqual(['deployProject', 'showLog']);
  });

  it('InternalError shows type and message, with the traceback for the log', () => {
    const view = describeError(rpc(ErrorCodes.InternalError, { type: 'KeyError', message: "'x'", traceback: 'Traceback (most recent call last): …' }));
    expect(view).toMatchObject({ kind: 'other', message: "The sidecar failed: KeyError: 'x'", detail: 'Traceback (most recent call last): …' });
  });

  it('InvalidParams names the field; Busy offers Cancel; cancelled is not an error', () => {
    expect(describeError(rpc(ErrorCodes.InvalidParams, { field: 'params.steps', message: 'must be at least 1' })).message).toBe('Invalid params.steps: must be at least 1');
    expect(ids(rpc(ErrorCodes.Busy, { runId: 'r1' }))).toEqual(['cancelRun']);
    expect(describeError(rpc(ErrorCodes.RequestCancelled)).kind).toBe('cancelled');
  });

  it('malformed error data still gives a message', () => {
    const view = describeError(rpc(ErrorCodes.UserCodeError, 'not an object', 'raw message'));
    expect(view).toMatchObject({ kind: 'userCode', message: 'raw message' });
    expect(describeError(rpc(-1, undefined, 'odd'))).toMatchObject({ kind: 'other', message: 'odd' });
  });

  it('ProtocolMismatch says what to do', () => {
    expect(describeError(rpc(ErrorCodes.ProtocolMismatch, { serverVersion: '0.2.0', protocolVersion: 2 })).message).toMatch(/Reinstall/);
  });
});

describe('sidecar process failures', () => {
  it('a crash says it restarts and offers the log (with the stderr tail as detail)', () => {
    const view = describeError(new SidecarExitedError(null, 'SIGKILL', ['line 1', 'line 2']));
    expect(view.message).toMatch(/stopped unexpectedly \(killed by SIGKILL\)/);
    expect(view.actions.map((a) => a.id)).toEqual(['showLog', 'restartSidecar']);
    expect(view.detail).toBe('line 1\nline 2');
  });

  it('a missing interpreter or module points at the interpreter setting', () => {
    const view = describeError(new SidecarStartError('no python', 'interpreterNotFound', [], 'python9'));
    expect(view.actions[0]).toMatchObject({ id: 'openSettings', setting: 'animatediff.pythonPath' });
  });

  it('finds the missing module in a traceback', () => {
    expect(missingModuleIn(['Traceback', "ModuleNotFoundError: No module named 'pygls'"])).toBe('pygls');
    expect(missingModuleIn(['all fine'])).toBeUndefined();
  });

  it('plain errors keep their message', () => {
    expect(describeError(new Error('disk full'))).toMatchObject({ kind: 'other', message: 'disk full' });
    expect(describeError('weird')).toMatchObject({ kind: 'other', message: 'weird' });
  });
});
