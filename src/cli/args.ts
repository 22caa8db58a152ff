/**
 * Command-line options: `--name value` or `--name=value`, validated into typed values. Every mistake is an
 * OptionError naming the option and what was expected (the CLI prints it on one line and exits 2).
 */
import { OptionError } from '../errors.js';

export interface OptionSpec {
  /** 'int' = positive integer (or non-negative with min 0), 'number' = positive finite number, 'flag' takes no value. */
  type: 'int' | 'number' | 'string' | 'choice' | 'flag';
  choices?: readonly string[];
  default?: string | number | boolean;
  /** Smallest allowed value for int/number (default 1 for int, exclusive 0 for number). */
  min?: number;
  help: string;
  /** Value shown in help instead of the type. */
  meta?: string;
}

export type Parsed = Record<string, string | number | boolean | undefined>;

export function parseArgs(argv: readonly string[], specs: Readonly<Record<string, OptionSpec>>): Parsed {
  const out: Parsed = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new OptionError(arg, `unexpected argument ${JSON.stringify(arg)}; options look like --name value`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = specs[name];
    if (!spec) throw new OptionError(`--${name}`, `unknown option; expected one of ${Object.keys(specs).map((k) => `--${k}`).join(', ')}`);
    if (spec.type === 'flag') {
      if (eq >= 0) throw new OptionError(`--${name}`, 'takes no value');
      out[name] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      // A following option is not a value, except a negative number (reported as out of range below).
      if (raw === undefined || (raw.startsWith('--') && !/^--?\d/.test(raw))) throw new OptionError(`--${name}`, `needs a value (${expected(spec)})`);
      i++;
    }
    if (name in out) throw new OptionError(`--${name}`, 'given twice');
    out[name] = convert(name, raw, spec);
  }
  for (const [name, spec] of Object.entries(specs)) if (!(name in out) && spec.default !== undefined) out[name] = spec.default;
  return out;
}

function expected(spec: OptionSpec): string {
  switch (spec.type) {
    case 'int': return (spec.min ?? 1) <= 0 ? 'a non-negative integer' : `an integer >= ${spec.min ?? 1}`;
    case 'number': return spec.min !== undefined ? `a number >= ${spec.min}` : 'a positive number';
    case 'choice': return `one of ${spec.choices!.join(', ')}`;
    default: return 'a value';
  }
}

function convert(name: string, raw: string, spec: OptionSpec): string | number {
  const bad = () => new OptionError(`--${name}`, `expected ${expected(spec)}, got ${JSON.stringify(raw)}`);
  switch (spec.type) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw.trim())) throw bad();
      const v = Number(raw);
      if (!Number.isSafeInteger(v) || v < (spec.min ?? 1)) throw bad();
      return v;
    }
    case 'number': {
      const v = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(v) || (spec.min !== undefined ? v < spec.min : v <= 0)) throw bad();
      return v;
    }
    case 'choice':
      if (!spec.choices!.includes(raw)) throw bad();
      return raw;
    default:
      if (raw === '') throw new OptionError(`--${name}`, 'expected a non-empty value');
      return raw;
  }
}

export function helpText(specs: Readonly<Record<string, OptionSpec>>): string {
  return Object.entries(specs).map(([name, s]) => {
    const meta = s.type === 'flag' ? '' : ` ${s.meta ?? (s.type === 'choice' ? s.choices!.join('|') : s.type === 'int' ? 'N' : s.type === 'number' ? 'X' : 'VALUE')}`;
    const def = s.default !== undefined && s.type !== 'flag' ? ` (default ${s.default})` : '';
    return `  --${name}${meta}`.padEnd(34) + ` ${s.help}${def}`;
  }).join('\n');
}
