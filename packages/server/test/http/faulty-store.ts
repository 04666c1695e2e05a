import type { JobStore, StoreHealth } from '../../src/store/job-store.js';

type StoreMethod = {
  [K in keyof JobStore]: JobStore[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof JobStore];

/** A real store that a test can make refuse calls, as a store does when its disk or database is in trouble. */
export interface FaultyStore extends JobStore {
  /** From now on `method` rejects with `error` and changes nothing; `null` lets calls through again. */
  fail(method: StoreMethod, error: Error | null): void;
  /** From now on `health()` answers this; `null` gives the real store's answer again. */
  setHealth(health: StoreHealth | null): void;
  /** From now on calls to `method` wait at a gate until `release()`, then go through; `waiting()` counts the calls at the gate. */
  hold(method: StoreMethod): { release(): void; waiting(): number };
  /** Lets every call through again and gives the real health. */
  heal(): void;
}

/** Wraps `store`: every call goes through to it unless the test said otherwise. */
export function withFaults(store: JobStore): FaultyStore {
  const faults = new Map<PropertyKey, Error>();
  const gates = new Map<PropertyKey, { opened: Promise<void>; waiting: number }>();
  let health: StoreHealth | null = null;
  const controls = {
    fail: (method: StoreMethod, error: Error | null) => {
      if (error) faults.set(method, error);
      else faults.delete(method);
    },
    setHealth: (next: StoreHealth | null) => {
      health = next;
    },
    hold: (method: StoreMethod) => {
      let open = () => {};
      const gate = { opened: new Promise<void>((resolve) => (open = resolve)), waiting: 0 };
      gates.set(method, gate);
      return {
        release: () => {
          gates.delete(method);
          open();
        },
        waiting: () => gate.waiting,
      };
    },
    heal: () => {
      faults.clear();
      health = null;
    },
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'fail' || property === 'setHealth' || property === 'hold' || property === 'heal') return controls[property];
      const error = faults.get(property);
      if (error) return () => Promise.reject(error);
      if (property === 'health' && health) return () => health;
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const call = value as (...args: unknown[]) => unknown;
      const gate = gates.get(property);
      if (!gate) return call.bind(target);
      return async (...args: unknown[]) => {
        gate.waiting += 1;
        await gate.opened;
        gate.waiting -= 1;
        return call.apply(target, args);
      };
    },
  }) as FaultyStore;
}
