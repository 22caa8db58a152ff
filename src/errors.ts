/**
 * Typed errors. Every failure a user can cause is one of these, carrying the context that names what was
 * wrong (operand, index letter, key, file, row) as fields, not only in the message, so callers and tests can
 * branch on them.
 */
export class RelmlError extends Error {
  /** A stable machine-readable code, e.g. 'EINSUM_SYNTAX'. */
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** The einsum spec string itself is malformed. `position` is the 0-based character offset. */
export class EinsumSyntaxError extends RelmlError {
  constructor(readonly spec: string, readonly position: number, reason: string) {
    super('EINSUM_SYNTAX', `einsum spec ${JSON.stringify(spec)}: ${reason} (at character ${position})`, { spec, position });
  }
}

/** Operands disagree with the spec or each other: wrong rank, or an index letter bound to two sizes. */
export class EinsumShapeError extends RelmlError {
  constructor(readonly spec: string, message: string, details: Record<string, unknown> = {}) {
    super('EINSUM_SHAPE', `einsum ${JSON.stringify(spec)}: ${message}`, { spec, ...details });
  }
}

/** A shape is not what an operation needs (broadcasting, reshape, slicing, kernel inputs). */
export class ShapeError extends RelmlError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('SHAPE', message, details);
  }
}

/** A tuple's tile does not have the shape its relation's schema gives for that key. */
export class TileShapeError extends RelmlError {
  constructor(relation: string, key: readonly number[], expected: readonly number[], got: readonly number[]) {
    super('TILE_SHAPE', `${relation}: tile at key (${key.join(',')}) has shape [${got.join(',')}], expected [${expected.join(',')}]`,
      { relation, key: [...key], expected: [...expected], got: [...got] });
  }
}

/** A key lies outside a relation's key bounds, has the wrong arity, or occurs twice. */
export class KeyError extends RelmlError {
  constructor(relation: string, key: readonly number[], reason: string, bounds?: readonly number[]) {
    super('KEY', `${relation}: key (${key.join(',')}) ${reason}${bounds ? ` (key bounds [${bounds.join(',')}])` : ''}`,
      { relation, key: [...key], bounds: bounds ? [...bounds] : undefined });
  }
}

/** A NaN or infinity where a kernel cannot take it (inputs) or where one appeared (outputs). */
export class NonFiniteError extends RelmlError {
  constructor(where: string, key: readonly number[], index: number, value: number) {
    super('NON_FINITE', `${where}: ${value} at key (${key.join(',')}), element ${index}`, { where, key: [...key], index, value });
  }
}

/** A kernel is unknown, missing on a backend, or called with bad attributes or inputs. */
export class KernelError extends RelmlError {
  constructor(kernel: string, message: string, details: Record<string, unknown> = {}) {
    super('KERNEL', `kernel '${kernel}': ${message}`, { kernel, ...details });
  }
}

/** A plan is malformed: bad operator attributes, mismatched schemas, unreadable JSON, missing rule. */
export class PlanError extends RelmlError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('PLAN', message, details);
  }
}

/** A plan input was not bound, or was bound to data that does not fit its schema. */
export class BindingError extends RelmlError {
  constructor(input: string, message: string) {
    super('BINDING', `input '${input}': ${message}`, { input });
  }
}

/** A file could not be read or written as the format requires (names the file and what was expected). */
export class FormatError extends RelmlError {
  constructor(file: string, message: string, details: Record<string, unknown> = {}) {
    super('FORMAT', `${file}: ${message}`, { file, ...details });
  }
}

/** A user-facing option is invalid (CLI flags, config values). */
export class OptionError extends RelmlError {
  constructor(option: string, message: string) {
    super('OPTION', `option ${option}: ${message}`, { option });
  }
}

/** A SQL identifier (table, column, schema name) that cannot be used safely: empty, too long, control characters, malformed Unicode. */
export class IdentifierError extends RelmlError {
  constructor(readonly identifier: string, reason: string) {
    super('IDENTIFIER', `identifier ${JSON.stringify(identifier)}: ${reason}`, { identifier, reason });
  }
}

/** A database engine refused or failed a statement the SQL executor issued (names the engine and the step). */
export class SqlError extends RelmlError {
  constructor(engine: string, message: string, details: Record<string, unknown> = {}) {
    super('SQL', `${engine}: ${message}`, { engine, ...details });
  }
}

/** A sparse tensor's coordinate list is malformed: lengths differ, or entry `entry` lies outside the shape. */
export class SparseIndexError extends RelmlError {
  constructor(name: string, message: string, details: Record<string, unknown> = {}) {
    super('SPARSE_INDEX', `${name}: ${message}`, { name, ...details });
  }
}
