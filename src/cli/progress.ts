/**
 * A progress bar on stderr: epoch, bar, batches, throughput, running loss and accuracy, ETA. On a
 * terminal it redraws one line (at most ~10 times a second); otherwise (a log file, a CI console) it
 * prints a plain line every 10% so logs stay short.
 */
export interface Sink { write(s: string): unknown; isTTY?: boolean; columns?: number }

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

export class ProgressBar {
  private lastDraw = 0;
  private lastDecile = -1;
  private lastDone = -1;
  private start = 0;
  private startDone = 0;
  constructor(private readonly out: Sink, private readonly label: string, private readonly total: number, private readonly batchSize: number) {}

  begin(done: number): void { this.start = performance.now(); this.startDone = done; this.lastDecile = Math.floor((10 * done) / Math.max(this.total, 1)) - 1; }

  /** `done` batches of `total`; loss/accuracy are the epoch's running means so far. */
  update(done: number, loss: number, accuracy: number, force = false): void {
    const now = performance.now(), tty = !!this.out.isTTY;
    const decile = Math.floor((10 * done) / Math.max(this.total, 1));
    if (tty ? !force && now - this.lastDraw < 100 && done < this.total : (force ? done === this.lastDone : decile === this.lastDecile)) return;
    this.lastDraw = now; this.lastDecile = decile; this.lastDone = done;
    const secs = (now - this.start) / 1000, steps = done - this.startDone;
    const rate = steps > 0 && secs > 0 ? (steps * this.batchSize) / secs : 0;
    const eta = steps > 0 ? ((this.total - done) * secs) / steps : NaN;
    const pct = Math.floor((100 * done) / Math.max(this.total, 1));
    const stats = `${done}/${this.total} ${rate.toFixed(0)} img/s loss ${loss.toFixed(4)} acc ${(accuracy * 100).toFixed(1)}% ETA ${formatDuration(eta)}`;
    if (tty) {
      const width = Math.max(10, Math.min(30, (this.out.columns ?? 100) - this.label.length - stats.length - 10));
      const fill = Math.round((width * done) / Math.max(this.total, 1));
      this.out.write(`\r${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${stats}\x1b[K`);
    } else this.out.write(`${this.label} ${String(pct).padStart(3)}% ${stats}\n`);
  }

  /** Ends the bar's line (terminal) so the next output starts on a fresh one. */
  end(): void { if (this.out.isTTY) this.out.write('\n'); }
}
