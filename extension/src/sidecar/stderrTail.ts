// Keeps the last N lines of the sidecar's stderr, so a crash report can show what led up to it.
const MAX_LINE = 4000;

export class StderrTail {
  private lines: string[] = [];
  private partial = '';

  constructor(private readonly capacity = 50) {}

  /** Feeds a raw chunk; returns the complete lines it finished (for live logging). */
  push(chunk: string): string[] {
    // \r too: progress bars redraw a line with \r and would otherwise never end it.
    const parts = (this.partial + chunk).split(/\r\n|\n|\r/);
    this.partial = parts.pop() ?? '';
    if (this.partial.length > MAX_LINE) {
      parts.push(this.partial);
      this.partial = '';
    }
    const lines = parts.filter((line) => line.length > 0);
    for (const line of lines) this.add(line);
    return lines;
  }

  /** Flushes an unterminated last line (at process exit). */
  flush(): string[] {
    if (!this.partial) return [];
    const line = this.partial;
    this.partial = '';
    this.add(line);
    return [line];
  }

  snapshot(): string[] {
    return this.partial ? [...this.lines, this.partial].slice(-this.capacity) : [...this.lines];
  }

  private add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }
}
