// Failures of the sidecar process itself (as opposed to JSON-RPC errors it answers with).

/** The process ended while we were talking to it (crash, kill, OOM). */
export class SidecarExitedError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderrTail: string[],
  ) {
    super(`The AnimateDiff sidecar stopped (${describeExit(exitCode, signal)}).`);
    this.name = 'SidecarExitedError';
  }
}

export type StartFailure = 'interpreterNotFound' | 'missingModules' | 'handshakeFailed';

/** The process could not be started or did not complete the handshake. */
export class SidecarStartError extends Error {
  constructor(
    message: string,
    readonly reason: StartFailure,
    readonly stderrTail: string[],
    readonly interpreter: string,
  ) {
    super(message);
    this.name = 'SidecarStartError';
  }
}

export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `killed by ${signal}`;
  if (code === null) return 'exit status unknown';
  return `exit code ${code}`;
}

/** Python's "No module named 'x'" in the stderr tail, e.g. pygls missing from the interpreter. */
export function missingModuleIn(stderrTail: readonly string[]): string | undefined {
  for (let i = stderrTail.length - 1; i >= 0; i--) {
    const m = /No module named '([^']+)'/.exec(stderrTail[i]);
    if (m) return m[1];
  }
  return undefined;
}
