// Which Python runs the sidecar: the setting, else the ms-python extension's active environment,
// else "python3". Pure: the ms-python lookup is passed in (pythonExtension.ts does it for real).

export type InterpreterSource = 'setting' | 'ms-python' | 'default';

export interface ResolvedInterpreter {
  path: string;
  source: InterpreterSource;
}

export interface InterpreterSources {
  /** animatediff.pythonPath, already expanded; empty means unset. */
  setting?: string;
  /** Asks the Python extension; undefined when it is not installed or has no environment. */
  msPython?: () => Promise<string | undefined>;
  fallback?: string;
}

export const DEFAULT_INTERPRETER = 'python3';

export async function resolveInterpreter(s: InterpreterSources): Promise<ResolvedInterpreter> {
  if (s.setting && s.setting.trim()) return { path: s.setting.trim(), source: 'setting' };
  if (s.msPython) {
    try {
      const fromExtension = await s.msPython();
      if (fromExtension && fromExtension.trim()) return { path: fromExtension.trim(), source: 'ms-python' };
    } catch {
      // A broken or slow Python extension must not block the lesson: fall through.
    }
  }
  return { path: s.fallback ?? DEFAULT_INTERPRETER, source: 'default' };
}
