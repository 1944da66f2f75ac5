// The "AnimateDiff" output channel: extension events and the sidecar's stderr, timestamped.
import * as vscode from 'vscode';
import type { Logger } from './sidecar/client';

export class Log implements Logger, vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('AnimateDiff');

  info(message: string): void {
    this.write('info', message);
  }

  warn(message: string): void {
    this.write('warn', message);
  }

  error(message: string): void {
    this.write('error', message);
  }

  /** Verbatim: the sidecar's own log lines already start with "[sidecar]". */
  stderr(line: string): void {
    this.channel.appendLine(line);
  }

  /** Raw output of a child process we run (pip). */
  raw(text: string): void {
    this.channel.append(text);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }

  private write(level: string, message: string): void {
    this.channel.appendLine(`${new Date().toISOString()} [${level}] ${message}`);
  }
}
