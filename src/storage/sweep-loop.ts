// Runs a task every intervalMs until stopped: the background sweep of the expiry
// index. One run at a time; stop() waits for the run in progress.
import type { Startable } from '../time.js';

export class SweepLoop implements Startable {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): Promise<void> {
    if (this.stopped) {
      this.stopped = false;
      this.schedule();
    }
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(this.tick, this.intervalMs);
    this.timer.unref();
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    this.running = this.task().then(
      () => undefined,
      (err: unknown) => this.onError(err),
    );
    void this.running.then(() => {
      this.running = undefined;
      this.schedule();
    });
  };
}
