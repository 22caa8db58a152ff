/**
 * SQL identifiers: no user string is ever concatenated into SQL. Every table, column or schema name
 * that comes from a user goes through `quoteIdent`, which validates it and quotes it (doubling any `"`),
 * so quotes, semicolons, spaces and Unicode are *handled* (they name exactly that table), while names that
 * cannot be used safely are *rejected* with an IdentifierError:
 * - not a string, or empty;
 * - longer than 63 UTF-8 bytes (PostgreSQL silently truncates longer names, which could name another table);
 * - control characters (NUL and U+0001–U+001F, U+007F), or malformed UTF-16 (lone surrogates).
 * Names the executor generates itself (temporary tables, k0/i0/v columns) are checked against a strict
 * pattern. Values (data, kernel constants) are always bound as statement parameters; integers from a
 * validated plan (key positions, bounds, tile sizes) are rendered by `sqlInt`, which accepts only safe integers.
 * Note: DuckDB matches identifiers case-insensitively even when quoted; PostgreSQL matches quoted names exactly.
 */
import { IdentifierError, PlanError } from '../../errors.js';

export const MAX_IDENTIFIER_BYTES = 63;

export function checkIdentifier(name: unknown): string {
  if (typeof name !== 'string') throw new IdentifierError(String(name), `must be a string, got ${typeof name}`);
  if (name.length === 0) throw new IdentifierError(name, 'is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new IdentifierError(name, 'contains a control character');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) throw new IdentifierError(name, 'is not well-formed Unicode (lone surrogate)');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) throw new IdentifierError(name, `is ${bytes} bytes long; at most ${MAX_IDENTIFIER_BYTES} are allowed`);
  return name;
}

/** A validated, double-quoted identifier. */
export function quoteIdent(name: unknown): string {
  return `"${checkIdentifier(name).replace(/"/g, '""')}"`;
}

/** `"schema"."table"`, or `"table"` without a schema. */
export function quoteTable(table: unknown, schema?: unknown): string {
  return schema === undefined || schema === null ? quoteIdent(table) : `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

const INTERNAL = /^[a-z][a-z0-9_]{0,62}$/;

/** A name the executor generated (temporary tables, payload columns): must match [a-z][a-z0-9_]*. */
export function internalIdent(name: string): string {
  if (!INTERNAL.test(name)) throw new IdentifierError(name, 'is not a valid internal name ([a-z][a-z0-9_]*, at most 63 characters)');
  return `"${name}"`;
}

/** An integer from a validated plan, rendered as a SQL literal. Anything but a safe integer is a PlanError. */
export function sqlInt(x: unknown): string {
  if (typeof x !== 'number' || !Number.isSafeInteger(x)) throw new PlanError(`SQL lowering: expected a safe integer, got ${JSON.stringify(x)}`);
  return String(x);
}
