// The run form, remembered per workspace (workspaceState), merged over the settings' defaults. Where the
// user has not chosen a preset, the form starts with the one params.py gives this hardware (on a CPU the
// Fast preset: a first clip in minutes), so it needs to know which torch devices the machine has.
import type * as vscode from 'vscode';
import { readConfig } from '../config';
import { defaultForm, mergeRemembered, presetForHardware, type RunForm } from '../params';

const KEY = 'animatediff.runForm';

export class FormStore {
  /** `devices`: studio/environment's torch.devices (undefined when they cannot be learnt). */
  constructor(
    private readonly state: vscode.Memento,
    private readonly devices: () => Promise<readonly string[] | undefined>,
  ) {}

  async get(): Promise<RunForm> {
    const config = readConfig();
    const remembered = this.state.get<unknown>(KEY);
    const preset = config.preset ?? presetForHardware(config.device, await this.devices());
    return mergeRemembered(defaultForm(config.defaults, preset), remembered);
  }

  save(form: RunForm): Thenable<void> {
    return this.state.update(KEY, form);
  }
}
