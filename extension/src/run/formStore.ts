// The run form, remembered per workspace (workspaceState), merged over the settings' defaults.
import type * as vscode from 'vscode';
import { readConfig } from '../config';
import { defaultForm, mergeRemembered, type RunForm } from '../params';

const KEY = 'animatediff.runForm';

export class FormStore {
  constructor(private readonly state: vscode.Memento) {}

  get(): RunForm {
    const config = readConfig();
    return mergeRemembered(defaultForm(config.defaults, config.preset), this.state.get<unknown>(KEY));
  }

  save(form: RunForm): Thenable<void> {
    return this.state.update(KEY, form);
  }
}
