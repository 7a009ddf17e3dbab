// The grammar of a connection string: `Name=Value` pairs separated by `;`. A value that holds `;`,
// `=` or leading/trailing spaces is quoted with ' or " (a doubled quote inside stands for one).
import { ConfigError } from './config-error.js';

export interface ConnectionPair {
  /** the name as written, trimmed */
  name: string;
  value: string;
  /** 1-based character position of the name, for messages that must not quote the text itself */
  position: number;
  quoted: boolean;
}

/** Pair shapes the lenient tokenizer reports instead of throwing, so masking never leaks text. */
export interface LenientPair extends ConnectionPair {
  /** a segment with no `=`, or a value whose quote never closed: its text cannot be trusted to be harmless */
  broken: boolean;
}

const QUOTE_HINT = "Quote a value that contains ';', '=' or leading or trailing spaces with ' or \", doubling any quote inside it.";

export function tokenizeConnectionString(s: string): ConnectionPair[] {
  return tokenize(s, false);
}

export function tokenizeLeniently(s: string): LenientPair[] {
  return tokenize(s, true) as LenientPair[];
}

function tokenize(s: string, lenient: boolean): ConnectionPair[] | LenientPair[] {
  const pairs: LenientPair[] = [];
  let i = 0;
  const n = s.length;
  const previousName = () => (pairs.length ? ` after property "${pairs[pairs.length - 1]!.name}"` : '');
  while (i < n) {
    while (i < n && (isSpace(s[i]!) || s[i] === ';')) i++;
    if (i >= n) break;
    const nameStart = i;
    while (i < n && s[i] !== '=' && s[i] !== ';') i++;
    const name = s.slice(nameStart, i).trim();
    if (i >= n || s[i] === ';') {
      if (lenient) {
        pairs.push({ name: s.slice(nameStart, i), value: '', position: nameStart + 1, quoted: false, broken: true });
        continue;
      }
      throw new ConfigError(`connection string syntax error at character ${nameStart + 1}: expected Name=Value${previousName()}`, {
        detail: 'A part of the connection string has no "=". Its text is not shown because it may be part of a secret.',
        hint: QUOTE_HINT,
      });
    }
    if (name === '') {
      if (lenient) {
        pairs.push({ name: '', value: '', position: nameStart + 1, quoted: false, broken: true });
      } else {
        throw new ConfigError(`connection string syntax error at character ${nameStart + 1}: a property name is missing before "="${previousName()}`, {
          hint: QUOTE_HINT,
        });
      }
    }
    i++; // the '='
    while (i < n && isSpace(s[i]!) ) i++;
    const quote = s[i];
    if (quote === "'" || quote === '"') {
      const valueStart = i;
      i++;
      let value = '';
      let closed = false;
      while (i < n) {
        if (s[i] === quote) {
          if (s[i + 1] === quote) {
            value += quote;
            i += 2;
            continue;
          }
          closed = true;
          i++;
          break;
        }
        value += s[i];
        i++;
      }
      if (!closed) {
        if (lenient) {
          pairs.push({ name, value, position: nameStart + 1, quoted: true, broken: true });
          break;
        }
        throw new ConfigError(`connection string syntax error: the quoted value of "${name}" starting at character ${valueStart + 1} has no closing ${quote}`, {
          hint: QUOTE_HINT,
        });
      }
      while (i < n && isSpace(s[i]!)) i++;
      if (i < n && s[i] !== ';') {
        if (lenient) {
          pairs.push({ name, value, position: nameStart + 1, quoted: true, broken: true });
          while (i < n && s[i] !== ';') i++;
          continue;
        }
        throw new ConfigError(`connection string syntax error at character ${i + 1}: expected ";" after the quoted value of "${name}"`, {
          hint: QUOTE_HINT,
        });
      }
      if (name !== '') pairs.push({ name, value, position: nameStart + 1, quoted: true, broken: false });
    } else {
      const valueStart = i;
      while (i < n && s[i] !== ';') i++;
      if (name !== '') pairs.push({ name, value: s.slice(valueStart, i).trim(), position: nameStart + 1, quoted: false, broken: false });
    }
  }
  return pairs;
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/** Quote a value only when the grammar needs it. */
export function quoteValue(value: string): string {
  if (value === '' || /[;='"]/.test(value) || value.trim() !== value) {
    return `'${value.replaceAll("'", "''")}'`;
  }
  return value;
}

/** Names are case-insensitive and may be written with spaces ("Initiate OAuth"). */
export function normalizeName(name: string): string {
  return name.replace(/\s+/g, '').toLowerCase();
}
