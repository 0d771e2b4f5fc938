/**
 * A one-line progress indicator on stderr, shown only on a terminal so piped output and logs stay clean.
 * `enabled: false` forces it off (e.g. human-readable output already shows each file).
 */
export class Progress {
  private count = 0;
  private readonly started = Date.now();
  private readonly active: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    options: { enabled?: boolean } = {},
  ) {
    this.active = (options.enabled ?? true) && Boolean(process.stderr.isTTY) && total > 1;
  }

  tick(): void {
    this.count++;
    if (!this.active) return;
    const seconds = (Date.now() - this.started) / 1000;
    const rate = this.count / Math.max(seconds, 1e-3);
    const width = 24;
    const filled = Math.round((this.count / this.total) * width);
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.count}/${this.total} ${rate.toFixed(1)}/s`,
    );
  }

  done(): void {
    if (this.active) process.stderr.write('\n');
  }
}
