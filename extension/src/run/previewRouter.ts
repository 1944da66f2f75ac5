// What the preview panel asks for, routed to the run controller, the remembered form and the
// environment. The panel itself (previewPanel.ts) only validates messages; runs live in runController.ts.
import { readConfig } from '../config';
import { presetNote } from '../params';
import type { Studio } from '../studio';
import type { PreviewInbound } from '../webview/messages';
import { openRunOutput } from '../webview/openOutput';
import type { PreviewPanel } from '../webview/previewPanel';
import type { FormStore } from './formStore';
import { blackholeState, type RunController } from './runController';

export class PreviewRouter {
  constructor(
    private readonly studio: Studio,
    private readonly runs: RunController,
    private readonly forms: FormStore,
  ) {}

  async route(message: PreviewInbound, panel: PreviewPanel): Promise<void> {
    switch (message.type) {
      case 'ready': {
        const form = await this.forms.get(); // learns the machine's devices first (the preset may follow them)
        const env = this.studio.environment.peek();
        const config = readConfig();
        const note = presetNote(config.preset, config.device, env?.torch.devices);
        void panel.post({ type: 'init', form, blackhole: blackholeState(env), running: this.runs.isRunning, presetNote: note });
        for (const m of this.runs.replay()) void panel.post(m);
        // Learn whether Blackhole is there, so the form can disable that choice with its reason.
        if (!env) this.studio.environment.get().catch((e: Error) => this.studio.log.warn(`Environment check failed: ${e.message}`));
        await this.runs.showEstimates(form);
        return;
      }
      case 'run':
        await this.runs.run(message.phase === 2 ? { phase: 2, backend: message.form.backend } : { phase: message.phase }, message.form);
        return;
      case 'formChanged':
        // Remembered as typed, so palette runs (and the next session) use what the panel shows.
        if (message.form && !this.runs.isRunning) await this.forms.save(message.form);
        if (message.form) await this.runs.showEstimates(message.form);
        return;
      case 'runRejected':
        void panel.post({ type: 'formErrors', errors: message.errors });
        return;
      case 'cancel':
        await this.runs.cancel();
        return;
      case 'refreshEnvironment':
        await this.studio.environment.get(true);
        return;
      case 'openFile':
        await openRunOutput(message.path, panel.allowedRoots(), this.studio.log);
        return;
      case 'errorAction':
        await this.runs.runErrorAction(message.index);
        return;
    }
  }
}
