// Typed access to the animatediff.* settings.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { PRESET_NAMES, SETTING_DEFAULTS, type SettingDefaults, type SettingField } from './params';
import { expandPath } from './paths';
import { Dtype, type ModelSources, type Preset, type TorchDevice } from './protocol';

export const SECTION = 'animatediff';
export const DEFAULT_SCRATCHPAD = '~/tt-scratchpad/tt-animatediff';

export interface StudioConfig {
  pythonPath: string; // expanded; '' when unset
  scratchpadPath: string; // expanded
  ttMetalHome: string; // expanded; '' when unset
  models: ModelSources; // empty entries dropped: the sidecar's defaults apply
  defaults: SettingDefaults;
  device: TorchDevice;
  preset: Preset | undefined; // animatediff.preset as the user set it; undefined: by hardware (params.presetForHardware)
  dtype: Dtype; // animatediff.dtype
  pipInstall: boolean;
}

function pathContext() {
  return { home: os.homedir(), workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath };
}

export function expandSetting(value: string): string {
  return value.trim() ? expandPath(value, pathContext()) : '';
}

export function readConfig(): StudioConfig {
  const c = vscode.workspace.getConfiguration(SECTION);
  const str = (key: string, fallback = '') => c.get<string>(key, fallback) ?? fallback;
  const num = (key: string, fallback: number) => {
    const v = c.get<number>(key, fallback);
    return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
  };
  const models: ModelSources = {};
  const sd = expandSetting(str('models.sd'));
  const motionAdapter = expandSetting(str('models.motionAdapter'));
  if (sd) models.sd = sd;
  if (motionAdapter) models.motionAdapter = motionAdapter;
  const device = str('device', 'auto');
  return {
    pythonPath: expandSetting(str('pythonPath')),
    scratchpadPath: expandSetting(str('scratchpadPath', DEFAULT_SCRATCHPAD) || DEFAULT_SCRATCHPAD),
    ttMetalHome: expandSetting(str('ttMetalHome')),
    models,
    // animatediff.<wire name> of each form parameter with a setting (generated/parameters.ts)
    defaults: Object.fromEntries(
      (Object.keys(SETTING_DEFAULTS) as SettingField[]).map((key) => [key, num(key, SETTING_DEFAULTS[key])]),
    ) as SettingDefaults,
    device: (['auto', 'cpu', 'cuda', 'mps'].includes(device) ? device : 'auto') as TorchDevice,
    preset: presetSetByUser(c),
    dtype: Dtype.safeParse(str('dtype', 'auto')).data ?? 'auto',
    pipInstall: c.get<boolean>('deploy.pipInstall', true) !== false,
  };
}

/** animatediff.preset where the user (or a workspace) set it to a known preset; else undefined. */
function presetSetByUser(c: vscode.WorkspaceConfiguration): Preset | undefined {
  const set = c.inspect<string>('preset');
  const value = set?.workspaceFolderValue ?? set?.workspaceValue ?? set?.globalValue;
  return (PRESET_NAMES as readonly string[]).includes(value ?? '') ? (value as Preset) : undefined;
}

/** Settings whose change means the running sidecar is stale (it gets them at start). */
export const RESTART_SETTINGS = ['pythonPath', 'scratchpadPath', 'ttMetalHome'].map((k) => `${SECTION}.${k}`);
