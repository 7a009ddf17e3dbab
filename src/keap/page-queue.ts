// A bounded hand-off between concurrent page fetchers and the one consumer of a fetch: fetchers wait when
// the consumer falls behind, so a slow loader never makes a whole table pile up in memory.

export class PageQueue<T> {
  private readonly items: T[] = [];
  private readonly waitingProducers: Array<() => void> = [];
  private wakeConsumer: (() => void) | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;

  constructor(private readonly highWater: number) {}

  /** Resolves once the item is queued; returns false when the queue was ended meanwhile (stop producing). */
  async push(item: T): Promise<boolean> {
    while (this.items.length >= this.highWater && !this.ended) {
      await new Promise<void>((resolve) => this.waitingProducers.push(resolve));
    }
    if (this.ended) return false;
    this.items.push(item);
    this.wake();
    return true;
  }

  /** No more items; with an error, the consumer gets it after nothing (the queued items are discarded). */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (error !== undefined) {
      this.failure = { error };
      this.items.length = 0;
    }
    for (const resolve of this.waitingProducers.splice(0)) resolve();
    this.wake();
  }

  async *drain(): AsyncGenerator<T> {
    for (;;) {
      if (this.failure) throw this.failure.error;
      const item = this.items.shift();
      if (item !== undefined) {
        this.waitingProducers.shift()?.();
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
  }
}
