/**
 * Test helpers: hand-assembled pickles and PyTorch-style zip checkpoints, so
 * the loader is tested on bytes we control (strides, offsets, dtypes,
 * malicious globals) besides the real oracle checkpoint.
 */
import { writeZip } from "../../lib/data/zip.ts";

/** Pickle opcodes used below. */
export const OP = {
  PROTO: 0x80,
  STOP: 0x2e,
  MARK: 0x28,
  GLOBAL: 0x63,
  REDUCE: 0x52,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  EMPTY_TUPLE: 0x29,
  EMPTY_DICT: 0x7d,
  SETITEMS: 0x75,
  BINPERSID: 0x51,
  NEWFALSE: 0x89,
  BININT: 0x4a,
  BININT1: 0x4b,
  BINUNICODE: 0x58,
  SHORT_BINUNICODE: 0x8c,
  STACK_GLOBAL: 0x93,
  INST: 0x69,
  NEWOBJ: 0x81,
} as const;

/** Byte builder for pickles. */
export class Pickle {
  readonly b: number[] = [];
  op(...codes: number[]): this {
    this.b.push(...codes);
    return this;
  }
  str(s: string): this {
    const e = new TextEncoder().encode(s);
    this.b.push(OP.BINUNICODE, e.length & 0xff, (e.length >> 8) & 0xff, 0, 0, ...e);
    return this;
  }
  /** An int (BININT), or a float (BINFLOAT) when `v` is not an integer (malformed-header tests). */
  int(v: number): this {
    if (!Number.isInteger(v)) {
      const f = new DataView(new ArrayBuffer(8));
      f.setFloat64(0, v, false);
      this.b.push(0x47, ...new Uint8Array(f.buffer));
      return this;
    }
    this.b.push(OP.BININT, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  global(module: string, name: string): this {
    this.b.push(OP.GLOBAL, ...new TextEncoder().encode(`${module}\n${name}\n`));
    return this;
  }
  ints(vs: number[]): this {
    this.op(OP.MARK);
    for (const v of vs) this.int(v);
    return this.op(OP.TUPLE);
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.b);
  }
}

/** A tensor entry of {@link stateDictPickle}. */
export interface FixtureTensor {
  name: string;
  storage: string;
  storageType: string;
  storageNumel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

/** The pickle of a state dict (protocol 2, `collections.OrderedDict` of `_rebuild_tensor_v2`). */
export function stateDictPickle(tensors: FixtureTensor[]): Uint8Array {
  const p = new Pickle().op(OP.PROTO, 2).global("collections", "OrderedDict").op(
    OP.EMPTY_TUPLE,
    OP.REDUCE,
    OP.MARK,
  );
  for (const t of tensors) {
    p.str(t.name).global("torch._utils", "_rebuild_tensor_v2").op(OP.MARK, OP.MARK)
      .str("storage").global("torch", t.storageType).str(t.storage).str("cpu").int(t.storageNumel)
      .op(OP.TUPLE, OP.BINPERSID).int(t.offset).ints(t.shape).ints(t.stride).op(OP.NEWFALSE)
      .global("collections", "OrderedDict").op(OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE, OP.REDUCE);
  }
  return p.op(OP.SETITEMS, OP.STOP).bytes();
}

/** A PyTorch-style zip: `<root>/data.pkl`, `<root>/data/<key>` storages, `<root>/version`. */
export function torchZip(
  pickle: Uint8Array,
  storages: Record<string, Uint8Array>,
  root = "archive",
): Uint8Array {
  return writeZip([
    { name: `${root}/data.pkl`, data: pickle },
    ...Object.entries(storages).map(([k, data]) => ({ name: `${root}/data/${k}`, data })),
    { name: `${root}/version`, data: new TextEncoder().encode("3\n") },
  ], { alignBytes: 64 });
}

/** Little-endian bytes of a typed array. */
export function le(a: Float32Array | BigInt64Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** Pickles that try to run code: each must be refused. */
export const MALICIOUS: Record<string, Uint8Array> = {
  // os.system("echo pwned") via GLOBAL + REDUCE
  "os.system": new Pickle().op(OP.PROTO, 2).global("os", "system").str("echo pwned")
    .op(OP.TUPLE1, OP.REDUCE, OP.STOP).bytes(),
  // builtins.eval via STACK_GLOBAL (protocol 4 style)
  "builtins.eval": new Pickle().op(OP.PROTO, 4).str("builtins").str("eval").op(OP.STACK_GLOBAL)
    .str("__import__('os').system('echo pwned')").op(OP.TUPLE1, OP.REDUCE, OP.STOP).bytes(),
  // a harmless-looking dict whose value is built by subprocess.call
  "subprocess.call": new Pickle().op(OP.PROTO, 2, OP.EMPTY_DICT, OP.MARK).str("w")
    .global("subprocess", "call").str("ls").op(OP.TUPLE1, OP.REDUCE, OP.SETITEMS, OP.STOP).bytes(),
};
