// The JSON-RPC client for the Python sidecar: spawns it, handshakes, types every call through
// protocol.ts, keeps its stderr tail, reports crashes and restarts it. No `vscode` import, so the
// protocol-sync test drives this very class against the real sidecar from plain Node.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  CancellationToken,
  Emitter,
  type Disposable,
  type Event,
  type MessageConnection,
} from 'vscode-jsonrpc';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import {
  ClientNotifications,
  Methods,
  PROTOCOL_VERSION,
  notificationSpecs,
  requestSpecs,
  type Handshake,
  type NotificationMethod,
  type NotificationOf,
  type ParamsOf,
  type RequestMethod,
  type ResultOf,
} from '../protocol';
import { SidecarExitedError, SidecarStartError, describeExit, missingModuleIn } from './errors';
import type { LaunchSpec } from './launch';
import { StderrTail } from './stderrTail';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A line of the sidecar's stderr, verbatim. */
  stderr(line: string): void;
}

export interface SidecarClientOptions {
  clientName: string;
  /** Resolved at every start, so interpreter/setting changes apply on the next start. */
  launch: () => Promise<LaunchSpec>;
  log: Logger;
  handshakeTimeoutMs?: number;
  /** Start again right after a crash (at most 3 times a minute, so a crash loop stops). */
  restartOnCrash?: boolean;
}

interface Session {
  child: ChildProcess;
  conn: MessageConnection;
  tail: StderrTail;
  handshake?: Handshake;
  stopping: boolean;
  exit?: { code: number | null; signal: string | null };
  closed: Promise<void>;
}

export class SidecarClient implements Disposable {
  private session?: Session;
  private starting?: Promise<Handshake>;
  private readonly handlers = new Map<string, Set<(params: unknown) => void>>();
  private readonly warnedDrift = new Set<string>();
  private crashTimes: number[] = [];
  private disposed = false;

  private readonly crashEmitter = new Emitter<SidecarExitedError>();
  private readonly startEmitter = new Emitter<{ handshake: Handshake; pid: number | undefined }>();
  /** The process died without being asked to (it restarts lazily or, if enabled, at once). */
  readonly onDidCrash: Event<SidecarExitedError> = this.crashEmitter.event;
  readonly onDidStart: Event<{ handshake: Handshake; pid: number | undefined }> = this.startEmitter.event;

  constructor(private readonly opts: SidecarClientOptions) {}

  get handshake(): Handshake | undefined {
    return this.session?.handshake;
  }

  get pid(): number | undefined {
    return this.session?.child.pid;
  }

  get isRunning(): boolean {
    return !!this.session?.handshake && !this.session.exit;
  }

  /** Starts the sidecar if needed; concurrent callers share one start. */
  start(): Promise<Handshake> {
    if (this.disposed) return Promise.reject(new Error('The sidecar client was disposed.'));
    if (this.session?.handshake && !this.session.exit) return Promise.resolve(this.session.handshake);
    if (!this.starting) {
      this.starting = this.spawnSession().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  /** Registers a handler for one notification; it survives restarts. */
  onNotification<M extends NotificationMethod>(method: M, handler: (params: NotificationOf<M>) => void): Disposable {
    let set = this.handlers.get(method);
    if (!set) this.handlers.set(method, (set = new Set()));
    const h = handler as (params: unknown) => void;
    set.add(h);
    return { dispose: () => set!.delete(h) };
  }

  /** Sends a typed request, starting the sidecar first if it is not running. */
  async request<M extends RequestMethod>(method: M, params: ParamsOf<M>, token?: CancellationToken): Promise<ResultOf<M>> {
    await this.start();
    const session = this.session;
    if (!session) throw new Error('The sidecar is not running.');
    let result: unknown;
    try {
      result = params === undefined
        ? await session.conn.sendRequest(method, token ?? CancellationToken.None)
        : await session.conn.sendRequest(method, params, token ?? CancellationToken.None);
    } catch (err) {
      if (session.exit) throw new SidecarExitedError(session.exit.code, session.exit.signal, session.tail.snapshot());
      throw err;
    }
    return this.checked(`result of ${method}`, requestSpecs[method].result, result) as ResultOf<M>;
  }

  /** Graceful stop: shutdown + exit, then SIGTERM/SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    const session = this.session;
    if (!session) return;
    session.stopping = true;
    this.session = undefined;
    if (!session.exit) {
      // Each step may fail (unresponsive, already shut down, gone); reap() settles it either way.
      await withTimeout(session.conn.sendRequest(Methods.shutdown), 2000).catch(() => undefined);
      await session.conn.sendNotification(ClientNotifications.exit).catch(() => undefined);
      await this.reap(session);
    }
  }

  async restart(): Promise<Handshake> {
    await this.stop();
    return this.start();
  }

  /** Immediate teardown for deactivate; stop() is the polite version. */
  dispose(): void {
    this.disposed = true;
    const session = this.session;
    this.session = undefined;
    if (session && !session.exit) {
      session.stopping = true;
      session.conn.sendNotification(ClientNotifications.exit).catch(() => undefined);
      killTree(session.child, 'SIGTERM');
      setTimeout(() => killTree(session.child, 'SIGKILL'), 2000).unref();
    }
    this.crashEmitter.dispose();
    this.startEmitter.dispose();
  }

  private async spawnSession(): Promise<Handshake> {
    const spec = await this.opts.launch();
    const log = this.opts.log;
    log.info(`Starting sidecar: ${spec.command} ${spec.args.join(' ')}`);
    const child = spawn(spec.command, spec.args, {
      env: spec.env as NodeJS.ProcessEnv,
      cwd: spec.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const tail = new StderrTail(50);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => tail.push(chunk).forEach((line) => log.stderr(line)));

    const conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    let markClosed!: () => void;
    const session: Session = { child, conn, tail, stopping: false, closed: new Promise((r) => (markClosed = r)) };
    // 'close' (not 'exit'): stdout is drained by then, so no final response is lost.
    child.once('close', (code, signal) => {
      tail.flush().forEach((line) => log.stderr(line));
      session.exit = { code, signal };
      conn.dispose(); // rejects pending requests; request() turns that into SidecarExitedError
      markClosed();
      this.onSessionClosed(session);
    });
    conn.onNotification((method: string, params: unknown) => this.dispatch(method, params));
    conn.listen();
    this.session = session;

    const exited = session.closed.then(() => {
      const missing = missingModuleIn(tail.snapshot());
      const why = describeExit(session.exit!.code, session.exit!.signal);
      throw missing
        ? new SidecarStartError(
            `The sidecar could not start: Python module '${missing}' is missing from ${spec.command}. Deploy the project (it installs the requirements) or choose another interpreter.`,
            'missingModules', tail.snapshot(), spec.command)
        : new SidecarStartError(`The sidecar exited during startup (${why}). See the AnimateDiff log.`, 'handshakeFailed', tail.snapshot(), spec.command);
    });
    const failedToSpawn = spawnError.then((err) => {
      throw new SidecarStartError(
        `Could not run the Python interpreter "${spec.command}": ${err.message}. Set animatediff.pythonPath to a Python 3.10–3.12 interpreter.`,
        'interpreterNotFound', tail.snapshot(), spec.command);
    });
    try {
      const raw = await Promise.race([
        conn.sendRequest(Methods.handshake, { protocolVersion: PROTOCOL_VERSION, clientName: this.opts.clientName }),
        exited,
        failedToSpawn,
        timeout(this.opts.handshakeTimeoutMs ?? 60_000, 'The sidecar did not answer the handshake in time.'),
      ]);
      const handshake = this.checked('result of studio/handshake', requestSpecs[Methods.handshake].result, raw) as Handshake;
      session.handshake = handshake;
      log.info(
        `Sidecar ${handshake.serverVersion} ready (pid ${child.pid}, Python ${handshake.python.version}, pipeline from ${handshake.pipelineSource.kind}: ${handshake.pipelineSource.path})`,
      );
      if (handshake.missing.length) log.warn(`Sidecar reports missing: ${handshake.missing.join('; ')}`);
      this.startEmitter.fire({ handshake, pid: child.pid });
      return handshake;
    } catch (err) {
      session.stopping = true;
      if (this.session === session) this.session = undefined;
      await this.reap(session);
      if (err instanceof SidecarStartError) throw err;
      // A JSON-RPC error (e.g. ProtocolMismatch) keeps its code for describeError().
      if (typeof (err as { code?: unknown }).code === 'number') throw err;
      throw new SidecarStartError(`The sidecar did not start: ${(err as Error).message}`, 'handshakeFailed', tail.snapshot(), spec.command);
    }
  }

  private onSessionClosed(session: Session): void {
    if (this.session === session) this.session = undefined;
    if (session.stopping || !session.handshake || this.disposed) return;
    const err = new SidecarExitedError(session.exit!.code, session.exit!.signal, session.tail.snapshot());
    this.opts.log.error(`${err.message} Last stderr lines:\n${err.stderrTail.join('\n') || '(none)'}`);
    this.crashEmitter.fire(err);
    if (!this.opts.restartOnCrash) return;
    const now = Date.now();
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < 60_000), now];
    if (this.crashTimes.length > 3) {
      this.opts.log.error('The sidecar crashed more than 3 times in a minute; it starts again on the next request.');
      return;
    }
    this.opts.log.info('Restarting the sidecar after the crash…');
    this.start().catch((e: Error) => this.opts.log.error(`Restart failed: ${e.message}`));
  }

  private dispatch(method: string, params: unknown): void {
    const schema = (notificationSpecs as Record<string, (typeof notificationSpecs)[NotificationMethod]>)[method];
    if (!schema) {
      this.warnOnce(method, `Unknown notification from the sidecar: ${method}`);
      return;
    }
    const value = this.checked(`notification ${method}`, schema, params);
    for (const handler of this.handlers.get(method) ?? []) {
      try {
        handler(value);
      } catch (err) {
        this.opts.log.error(`Handler for ${method} failed: ${(err as Error).stack ?? err}`);
      }
    }
  }

  /** Run-time check against protocol.ts: drift is logged once per message kind and tolerated. */
  private checked(what: string, schema: { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { message: string } } }, value: unknown): unknown {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    this.warnOnce(what, `Protocol drift in ${what}: ${parsed.error?.message}`);
    return value;
  }

  private warnOnce(key: string, message: string): void {
    if (this.warnedDrift.has(key)) return;
    this.warnedDrift.add(key);
    this.opts.log.warn(message);
  }

  private async reap(session: Session): Promise<void> {
    if (session.exit) return;
    if (await settlesWithin(session.closed, 3000)) return;
    killTree(session.child, 'SIGTERM');
    if (await settlesWithin(session.closed, 2000)) return;
    killTree(session.child, 'SIGKILL');
    await settlesWithin(session.closed, 2000);
  }
}

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, timeout(ms, 'timed out')]);
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await withTimeout(p, ms);
    return true;
  } catch {
    return false;
  }
}
