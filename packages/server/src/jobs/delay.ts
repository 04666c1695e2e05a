export interface DelaySettings {
  minMs: number;
  maxMs: number;
  stepMs: number;
}

/** A uniformly random delay from minMs to maxMs in steps of stepMs (defaults: 5 s to 300 s in 5 s steps). */
export function pickDelayMs({ minMs, maxMs, stepMs }: DelaySettings, random: () => number = Math.random): number {
  const steps = Math.floor((maxMs - minMs) / stepMs);
  return minMs + stepMs * Math.min(steps, Math.floor(random() * (steps + 1)));
}
