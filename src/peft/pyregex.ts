/**
 * Python `re` patterns as JavaScript RegExps. PEFT's configs carry Python regexes
 * (target_modules as a string, exclude_modules, rank_pattern keys, layers_pattern,
 * modules_to_save names spliced into a pattern), so the few spellings that differ are
 * rewritten: `(?P<name>…)` → `(?<name>…)`, `(?P=name)` → `\k<name>`, `\A` → `^`, `\Z` → `$`,
 * and leading global flags `(?i)`, `(?s)`, `(?m)` → RegExp flags. Patterns are compiled
 * without the `u` flag, whose strict escapes Python does not have. What JavaScript cannot
 * express (verbose mode, possessive quantifiers, atomic groups) throws.
 *
 * Known difference left alone: Python's `\d`, `\w` match Unicode digits and letters, and
 * `$` also matches before a final newline; module paths are ASCII without newlines.
 */

/** A Python pattern that JavaScript cannot compile, with the reason. */
export class PythonRegexError extends Error {
  override name = 'PythonRegexError';
}

/**
 * Compiles `body` (a Python pattern, or a template around one) as a JavaScript RegExp.
 * `wrap` places the converted pattern, e.g. `(p) => \`^(?:${p})$\`` for `re.fullmatch`.
 */
export function pyRegex(pattern: string, wrap: (p: string) => string = (p) => p): RegExp {
  const { body, flags } = convert(pattern);
  try {
    return new RegExp(wrap(body), flags);
  } catch (err) {
    throw new PythonRegexError(`invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

/** `re.fullmatch(pattern, s)`. */
export const fullmatch = (pattern: string) => pyRegex(pattern, (p) => `^(?:${p})$`);

const FLAG_MAP: Record<string, string> = { i: 'i', s: 's', m: 'm', a: '', u: '', L: '' };

function convert(pattern: string): { body: string; flags: string } {
  let flags = '';
  let rest = pattern;
  // Python allows global flags only at the start: `(?is)…`.
  const lead = /^\(\?([aiLmsux]+)\)/.exec(rest);
  if (lead) {
    for (const f of lead[1]) {
      if (f === 'x') throw new PythonRegexError(`verbose patterns ((?x)) have no JavaScript equivalent: ${JSON.stringify(pattern)}`);
      if (FLAG_MAP[f] && !flags.includes(FLAG_MAP[f])) flags += FLAG_MAP[f];
    }
    rest = rest.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === '\\') {
      const n = rest[i + 1] ?? '';
      if (!inClass && n === 'A') out += '^';
      else if (!inClass && n === 'Z') out += '$';
      else out += c + n;
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
      if (rest[i + 1] === '^') out += rest[++i];
      if (rest[i + 1] === ']') {
        out += '\\]'; // `[]…]`: a leading ] is literal in Python, an empty class in JavaScript
        i++;
      }
    } else if (rest.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (rest.startsWith('(?P=', i)) {
      const end = rest.indexOf(')', i);
      if (end < 0) throw new PythonRegexError(`unterminated (?P=name) in ${JSON.stringify(pattern)}`);
      out += `\\k<${rest.slice(i + 4, end)}>`;
      i = end;
    } else {
      out += c;
    }
  }
  return { body: out, flags };
}
