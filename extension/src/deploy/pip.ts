// `pip install -e <scratchpad>` (plus the sidecar's own requirements) with the chosen interpreter.
import { spawn } from 'node:child_process';

/** The sidecar's runtime requirements (root pyproject.toml [project].dependencies; a unit test keeps them equal). */
export const SIDECAR_REQUIREMENTS = ['pygls>=2.0', 'msgpack>=1.0'];

export function pipInstallArgs(target: string): string[] {
  return ['-m', 'pip', 'install', '--disable-pip-version-check', '-e', target, ...SIDECAR_REQUIREMENTS];
}

/** pip refuses system Pythons that are managed by the OS (PEP 668): say what to do instead. */
export function explainPipFailure(output: string): string | undefined {
  if (/externally-managed-environment/.test(output)) {
    return 'This Python is managed by the operating system, so pip may not install into it. Create a virtual environment (python3 -m venv ~/.venvs/animatediff) and set animatediff.pythonPath to its python.';
  }
  if (/No module named pip/.test(output)) return 'This Python has no pip. Install it (python3 -m ensurepip) or choose another interpreter.';
  return undefined;
}

export interface PipRun {
  code: number | null;
  output: string;
  cancelled: boolean;
}

export function runPip(
  interpreter: string,
  args: string[],
  onOutput: (text: string) => void,
  cancel: { onCancellationRequested(listener: () => void): unknown; isCancellationRequested: boolean },
): Promise<PipRun> {
  return new Promise((resolve) => {
    const child = spawn(interpreter, args, { env: { ...process.env, PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let cancelled = false;
    const take = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-20_000);
      onOutput(text);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    cancel.onCancellationRequested(() => {
      cancelled = true;
      child.kill('SIGTERM');
    });
    child.on('error', (err) => resolve({ code: null, output: `${output}\n${err.message}`, cancelled }));
    child.on('close', (code) => resolve({ code, output, cancelled }));
  });
}
