// A webview panel with the studio's security rules: scripts only from media/ with a nonce,
// local files only from media/ and run-output folders, every inbound message checked first.
import * as vscode from 'vscode';
import type { Log } from '../log';
import { makeNonce, renderPage } from './html';
import type { Checked } from './messages';
import { withFolders } from './outputRoots';

export interface PanelOptions<In> {
  viewType: string;
  title: string;
  extensionUri: vscode.Uri;
  script: string; // file in media/
  styles: string[]; // files in media/
  body: string;
  outputRoots: string[];
  retainContextWhenHidden: boolean;
  check: (raw: unknown) => Checked<In>;
  onMessage: (message: In) => void | Promise<void>;
  log: Log;
}

export class StudioPanel<In, Out> implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  private roots: string[];
  private readonly media: vscode.Uri;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly opts: PanelOptions<In>, column: vscode.ViewColumn = vscode.ViewColumn.Active) {
    this.media = vscode.Uri.joinPath(opts.extensionUri, 'media');
    this.roots = [...opts.outputRoots];
    this.panel = vscode.window.createWebviewPanel(opts.viewType, opts.title, { viewColumn: column, preserveFocus: false }, {
      ...this.webviewOptions(),
      retainContextWhenHidden: opts.retainContextWhenHidden,
    });
    this.panel.iconPath = vscode.Uri.joinPath(this.media, 'icon.svg');
    this.panel.webview.html = this.html();
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((raw: unknown) => {
        const checked = opts.check(raw);
        if (!checked.ok) {
          opts.log.warn(`Ignored a message from the ${opts.title} webview: ${checked.reason}`);
          return;
        }
        Promise.resolve(opts.onMessage(checked.message)).catch((err: Error) =>
          opts.log.error(`Handling a ${opts.title} message failed: ${err.stack ?? err.message}`),
        );
      }),
    );
  }

  get onDidDispose(): vscode.Event<void> {
    return this.panel.onDidDispose;
  }

  reveal(preserveFocus = false): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  post(message: Out): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  /** Lets the webview load these files when they are inside a `trusted` output folder (adds that
   *  folder to localResourceRoots if needed).
   *  Changing the roots reloads the page; the page then says 'ready' and gets its state replayed. */
  allowFiles(files: (string | null | undefined)[], trusted: readonly string[]): void {
    const next = withFolders(this.roots, files, trusted);
    if (!next.changed) return;
    this.roots = next.roots;
    this.panel.webview.options = this.webviewOptions();
  }

  allowedRoots(): string[] {
    return [...this.roots];
  }

  webviewUri(file: string): string {
    return this.panel.webview.asWebviewUri(vscode.Uri.file(file)).toString();
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
    this.panel.dispose();
  }

  private webviewOptions(): vscode.WebviewOptions {
    return {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [this.media, ...this.roots.map((r) => vscode.Uri.file(r))],
    };
  }

  private html(): string {
    const webview = this.panel.webview;
    const uri = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.media, file)).toString();
    return renderPage({
      title: this.opts.title,
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      styleUris: this.opts.styles.map(uri),
      scriptUri: uri(this.opts.script),
      body: this.opts.body,
    });
  }
}
