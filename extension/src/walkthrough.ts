// Walkthrough steps tick through `onContext:animatediff.<x>Done` keys, set only when a command
// succeeds. They are remembered (globalState) and re-set on activation, so ticks survive reloads.
import * as vscode from 'vscode';
import { DONE_KEYS, WALKTHROUGH_ID, type DoneKey } from './walkthroughKeys';

export class WalkthroughProgress {
  constructor(private readonly state: vscode.Memento) {}

  async restore(): Promise<void> {
    for (const key of DONE_KEYS) {
      if (this.state.get<boolean>(storageKey(key))) await setContext(key, true);
    }
  }

  async markDone(key: DoneKey): Promise<void> {
    await this.state.update(storageKey(key), true);
    await setContext(key, true);
  }
}

function storageKey(key: DoneKey): string {
  return `animatediff.walkthrough.${key}`;
}

function setContext(key: DoneKey, value: boolean): Thenable<unknown> {
  return vscode.commands.executeCommand('setContext', `animatediff.${key}`, value);
}

export function openWalkthrough(extensionId: string): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openWalkthrough', `${extensionId}#${WALKTHROUGH_ID}`, false);
}
