// Live half of the protocol sync: the extension's real SidecarClient drives the real sidecar
// (tiny random-weight models, CPU) through every request in protocol.ts, and every answer,
// notification and error is checked strictly against the TS definitions.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import type { z } from 'zod';
import { copyRel, listFiles } from '../../src/deploy/files';
import * as P from '../../src/protocol';
import { SidecarClient } from '../../src/sidecar/client';
import { SidecarExitedError } from '../../src/sidecar/errors';
import { buildLaunch } from '../../src/sidecar/launch';
import { BUNDLE_DIR, PYTHON, ROOT, skipReason } from './pythonSide';

const reason = skipReason();

/** Strict check: a missing, extra or mistyped field fails with zod's description of it. */
function expectShape<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`does not match protocol.ts: ${parsed.error.message}\n${JSON.stringify(value).slice(0, 2000)}`);
  return parsed.data;
}

async function rpcError(p: Promise<unknown>): Promise<{ code: number; message: string; data?: unknown }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; message: string; data?: unknown };
  }
  throw new Error('expected the request to fail');
}

if (reason) {
  it.skip(`live sidecar: skipped, ${reason}`, () => undefined);
} else {
  describe('the real sidecar through SidecarClient', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'ad-proto-'));
    const scratchpad = path.join(tmp, 'scratchpad');
    const tiny = path.join(tmp, 'tiny');
    const models = { sd: path.join(tiny, 'sd'), motionAdapter: path.join(tiny, 'motion-adapter') };
    const called = new Set<string>();
    const warnings: string[] = [];
    const notes: Record<string, unknown[]> = {};
    let client: SidecarClient;

    const small = { numFrames: 2, steps: 2, width: 64, height: 64, seed: 7 };

    function request<M extends P.RequestMethod>(method: M, params: P.ParamsOf<M>, token?: CancellationTokenSource) {
      called.add(method);
      return client.request(method, params, token?.token);
    }

    beforeAll(async () => {
      execFileSync(PYTHON, ['-m', 'animatediff_testing.tiny_models', tiny], { cwd: BUNDLE_DIR, stdio: 'ignore' });
      // A deployed copy, made with the extension's own deploy file rules.
      for (const rel of await listFiles(BUNDLE_DIR)) await copyRel(BUNDLE_DIR, scratchpad, rel);
      client = new SidecarClient({
        clientName: 'protocol-sync-test',
        log: { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined, stderr: () => undefined },
        launch: async () => ({
          ...buildLaunch({ interpreter: PYTHON, extensionRoot: ROOT, scratchpad, baseEnv: { ...process.env, HF_HUB_OFFLINE: '1', HF_HUB_CACHE: path.join(tiny, 'hf-cache') } }),
          cwd: path.join(ROOT, 'python', 'sidecar'),
        }),
      });
      for (const method of Object.values(P.Notifications)) {
        notes[method] = [];
        client.onNotification(method, (p) => notes[method].push(p));
      }
    });

    afterAll(async () => {
      await client?.stop();
      client?.dispose();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('handshakes (studio/handshake) and runs the deployed scratchpad copy', async () => {
      called.add(P.Methods.handshake);
      const hs = expectShape(P.Handshake, await client.start());
      expect(hs.protocolVersion).toBe(1);
      expect(hs.pipelineSource.kind).toBe('scratchpad');
      expect(client.pid).toBeGreaterThan(0);
    });

    it('studio/environment', async () => {
      const env = expectShape(P.Environment, await request('studio/environment', { models }));
      expect(env.scratchpad.deployed).toBe(true);
      expect(env.models.every((m) => m.available)).toBe(true);
      expect(env.blackhole.available).toBe(false); // no card on test machines
    });

    it('studio/modelsStatus and studio/downloadModels (local models: nothing to fetch)', async () => {
      const status = expectShape(P.ModelsStatusResult, await request('studio/modelsStatus', { models }));
      expect(status.models.map((m) => m.kind)).toEqual(['local', 'local']);
      const dl = expectShape(P.DownloadModelsResult, await request('studio/downloadModels', { models, downloadId: 'sync-test' }));
      expect(dl.models.every((m) => m.available)).toBe(true);
    });

    it('studio/modelsStatus and studio/downloadModels with a preset also cover its motion modules', async () => {
      // the tiny models' HF cache holds the Lightning checkpoints and AnimateLCM under the real hub ids
      const status = expectShape(P.ModelsStatusResult, await request('studio/modelsStatus', { models, preset: 'lightning' }));
      // exactly what Lightning runs: the SD model and its checkpoint, not the settings' (quality) adapter
      expect(status.models.map((m) => m.source)).toEqual([models.sd, 'ByteDance/AnimateDiff-Lightning:animatediff_lightning_4step_diffusers.safetensors']);
      expect(status.models[1]).toMatchObject({ role: 'motionAdapter', kind: 'hub', available: true });
      expect(status.unused.map((u) => [u.field, u.value])).toEqual([['models.motionAdapter', models.motionAdapter]]);
      const dl = expectShape(P.DownloadModelsResult, await request('studio/downloadModels', { models, preset: 'animatelcm', downloadId: 'sync-preset' }));
      expect(dl.models.map((m) => [m.source, m.available])).toContainEqual(['wangfuyun/AnimateLCM', true]);
    });

    let phase1: P.GenerateResult;
    it('studio/generate phase 1 with progress and previews of every frame', async () => {
      notes['studio/preview'].length = 0;
      phase1 = expectShape(P.GenerateResult, await request('studio/generate', { phase: 1, device: 'cpu', models, params: { prompt: 'sync test', ...small } }));
      expect(phase1.status).toBe('completed');
      expect(existsSync(phase1.outputs.gif!)).toBe(true);
      const previews = notes['studio/preview'].map((n) => expectShape(P.PreviewNotification, n));
      expect(previews.length).toBeGreaterThan(0);
      expect(previews.at(-1)!.frames).toHaveLength(2);
      notes['studio/progress'].forEach((n) => expectShape(P.ProgressNotification, n));
    });

    let phase2: P.GenerateResult;
    it('studio/generate phase 2 (torch on CPU) with frameDone', async () => {
      notes['studio/frameDone'].length = 0;
      phase2 = expectShape(
        P.GenerateResult,
        await request('studio/generate', { phase: 2, backend: 'torch', device: 'cpu', models: { sd: models.sd }, params: { prompt: 'sync test', ...small } }),
      );
      expect(phase2.status).toBe('completed');
      const done = notes['studio/frameDone'].map((n) => expectShape(P.FrameDoneNotification, n));
      expect(done.map((d) => d.frame)).toEqual([0, 1]);
    });

    it('picks up an edit of ttnn_pipeline.py without a restart; a broken edit is a UserCodeError at its line', async () => {
      const file = path.join(scratchpad, 'animatediff_ttnn', 'ttnn_pipeline.py');
      const original = readFileSync(file, 'utf8');
      const pid = client.pid;
      await fs.writeFile(file, original.replace(/^PERTURBATION_STRENGTH = .*$/m, 'PERTURBATION_STRENGTH = 0.2'));
      const edited = expectShape(P.GenerateResult, await request('studio/generate', { phase: 2, backend: 'torch', device: 'cpu', models: { sd: models.sd }, params: { prompt: 'sync test', ...small } }));
      expect(edited.reloadedModules.length).toBeGreaterThan(0);
      const runs = expectShape(P.RunsResult, await request('studio/runs', {}));
      expect(runs.runs.find((r) => r.runId === edited.runId)?.perturbationStrength).toBe(0.2);

      const lines = original.split('\n');
      const at = lines.findIndex((l) => l.startsWith('def frame_noise'));
      lines.splice(at + 1, 0, '    raise ValueError("broken on purpose")');
      await fs.writeFile(file, lines.join('\n'));
      const err = await rpcError(request('studio/generate', { phase: 2, backend: 'torch', device: 'cpu', models: { sd: models.sd }, params: { prompt: 'x', ...small } }));
      expect(err.code).toBe(P.ErrorCodes.UserCodeError);
      const data = expectShape(P.errorDataSpecs[P.ErrorCodes.UserCodeError], err.data);
      expect(path.basename(data.file)).toBe('ttnn_pipeline.py');
      expect(data.line).toBe(at + 2);
      await fs.writeFile(file, original);
      expect(client.pid).toBe(pid);
    });

    it('studio/export and studio/runs', async () => {
      const exported = expectShape(P.ExportResult, await request('studio/export', { metadataPath: phase1.metadataPath!, formats: ['png'] }));
      expect(existsSync(exported.outputs.png!)).toBe(true);
      const runs = expectShape(P.RunsResult, await request('studio/runs', { limit: 10 }));
      const ids = runs.runs.map((r) => r.runId);
      expect(ids).toContain(phase1.runId);
      expect(ids).toContain(phase2.runId);
    });

    it('studio/estimate answers from the runs above, and while a run is in progress', async () => {
      const phase1Params = { phase: 1 as const, device: 'cpu' as const, models, params: { prompt: 'sync test', ...small } };
      const estimate = expectShape(P.EstimateResult, await request('studio/estimate', phase1Params));
      expect(estimate).toMatchObject({ basis: 'job', modelsLoaded: true });
      expect(estimate.totalS).toBeGreaterThan(0);
      const card = expectShape(P.EstimateResult, await request('studio/estimate', { phase: 2, backend: 'blackhole', models: { sd: models.sd }, params: { prompt: 'x', ...small } }));
      expect(card).toMatchObject({ totalS: null, stages: null, basis: 'none' });
    });

    it('studio/cancel stops a running generation; a second one meanwhile is Busy', async () => {
      notes['studio/progress'].length = 0;
      const long = request('studio/generate', { phase: 1, device: 'cpu', models, params: { prompt: 'long', ...small, steps: 1000 } });
      const runId = await waitFor(() => (notes['studio/progress'].at(-1) as P.ProgressNotification | undefined)?.runId);
      const busy = await rpcError(request('studio/generate', { phase: 1, device: 'cpu', models, params: { prompt: 'x', ...small } }));
      expect(busy.code).toBe(P.ErrorCodes.Busy);
      expect(expectShape(P.errorDataSpecs[P.ErrorCodes.Busy], busy.data).runId).toBe(runId);
      expect(expectShape(P.CancelResult, await request('studio/cancel', { runId }))).toEqual({ cancelled: true });
      const result = expectShape(P.GenerateResult, await long);
      expect(result.status).toBe('cancelled');
      expect(result.outputs).toEqual({});
      expect(await request('studio/cancel', { runId: 'no-such-run' })).toEqual({ cancelled: false });
    });

    it('$/cancelRequest (a cancelled token) stops a generation too', async () => {
      notes['studio/progress'].length = 0;
      const cts = new CancellationTokenSource();
      const long = request('studio/generate', { phase: 1, device: 'cpu', models, params: { prompt: 'long', ...small, steps: 1000 } }, cts);
      await waitFor(() => notes['studio/progress'].length > 0 || undefined);
      cts.cancel();
      expect(expectShape(P.GenerateResult, await long).status).toBe('cancelled');
    });

    it('$/cancelRequest sent at once (Cancel clicked before the first progress) sticks: cancelled, no model loaded', async () => {
      // What runController.cancel() does before it knows the run id: cancel the request's token.
      notes['studio/progress'].length = 0;
      const cts = new CancellationTokenSource();
      const run = request('studio/generate', { phase: 1, device: 'cpu', models, params: { prompt: 'at once', ...small, steps: 1000 } }, cts);
      cts.cancel();
      const result = expectShape(P.GenerateResult, await run);
      expect(result.status).toBe('cancelled');
      expect(result.timings.loadS).toBe(0);
      expect(notes['studio/progress'].filter((n) => (n as P.ProgressNotification).runId === result.runId)).toEqual([]);
    });

    it('answers bad requests with the documented error data', async () => {
      const invalid = await rpcError(request('studio/generate', { phase: 1, models, params: { prompt: 'x', numFrames: 0 } }));
      expect(invalid.code).toBe(P.ErrorCodes.InvalidParams);
      expect(expectShape(P.errorDataSpecs[P.ErrorCodes.InvalidParams], invalid.data).field).toBe('params.numFrames');

      const missing = await rpcError(request('studio/generate', { phase: 1, models: { sd: path.join(tmp, 'nope'), motionAdapter: models.motionAdapter }, params: { prompt: 'x', ...small } }));
      expect(missing.code).toBe(P.ErrorCodes.ModelNotFound);
      expectShape(P.errorDataSpecs[P.ErrorCodes.ModelNotFound], missing.data);

      const noCard = await rpcError(request('studio/generate', { phase: 2, backend: 'blackhole', models: { sd: models.sd }, params: { prompt: 'x', ...small } }));
      expect(noCard.code).toBe(P.ErrorCodes.BackendUnavailable);
      expectShape(P.errorDataSpecs[P.ErrorCodes.BackendUnavailable], noCard.data);
    });

    it('refuses another protocol version with ProtocolMismatch', async () => {
      const spec = buildLaunch({ interpreter: PYTHON, extensionRoot: ROOT, scratchpad, baseEnv: process.env });
      const child = spawn(spec.command, spec.args, { env: spec.env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'ignore'] });
      const conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
      conn.listen();
      try {
        const err = await rpcError(conn.sendRequest(P.Methods.handshake, { protocolVersion: 2, clientName: 'old' }));
        expect(err.code).toBe(P.ErrorCodes.ProtocolMismatch);
        expectShape(P.errorDataSpecs[P.ErrorCodes.ProtocolMismatch], err.data);
      } finally {
        conn.dispose();
        child.kill('SIGKILL');
      }
    });

    it('reports a killed sidecar as a crash and starts a new one on the next request', async () => {
      const crashed = new Promise<SidecarExitedError>((resolve) => client.onDidCrash(resolve));
      const oldPid = client.pid!;
      process.kill(oldPid, 'SIGKILL');
      const err = await crashed;
      expect(err.signal).toBe('SIGKILL');
      const env = expectShape(P.Environment, await request('studio/environment', {}));
      expect(env.python.executable).toBeTruthy();
      expect(client.pid).not.toBe(oldPid);
    });

    it('shutdown answers null', async () => {
      expect(await request('shutdown', undefined)).toBeNull();
      await client.stop();
    });

    it('called every request method in protocol.ts, with no protocol drift on the way', () => {
      expect([...called].sort()).toEqual(Object.values(P.Methods).sort());
      expect(warnings.filter((w) => w.includes('drift'))).toEqual([]);
    });
  });
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
