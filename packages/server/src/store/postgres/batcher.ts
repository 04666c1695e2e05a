/**
 * Group commit for statements: while one batch is in flight, calls queue up, and everything that
 * queued goes as the next batch. A lone call goes on the next turn of the event loop (so calls
 * made in the same turn, such as the settles of jobs that ended together, share its statement);
 * a burst costs one round trip and one commit per batch instead of one per call.
 */
export class Batcher<Input, Output> {
  private queue: { input: Input; resolve(output: Output): void; reject(error: unknown): void }[] = [];
  private inFlight = false;

  /**
   * @param send runs one batch: resolves with one outcome per input, in order (a promise where an
   * input needs more work of its own); a rejection fails every call in the batch.
   */
  constructor(
    private readonly maxBatch: number,
    private readonly send: (inputs: Input[]) => Promise<(Output | Promise<Output>)[]>,
  ) {}

  add(input: Input): Promise<Output> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (this.inFlight) return;
      this.inFlight = true;
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const outputs = await this.send(batch.map((call) => call.input));
        batch.forEach(
          (call, i) =>
            void Promise.resolve(outputs[i]!).then(
              (output) => call.resolve(output),
              (error: unknown) => call.reject(error),
            ),
        );
      } catch (error) {
        for (const call of batch) call.reject(error);
      }
    }
    this.inFlight = false;
  }
}
