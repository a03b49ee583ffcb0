// List tasks over single digits: sort, reverse, count, max (difficulty = list length).
import type { CategoryGenerator, Problem } from './problem.ts';
import type { Rng } from './random.ts';

function digits(length: number, rng: Rng): number[] {
  return Array.from({ length }, () => rng.int(0, 9));
}

export const sortGenerator: CategoryGenerator = {
  templates: ['sort {list}', 'Sort ascending: {list}', 'Put {list} in order.'],
  generate(length, rng): Problem {
    const xs = digits(length, rng);
    const sorted = xs.slice().sort((p, q) => p - q);
    const counts = new Map<number, number>();
    for (const x of sorted) counts.set(x, (counts.get(x) ?? 0) + 1);
    const list = xs.join(',');
    return {
      key: `sort:${list}`,
      fields: { list },
      params: { list },
      answer: sorted.join(','),
      // counting sort: "digit:count" for each distinct digit in ascending order
      think: [...counts].map(([d, c]) => `${d}:${c}`).join(' '),
    };
  },
};

export const reverseGenerator: CategoryGenerator = {
  templates: ['reverse {list}', 'Reverse the list {list}', 'Write {list} backwards.'],
  generate(length, rng): Problem {
    const xs = digits(length, rng);
    const list = xs.join(',');
    const rev = xs.slice().reverse();
    return {
      key: `reverse:${list}`,
      fields: { list },
      params: { list },
      answer: rev.join(','),
      think: rev.join(' '), // read from the last element to the first
    };
  },
};

export const countGenerator: CategoryGenerator = {
  templates: ['count {x} in {list}', 'How many {x}s in {list}?', 'Count the {x}s: {list}'],
  generate(length, rng): Problem {
    const xs = digits(length, rng);
    // half of the time the target is drawn from the list, so answers are not mostly 0
    const x = rng.next() < 0.5 ? rng.pick(xs) : rng.int(0, 9);
    const running: number[] = [];
    let n = 0;
    for (const v of xs) {
      if (v === x) n++;
      running.push(n);
    }
    const list = xs.join(',');
    return {
      key: `count:${x}:${list}`,
      fields: { x: String(x), list },
      params: { list, x: String(x) },
      answer: String(n),
      think: running.join(' '), // running count after each element
    };
  },
};

export const maxGenerator: CategoryGenerator = {
  templates: ['max of {list}', 'Largest of {list}?', 'What is the max of {list}?'],
  generate(length, rng): Problem {
    const xs = digits(length, rng);
    const running: number[] = [];
    let m = -1;
    for (const v of xs) {
      m = Math.max(m, v);
      running.push(m);
    }
    const list = xs.join(',');
    return {
      key: `max:${list}`,
      fields: { list },
      params: { list },
      answer: String(m),
      think: running.join(' '), // running maximum after each element
    };
  },
};
