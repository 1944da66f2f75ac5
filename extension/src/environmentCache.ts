// The last studio/environment answer, so forms and Phase 2 checks need not ask the sidecar again.
import * as vscode from 'vscode';
import { readConfig } from './config';
import type { Environment } from './protocol';
import type { SidecarClient } from './sidecar/client';

export class EnvironmentCache implements vscode.Disposable {
  private value?: Environment;
  private pending?: Promise<Environment>;
  private readonly emitter = new vscode.EventEmitter<Environment | undefined>();
  readonly onDidChange = this.emitter.event;

  constructor(private readonly client: SidecarClient) {}

  peek(): Environment | undefined {
    return this.value;
  }

  /** The cached answer, or a fresh one when `refresh` or nothing is cached yet. */
  get(refresh = false): Promise<Environment> {
    if (this.value && !refresh) return Promise.resolve(this.value);
    if (!this.pending) {
      this.pending = this.client
        .request('studio/environment', { models: readConfig().models })
        .then((env) => {
          this.value = env;
          this.emitter.fire(env);
          return env;
        })
        .finally(() => {
          this.pending = undefined;
        });
    }
    return this.pending;
  }

  invalidate(): void {
    this.value = undefined;
    this.emitter.fire(undefined);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
