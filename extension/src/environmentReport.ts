// Turns studio/environment into a one-line summary and a detailed report for the log. Pure.
import type { Environment } from './protocol';

export interface EnvironmentReport {
  summary: string;
  lines: string[];
  deployed: boolean;
  modelsReady: boolean;
  blackhole: boolean;
}

export function reportEnvironment(env: Environment): EnvironmentReport {
  const torch = env.torch.version ? `torch ${env.torch.version} (${env.torch.devices.join(', ') || 'no devices'})` : 'torch missing';
  const bh = env.blackhole.available
    ? `Blackhole: ${env.blackhole.deviceCount} device${env.blackhole.deviceCount === 1 ? '' : 's'}`
    : 'Blackhole: not available, Phase 2 runs its algorithm on CPU';
  const modelsReady = env.models.length > 0 && env.models.every((m) => m.available);
  const summary = `Python ${env.python.version} · ${torch} · diffusers ${env.diffusers ?? 'missing'} · ${bh}`;
  const lines = [
    `Python       ${env.python.version} (${env.python.executable})`,
    `torch        ${env.torch.version ?? 'not installed'}${env.torch.error ? ` — ${env.torch.error}` : ''}; devices: ${env.torch.devices.join(', ') || 'none'}`,
    `diffusers    ${env.diffusers ?? 'not installed'}`,
    `transformers ${env.transformers ?? 'not installed'}`,
    `ttnn         ${env.ttnn.importable ? `importable${env.ttnn.version ? ` (${env.ttnn.version})` : ''}` : `not importable${env.ttnn.error ? ` — ${env.ttnn.error}` : ''}`}`,
    `Blackhole    ${env.blackhole.available ? `${env.blackhole.deviceCount} device(s)` : 'not available'} — ${env.blackhole.reason}`,
    `TT_METAL_HOME ${env.ttMetalHome.value ?? '(unset)'}${env.ttMetalHome.valid ? ` — SD demo at ${env.ttMetalHome.demoPath}` : env.ttMetalHome.error ? ` — ${env.ttMetalHome.error}` : ''}`,
    `scratchpad   ${env.scratchpad.path} — ${env.scratchpad.deployed ? `deployed${env.scratchpad.version ? ` (version ${env.scratchpad.version})` : ''}` : 'not deployed yet'}`,
    `ttnn check   ${env.ttnnCheck ? `${env.ttnnCheck.python ? 'ready' : 'no ttnn venv yet'} — in the scratchpad: ${env.ttnnCheck.command}` : 'unknown (redeploy the lesson)'}`,
    ...env.models.map(
      (m) => `model ${m.role.padEnd(13)} ${m.source} — ${m.available ? `available at ${m.path}` : `missing${m.fix ? `: ${m.fix}` : ''}`}`,
    ),
  ];
  return { summary, lines, deployed: env.scratchpad.deployed, modelsReady, blackhole: env.blackhole.available };
}
