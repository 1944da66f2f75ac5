// How the sidecar process is started: argv and environment. Pure, so the rules are unit-tested.
import * as path from 'node:path';

export interface LaunchSpec {
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd?: string;
}

export interface LaunchInputs {
  interpreter: string;
  /** Folder holding python/sidecar and python/tt-animatediff (the extension's install folder). */
  extensionRoot: string;
  scratchpad: string;
  /** Empty/undefined: keep whatever TT_METAL_HOME the environment has. */
  ttMetalHome?: string;
  baseEnv: Record<string, string | undefined>;
  delimiter?: string;
}

export function sidecarPaths(extensionRoot: string): { sidecarDir: string; bundleDir: string } {
  return {
    sidecarDir: path.join(extensionRoot, 'python', 'sidecar'),
    bundleDir: path.join(extensionRoot, 'python', 'tt-animatediff'),
  };
}

export function buildLaunch(i: LaunchInputs): LaunchSpec {
  const { sidecarDir, bundleDir } = sidecarPaths(i.extensionRoot);
  const delimiter = i.delimiter ?? path.delimiter;
  const env: Record<string, string | undefined> = { ...i.baseEnv };
  // Unbuffered: stderr lines reach the log as they happen, and nothing is lost on a crash.
  env.PYTHONUNBUFFERED = '1';
  // The packaged sidecar comes first so a stale installed copy can never shadow it.
  env.PYTHONPATH = [sidecarDir, i.baseEnv.PYTHONPATH].filter((p) => p && p.length > 0).join(delimiter);
  if (i.ttMetalHome && i.ttMetalHome.trim()) env.TT_METAL_HOME = i.ttMetalHome;
  return {
    command: i.interpreter,
    args: ['-m', 'animatediff_sidecar', '--scratchpad', i.scratchpad, '--bundle', bundleDir],
    env,
  };
}
