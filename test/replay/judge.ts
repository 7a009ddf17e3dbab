// Whether two servers' answers to one statement are the same, the same after allowed differences, or not.
import type { CorpusEntry } from './corpus.js';
import type { AllowedDifference } from './differences.js';
import type { Outcome } from './outcome.js';

export interface Verdict {
  entry: CorpusEntry;
  result: 'match' | 'allowed' | 'mismatch';
  /** the rules applied, in order (the last one made the answers equal) */
  rules: string[];
  keapgres?: Outcome;
  postgres?: Outcome;
  /** keapgres answered with an ErrorResponse */
  keapgresError?: boolean;
  /** both outcomes after the rules that applied */
  normalised?: [Outcome, Outcome];
}

function same(a: Outcome, b: Outcome): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function judge(entry: CorpusEntry, k: Outcome, p: Outcome, differences: AllowedDifference[]): Verdict {
  if (same(k, p)) return { entry, result: 'match', rules: [], keapgresError: k.some((i) => i.kind === 'message' && i.text.startsWith('ERROR')) };
  const sql = entry.sql ?? '';
  let [a, b] = [k, p];
  const used: string[] = [];
  for (const rule of differences) {
    if (!rule.applies(sql)) continue;
    [a, b] = rule.normalise(a, b);
    used.push(rule.name);
    if (same(a, b)) return { entry, result: 'allowed', rules: used };
  }
  return { entry, result: 'mismatch', rules: used, keapgres: k, postgres: p, normalised: [a, b] };
}
