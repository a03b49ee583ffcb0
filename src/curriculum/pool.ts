// The task pool a curriculum samples from: validation, empty-arm exclusion and grouping of arms into bandit arms.
import { invalidField } from '../errors.ts';
import type { Arm, TaskPick } from './types.ts';
import { permute } from './permutation.ts';
import { hash32 } from './rng.ts';

/** Largest arm a curriculum accepts (index arithmetic stays in 31-bit integers). */
export const MAX_ARM_SIZE = 2 ** 30;

/** How arms are grouped into the units a bandit scores. */
export type ArmKey = 'category' | 'difficulty' | 'category-difficulty';
export const ARM_KEYS = ['category', 'difficulty', 'category-difficulty'] as const;

export function armKeyOf(arm: { category: string; difficulty: number }, by: ArmKey): string {
  if (by === 'category') return arm.category;
  if (by === 'difficulty') return `d${arm.difficulty}`;
  return `${arm.category}-d${arm.difficulty}`;
}

/** Checks a pool and drops empty arms. Throws when nothing is left to sample. */
export function validatePool(pool: readonly Arm[]): Arm[] {
  if (!Array.isArray(pool)) throw invalidField('pool', 'must be a list of {category, difficulty, size}');
  const seen = new Set<string>();
  const kept: Arm[] = [];
  pool.forEach((arm, i) => {
    const f = `pool.${i}`;
    if (typeof arm?.category !== 'string' || arm.category === '') throw invalidField(`${f}.category`, 'must be a non-empty string');
    if (!Number.isInteger(arm.difficulty)) throw invalidField(`${f}.difficulty`, `must be an integer, got ${String(arm.difficulty)}`);
    if (!Number.isInteger(arm.size) || arm.size < 0 || arm.size > MAX_ARM_SIZE) {
      throw invalidField(`${f}.size`, `must be an integer in [0, ${MAX_ARM_SIZE}], got ${String(arm.size)}`);
    }
    const key = `${arm.category}\u0000${arm.difficulty}`;
    if (seen.has(key)) throw invalidField(f, `duplicate arm ${arm.category}/d${arm.difficulty}`);
    seen.add(key);
    if (arm.size > 0) kept.push({ category: arm.category, difficulty: arm.difficulty, size: arm.size });
  });
  if (kept.length === 0) throw invalidField('pool', 'every arm is empty: no task to sample');
  return kept;
}

/** Several arms sampled as one unit (a bandit arm): its items are the member arms' tasks laid end to end. */
export interface ArmGroup {
  key: string;
  members: Arm[];
  size: number;
}

/** Groups non-empty arms by key, in first-seen order (deterministic). */
export function groupArms(arms: readonly Arm[], by: ArmKey): ArmGroup[] {
  const groups = new Map<string, ArmGroup>();
  for (const arm of arms) {
    if (arm.size === 0) continue;
    const key = armKeyOf(arm, by);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, members: [], size: 0 }));
    g.members.push(arm);
    g.size += arm.size;
  }
  return [...groups.values()];
}

/** The task at position `i` of a group's concatenated items. */
export function itemOf(group: ArmGroup, i: number): TaskPick {
  let rest = i;
  for (const arm of group.members) {
    if (rest < arm.size) return { category: arm.category, difficulty: arm.difficulty, index: rest };
    rest -= arm.size;
  }
  throw new RangeError(`item ${i} out of range for group ${group.key} of size ${group.size}`);
}

/** Per-group cursor over a shuffled order: draws without replacement, reshuffles (new epoch) when exhausted. */
export interface Cursor {
  epoch: number;
  pos: number;
}

export function drawWithoutReplacement(group: ArmGroup, cursor: Cursor, seed: number, groupIndex: number): TaskPick {
  if (cursor.pos >= group.size) {
    cursor.epoch += 1;
    cursor.pos = 0;
  }
  const key = hash32(hash32(seed, groupIndex), cursor.epoch);
  const i = permute(cursor.pos, group.size, key);
  cursor.pos += 1;
  return itemOf(group, i);
}
