import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/store/postgres/batcher.js';

/** A send whose batches the test finishes by hand, in any order. */
function heldSend() {
  const batches: { inputs: number[]; finish(): void; fail(error: Error): void }[] = [];
  const send = (inputs: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push({
        inputs,
        finish: () => resolve(inputs.map((n) => n * 10)),
        fail: (error) => reject(error),
      });
    });
  return { send, batches };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('puts calls made in one turn into one batch, and the calls made while it is in flight into the next; a failure fails its batch', async () => {
    const held = heldSend();
    const batcher = new Batcher(100, held.send);
    const first = [1, 2, 3].map((n) => batcher.add(n));
    await turn();
    const second = [4, 5].map((n) => batcher.add(n));
    await turn();
    expect(held.batches.map((b) => b.inputs)).toEqual([[1, 2, 3]]);
    held.batches[0]!.finish();
    await expect(Promise.all(first)).resolves.toEqual([10, 20, 30]);
    expect(held.batches.map((b) => b.inputs)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    // A failed batch fails its own calls, and only those.
    held.batches[1]!.fail(new Error('connection lost'));
    for (const call of second) await expect(call).rejects.toThrow('connection lost');
  });

  it('splits a queue longer than the largest batch', async () => {
    const held = heldSend();
    const batcher = new Batcher(2, held.send);
    const calls = [1, 2, 3, 4, 5].map((n) => batcher.add(n));
    await turn();
    expect(held.batches.map((x) => x.inputs)).toEqual([[1, 2]]);
    held.batches[0]!.finish();
    await turn();
    expect(held.batches.map((x) => x.inputs)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    held.batches[1]!.finish();
    await turn();
    held.batches[2]!.finish();
    await expect(Promise.all(calls)).resolves.toEqual([10, 20, 30, 40, 50]);
  });
});
