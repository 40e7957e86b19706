/*
 * A one-line progress bar on stderr for long admin operations. Only on a terminal:
 * piped or logged output gets no carriage returns, just the final report.
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled: boolean = Boolean(process.stderr.isTTY),
  ) {}

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    this.stream.write(`\r${renderBar(this.label, done, this.total, now - this.started)}`);
  }

  finish(): void {
    if (this.enabled) this.stream.write('\n');
  }
}

/** `label [#####.....]  45% 45,000/100,000  3,200/s` */
export function renderBar(label: string, done: number, total: number, elapsedMs: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  const rate = elapsedMs > 0 ? Math.round((done * 1000) / elapsedMs) : 0;
  const n = (v: number) => v.toLocaleString('en-US');
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${n(done)}/${n(total)}  ${n(rate)}/s`;
}
