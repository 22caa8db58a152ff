import type { Schema } from '../schema.js';

export interface OpDef {
  /** Number of inputs; -1 for variadic (concat). */
  readonly arity: number;
  /** Validates attributes against input schemas (PlanError naming the problem) and gives the output schema. */
  infer(inputs: readonly Schema[], attrs: Readonly<Record<string, unknown>>): Schema;
  /** The attributes in one line, for explain(). */
  describe(attrs: Readonly<Record<string, unknown>>): string;
}

export type Attrs = Readonly<Record<string, unknown>>;
