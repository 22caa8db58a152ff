/**
 * A plan: output nodes of the IR DAG, with names. Plans are data: `toJSON`/`fromJSON` round-trip them
 * (re-validating every node through the operator table), `explain` prints them, and two plans are equal
 * when their canonical JSON is.
 */
import { PlanError } from '../errors.js';
import { makeTile } from '../tile.js';
import { makeNode, topoSort, type Node } from './node.js';
import { OPS, type OpName } from './ops/index.js';
import { Relation } from './relation.js';
import { schemaEquals, schemaString, type Schema } from './schema.js';

export interface NodeJSON { id: number; op: OpName; inputs: number[]; attrs: Record<string, unknown>; schema: Schema }
export interface PlanJSON { format: 'relml-plan'; version: 1; nodes: NodeJSON[]; outputs: number[]; names: string[] }

export class Plan {
  readonly outputs: readonly Node[];
  readonly names: readonly string[];
  constructor(outputs: readonly Node[], names?: readonly string[]) {
    this.outputs = [...outputs];
    this.names = names ? [...names] : outputs.map((_, i) => `out${i}`);
    if (this.names.length !== this.outputs.length) throw new PlanError(`plan has ${this.outputs.length} outputs but ${this.names.length} names`);
  }

  /** All nodes, inputs before their users. */
  nodes(): Node[] { return topoSort(this.outputs); }

  /** Input nodes by name (a name used twice must carry one schema). */
  inputs(): Map<string, Node> {
    const m = new Map<string, Node>();
    for (const n of this.nodes()) {
      if (n.op !== 'input') continue;
      const name = n.attrs.name as string, prev = m.get(name);
      if (prev && !schemaEquals(prev.schema, n.schema)) throw new PlanError(`input '${name}' appears with two schemas: ${schemaString(prev.schema)} and ${schemaString(n.schema)}`);
      m.set(name, n);
    }
    return m;
  }

  toJSON(): PlanJSON {
    const nodes = this.nodes();
    const ids = new Map(nodes.map((n, i) => [n, i]));
    return {
      format: 'relml-plan', version: 1,
      nodes: nodes.map((n, i) => ({ id: i, op: n.op, inputs: n.inputs.map((x) => ids.get(x)!), attrs: attrsToJSON(n), schema: n.schema })),
      outputs: this.outputs.map((n) => ids.get(n)!),
      names: [...this.names],
    };
  }

  static fromJSON(json: unknown): Plan {
    const j = json as PlanJSON;
    if (!j || j.format !== 'relml-plan' || j.version !== 1 || !Array.isArray(j.nodes) || !Array.isArray(j.outputs)) {
      throw new PlanError('not a relml plan (expected {format: "relml-plan", version: 1, nodes, outputs})');
    }
    const built: Node[] = [];
    j.nodes.forEach((nj, i) => {
      if (nj.id !== i || !(nj.op in OPS) || !Array.isArray(nj.inputs) || nj.inputs.some((x) => !Number.isInteger(x) || x < 0 || x >= i)) {
        throw new PlanError(`plan node ${i}: malformed (op ${JSON.stringify(nj.op)}, inputs ${JSON.stringify(nj.inputs)})`);
      }
      const attrs = nj.op === 'const' ? { value: relationFromJSON(nj.attrs.value) } : nj.op === 'input' ? { ...nj.attrs, schema: checkSchemaJSON(nj.attrs.schema) } : nj.attrs;
      const node = makeNode(nj.op, nj.inputs.map((x) => built[x]!), attrs);
      if (!schemaEquals(node.schema, nj.schema)) throw new PlanError(`plan node ${i} (${nj.op}): recorded schema ${schemaString(nj.schema)} differs from the inferred ${schemaString(node.schema)}`);
      built.push(node);
    });
    return new Plan(j.outputs.map((o) => {
      const n = built[o];
      if (!n) throw new PlanError(`plan output ${o} names no node`);
      return n;
    }), j.names);
  }

  /** Canonical text form; equal plans give equal strings. */
  toString(): string { return JSON.stringify(this.toJSON()); }
  equals(other: Plan): boolean { return this.toString() === other.toString(); }
}

function attrsToJSON(n: Node): Record<string, unknown> {
  if (n.op !== 'const') return { ...n.attrs };
  const rel = n.attrs.value as Relation;
  return { value: { name: rel.name, schema: rel.schema, tuples: [...rel.tuples()].map((t) => [t.key, Array.from(t.tile.data)]) } };
}

function checkSchemaJSON(s: unknown): Schema {
  const x = s as Schema;
  const ok = x && (x.dtype === 'float32' || x.dtype === 'float64') && Array.isArray(x.keys) && x.keys.every((b) => Number.isInteger(b) && b >= 0) &&
    Array.isArray(x.tile) && x.tile.every((t) => t && Number.isInteger(t.size) && t.size >= 0 && Number.isInteger(t.extent) && t.extent >= 0 &&
      (t.key === null || (Number.isInteger(t.key) && t.key >= 0 && t.key < x.keys.length)));
  if (!ok) throw new PlanError(`malformed schema ${JSON.stringify(s)}`);
  return x;
}

function relationFromJSON(v: unknown): Relation {
  const r = v as { name?: string; schema: unknown; tuples: [number[], number[]][] };
  if (!r || !Array.isArray(r.tuples)) throw new PlanError('const: malformed relation');
  const schema = checkSchemaJSON(r.schema);
  const rel = new Relation(schema, r.name);
  for (const [key, data] of r.tuples) {
    const shape = schema.tile.map((t) => (t.key === null ? t.size : Math.min(t.size, t.extent - key[t.key]! * t.size)));
    rel.set(key, makeTile(shape, schema.dtype, data));
  }
  return rel;
}

