// The one "AnimateDiff Preview" panel (created on demand, revealed when it exists).
import * as vscode from 'vscode';
import type { Log } from '../log';
import { checkPreviewMessage, type PreviewInbound } from './messages';
import type { PreviewOutbound } from './outbound';
import { StudioPanel } from './panel';
import { PREVIEW_TITLE, previewBody } from './previewHtml';

export type PreviewPanel = StudioPanel<PreviewInbound, PreviewOutbound>;

export class PreviewPanelHost implements vscode.Disposable {
  private current?: PreviewPanel;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: Log,
    private readonly outputRoots: () => string[],
    private readonly onMessage: (message: PreviewInbound, panel: PreviewPanel) => void | Promise<void>,
  ) {}

  get panel(): PreviewPanel | undefined {
    return this.current;
  }

  show(preserveFocus = false): PreviewPanel {
    if (this.current) {
      this.current.reveal(preserveFocus);
      return this.current;
    }
    const panel: PreviewPanel = new StudioPanel<PreviewInbound, PreviewOutbound>({
      viewType: 'animatediff.preview',
      title: PREVIEW_TITLE,
      extensionUri: this.extensionUri,
      script: 'preview.js',
      styles: ['common.css', 'preview.css'],
      body: previewBody(),
      outputRoots: this.outputRoots(),
      // Keeps the live grid while the tab is in the background (a run can take minutes).
      retainContextWhenHidden: true,
      check: checkPreviewMessage,
      onMessage: (m) => this.onMessage(m, panel),
      log: this.log,
    });
    panel.onDidDispose(() => {
      if (this.current === panel) this.current = undefined;
    });
    this.current = panel;
    return panel;
  }

  post(message: PreviewOutbound): void {
    void this.current?.post(message);
  }

  dispose(): void {
    this.current?.dispose();
  }
}
