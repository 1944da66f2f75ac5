// What the preview needs to redraw the current (or last) run after its page (re)loads: the latest
// message of each kind, not the whole history. Pure.
import type { PreviewOutbound } from '../webview/outbound';

type Of<T extends PreviewOutbound['type']> = Extract<PreviewOutbound, { type: T }>;

export class RunSnapshot {
  private started?: Of<'runStarted'>;
  private status?: Of<'status'>;
  private progress?: Of<'progress'>;
  private preview?: Of<'preview'>;
  private frames = new Map<number, Of<'frameDone'>>();
  private final?: Of<'completed'> | Of<'cancelled'> | Of<'error'>;

  record(message: PreviewOutbound): void {
    switch (message.type) {
      case 'runStarted':
        this.reset();
        this.started = message;
        return;
      case 'status':
        this.status = message;
        return;
      case 'progress':
        this.progress = message;
        return;
      case 'preview':
        this.preview = message;
        return;
      case 'frameDone':
        this.frames.set(message.frame, message);
        return;
      case 'completed':
      case 'cancelled':
      case 'error':
        this.final = message;
        return;
      default:
        return; // init/environment/formErrors are not part of a run
    }
  }

  replay(): PreviewOutbound[] {
    const out: PreviewOutbound[] = [];
    if (this.started) out.push(this.started);
    if (this.progress) out.push(this.progress);
    if (this.preview) out.push(this.preview);
    out.push(...[...this.frames.values()].sort((a, b) => a.frame - b.frame));
    if (this.final) out.push(this.final);
    if (this.status) out.push(this.status);
    return out;
  }

  reset(): void {
    this.started = this.status = this.progress = this.preview = this.final = undefined;
    this.frames.clear();
  }
}
