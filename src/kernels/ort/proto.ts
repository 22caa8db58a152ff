/**
 * A minimal ONNX protobuf *encoder*: just the messages and fields needed to describe one small static graph
 * (ModelProto, GraphProto, NodeProto, AttributeProto, ValueInfoProto, TypeProto, TensorShapeProto,
 * TensorProto). Field numbers are those of onnx/onnx.proto; nothing is ever decoded, so no protobuf
 * dependency is needed. Proto2 encoding rules used here: a field is `tag = field << 3 | wireType`, then a
 * varint (wire 0), a length-delimited payload (wire 2: strings, bytes, sub-messages, packed repeats) or a
 * little-endian 32-bit float (wire 5).
 */

/** ONNX TensorProto.DataType values we use. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
export const ONNX_BOOL = 9;
export const ONNX_DOUBLE = 11;

/** IR version 8 is the one that goes with opset 17. */
export const IR_VERSION = 8;
export const OPSET = 17;

const utf8 = new TextEncoder();

/** Append-only protobuf writer. Models here are a few hundred bytes, so a plain number[] is enough. */
class Writer {
  readonly bytes: number[] = [];

  /** Unsigned varint; negatives are written as 64-bit two's complement (10 bytes), as int64 requires. */
  varint(v: number): void {
    if (v < 0) {
      let b = BigInt.asUintN(64, BigInt(v));
      while (b >= 0x80n) { this.bytes.push(Number(b & 0x7fn) | 0x80); b >>= 7n; }
      this.bytes.push(Number(b));
      return;
    }
    while (v >= 0x80) { this.bytes.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
    this.bytes.push(v);
  }
  private tag(field: number, wire: number): void { this.varint((field << 3) | wire); }
  int(field: number, v: number): this { this.tag(field, 0); this.varint(v); return this; }
  raw(field: number, b: ArrayLike<number>): this {
    this.tag(field, 2); this.varint(b.length);
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]!);
    return this;
  }
  str(field: number, s: string): this { return this.raw(field, utf8.encode(s)); }
  msg(field: number, m: Writer): this { return this.raw(field, m.bytes); }
  float(field: number, f: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([f]).buffer);
    this.bytes.push(...b);
    return this;
  }
  /** Packed repeated int64 (one length-delimited run of varints). */
  packedInts(field: number, vs: readonly number[]): this {
    const inner = new Writer();
    for (const v of vs) inner.varint(v);
    return this.msg(field, inner);
  }
}

/** An attribute value: an int, a list of ints, a float or a string (AttributeProto.type 2, 7, 1, 3). */
export type AttrValue = number | readonly number[] | { float: number } | string;

function attribute(name: string, v: AttrValue): Writer {
  const w = new Writer().str(1, name);
  if (typeof v === 'string') return w.int(20, 3).str(4, v); // STRING: s = 4
  if (typeof v === 'number') return w.int(20, 2).int(3, v); // INT: i = 3
  if ('float' in v) return w.int(20, 1).float(2, v.float); // FLOAT: f = 2
  // INTS: ints = 8, written unpacked (one tag per element) as onnx's own serializer does for proto2.
  w.int(20, 7);
  for (const x of v as readonly number[]) w.int(8, x);
  return w;
}

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Readonly<Record<string, AttrValue>>;
  /** '' (the default ONNX domain) unless given. */
  domain?: string;
}

export interface OnnxValueInfo { name: string; elemType: number; dims: readonly number[] }

/** A constant (initializer) tensor, stored as raw little-endian bytes. */
export interface OnnxInitializer { name: string; elemType: number; dims: readonly number[]; raw: Uint8Array }

function nodeProto(n: OnnxNode, i: number): Writer {
  const w = new Writer();
  for (const x of n.inputs) w.str(1, x);
  for (const x of n.outputs) w.str(2, x);
  w.str(3, `n${i}_${n.op}`).str(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.msg(5, attribute(k, v));
  if (n.domain) w.str(7, n.domain);
  return w;
}

/** ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2: {dim=1: {dim_value=1}}}}}. */
function valueInfo(v: OnnxValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.msg(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, v.elemType).msg(2, shape);
  return new Writer().str(1, v.name).msg(2, new Writer().msg(1, tensorType));
}

/** TensorProto{dims=1 (repeated int64), data_type=2, name=8, raw_data=9}. */
function tensorProto(t: OnnxInitializer): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  return w.int(2, t.elemType).str(8, t.name).raw(9, t.raw);
}

export interface OnnxGraph {
  nodes: readonly OnnxNode[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  initializers: readonly OnnxInitializer[];
}

/** Serialises a ModelProto{ir_version=1, producer_name=2, graph=7, opset_import=8} around one graph. */
export function encodeModel(g: OnnxGraph): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => graph.msg(1, nodeProto(n, i)));
  graph.str(2, 'relml');
  for (const t of g.initializers) graph.msg(5, tensorProto(t));
  for (const v of g.inputs) graph.msg(11, valueInfo(v));
  for (const v of g.outputs) graph.msg(12, valueInfo(v));
  const model = new Writer()
    .int(1, IR_VERSION)
    .str(2, 'relml')
    .msg(7, graph)
    .msg(8, new Writer().str(1, '').int(2, OPSET)); // OperatorSetIdProto{domain=1, version=2}
  return Uint8Array.from(model.bytes);
}
