// Length-based rewards: the triangular budget reward ("Train Long, Think Short", ALGORITHMS.md 9c) and
// DAPO overlong shaping (ALGORITHMS.md 3.4). Lengths are in tokens.

/** Rlen = Rmax*len/L for len <= L; Rmax*(1-(len-L)/L) for L < len <= 2L; 0 beyond 2L. */
export function triangularLengthReward(length: number, budget: number, rMax = 1): number {
  if (length <= budget) return (rMax * length) / budget;
  if (length <= 2 * budget) return rMax * (1 - (length - budget) / budget);
  return 0;
}

export interface OverlongOptions {
  /** L_max: the generation cap, tokens (default 20480) */
  maxLength: number;
  /** L_buf: the soft-penalty window before L_max, tokens (default 4096) */
  buffer: number;
  /** kappa: penalty at len = L_max (default 1.0) */
  penalty: number;
}

export const DEFAULT_OVERLONG: OverlongOptions = { maxLength: 20480, buffer: 4096, penalty: 1.0 };

/**
 * min(-(len - (L_max - L_buf)) / L_buf * kappa, 0): 0 up to L_max - L_buf, then linear down to -kappa at L_max, and
 * -kappa past it (DAPO's soft overlong punishment; a caller-stated length of 1e9 tokens got -244,136).
 */
export function overlongPenalty(length: number, options: OverlongOptions = DEFAULT_OVERLONG): number {
  const expected = options.maxLength - options.buffer;
  const shaped = Math.max((-(length - expected) / options.buffer) * options.penalty, -options.penalty);
  return shaped < 0 ? shaped : 0;
}
