// The "AnimateDiff Outputs" panel: past runs from studio/runs, refreshed after each new run.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeError } from '../errors';
import { toRunCard } from './galleryCards';
import { outputRoots, type Studio } from '../studio';
import { GALLERY_TITLE, galleryBody } from './galleryHtml';
import { checkGalleryMessage, type GalleryInbound } from './messages';
import type { GalleryOutbound } from './outbound';
import { openRunOutput } from './openOutput';
import { rootOf } from './outputRoots';
import { StudioPanel } from './panel';

type GalleryPanel = StudioPanel<GalleryInbound, GalleryOutbound>;

export class GalleryHost implements vscode.Disposable {
  private current?: GalleryPanel;

  constructor(private readonly studio: Studio) {}

  show(): void {
    if (this.current) {
      this.current.reveal();
      void this.refresh();
      return;
    }
    const panel: GalleryPanel = new StudioPanel<GalleryInbound, GalleryOutbound>({
      viewType: 'animatediff.outputs',
      title: GALLERY_TITLE,
      extensionUri: this.studio.context.extensionUri,
      script: 'gallery.js',
      styles: ['common.css', 'gallery.css'],
      body: galleryBody(),
      outputRoots: outputRoots(this.studio),
      retainContextWhenHidden: false,
      check: checkGalleryMessage,
      onMessage: (m) => this.onMessage(m, panel),
      log: this.studio.log,
    });
    panel.onDidDispose(() => {
      if (this.current === panel) this.current = undefined;
    });
    this.current = panel;
  }

  /** Re-reads the runs if the gallery is open. */
  async refresh(): Promise<void> {
    const panel = this.current;
    if (!panel) return;
    void panel.post({ type: 'loading' });
    try {
      const { runs, skipped } = await this.studio.client.request('studio/runs', { limit: 100 });
      const trusted = outputRoots(this.studio);
      panel.allowFiles(runs.map((r) => r.outputs.gif), trusted);
      // A thumbnail only for a GIF really inside an output folder (links resolved): the paths come
      // from JSON files anyone can write.
      const cards = runs.map((r) => toRunCard(r, (f) => (rootOf(f, panel.allowedRoots()) ? panel.webviewUri(f) : null)));
      // A file that is not a run is named with the reason, so a hand-edited JSON does not just vanish.
      const notRuns = skipped.map((s) => ({ file: path.basename(s.path), reason: s.reason }));
      if (notRuns.length) this.studio.log.info(`Outputs: not listed: ${skipped.map((s) => `${s.path} (${s.reason})`).join('; ')}`);
      void panel.post({ type: 'runs', runs: cards, outputDirs: [...new Set(runs.map((r) => path.dirname(r.metadataPath)))], skipped: notRuns });
      await this.studio.walkthrough.markDone('outputsDone');
    } catch (err) {
      const view = describeError(err);
      this.studio.log.error(`Listing runs failed: ${view.message}`);
      void panel.post({ type: 'error', message: view.message });
    }
  }

  dispose(): void {
    this.current?.dispose();
  }

  private async onMessage(message: GalleryInbound, panel: GalleryPanel): Promise<void> {
    switch (message.type) {
      case 'ready':
      case 'refresh':
        await this.refresh();
        return;
      case 'openFile':
        await openRunOutput(message.path, panel.allowedRoots(), this.studio.log);
        return;
    }
  }
}
