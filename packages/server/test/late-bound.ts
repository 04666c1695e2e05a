/**
 * Stands for a value a `beforeAll` makes, before it exists: every property is read from `current()`
 * when it is used. So a suite names its server once, at the top, as a plain constant, and its tests
 * use it as they would the real one. Reading it outside a test or hook throws.
 */
export function lateBound<T extends object>(what: string, current: () => T | undefined): T {
  const value = (): T => {
    const now = current();
    if (now === undefined) throw new Error(`${what} does not exist yet: it is made in beforeAll; use it in tests and hooks`);
    return now;
  };
  return new Proxy({} as T, { get: (_, key): unknown => Reflect.get(value(), key) });
}
