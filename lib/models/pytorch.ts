/**
 * Safe loading (and saving) of PyTorch checkpoints (`.pt`, `.pth`, `.mdl`):
 * PyTorch's zip format (`<name>/data.pkl` + `<name>/data/<key>` storages),
 * read with the shared zip reader (lib/data/zip.ts) and a *safe* unpickler
 * that only understands container opcodes and a fixed allow-list of globals
 * needed to rebuild tensors (`torch._utils._rebuild_tensor_v2`,
 * `torch.FloatStorage`, …, `collections.OrderedDict`). Any other global
 * (`os.system`, `builtins.eval`, …) or object-building opcode is refused with a
 * {@link CheckpointError} naming the file and the refused name, before
 * anything is called: nothing in a checkpoint can run code here.
 *
 * The legacy (pre-1.6, non-zip) `torch.save` format is not supported and is
 * reported as such.
 *
 * @example
 * const sd = await loadTorchStateDict("mtl_best.mdl");
 * sd.get("module.feature_extractor.layer1.0.weight")!.shape; // [64, 3, 5]
 */
import { CheckpointError } from "../errors.ts";
import { atomicWrite } from "../fs.ts";
import { isZip, writeZip, ZipArchive } from "../data/zip.ts";

/** PyTorch dtypes we can rebuild. */
export type TorchDType =
  | "float32"
  | "float64"
  | "float16"
  | "bfloat16"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "bool";

/** Typed-array storage of a rebuilt tensor (half / bfloat16 are widened to float32). */
export type TorchData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** A tensor rebuilt from a checkpoint: contiguous, row-major. */
export interface TorchTensor {
  /** Shape (PyTorch order, e.g. conv weight `[out, in, kernel]`). */
  shape: number[];
  /** Dtype as stored in the checkpoint. */
  dtype: TorchDType;
  /** Row-major values (float16/bfloat16 converted to float32; bool as uint8). */
  data: TorchData;
}

/** A state dict: parameter/buffer name → tensor, in checkpoint order. */
export type StateDict = Map<string, TorchTensor>;

// ---------------------------------------------------------------- unpickler

/** A reference to an allow-listed Python global, produced by GLOBAL / STACK_GLOBAL. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  /** `module.name`. */
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A storage reference (from a persistent id), resolved to bytes by the loader. */
export interface TorchStorage {
  /** Storage key: the zip entry `data/<key>`. */
  key: string;
  /** Element dtype. */
  dtype: TorchDType;
  /** Number of elements. */
  numel: number;
  /** Device it was saved from (e.g. `"cpu"`, `"cuda:0"`). */
  location: string;
  /** Raw little-endian bytes, filled by the loader. */
  bytes?: Uint8Array;
}

const STORAGE_DTYPES: Record<string, TorchDType> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

const DTYPE_BYTES: Record<TorchDType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** The only globals a checkpoint may reference. */
export const ALLOWED_GLOBALS: readonly string[] = [
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
  "torch.Size",
  "torch.device",
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
];

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** File named in errors. */
  file?: string;
  /** Resolves a persistent id (BINPERSID); without it persistent ids are refused. */
  persistentLoad?: (pid: unknown) => unknown;
}

const MARK = Symbol("mark");

/**
 * Safely decode a pickle (protocols 2–5, the binary opcodes PyTorch writes).
 * Python dicts become `Map`s, lists and tuples arrays, `None` null, ints
 * numbers (bigint beyond 2^53), bytes `Uint8Array`. Only the globals in
 * {@link ALLOWED_GLOBALS} are accepted, and only they can be called (REDUCE);
 * tensors come back as {@link TorchTensor}. Everything else throws a
 * {@link CheckpointError}.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): unknown {
  const file = opts.file ?? "<pickle>";
  const fail = (fault: string): never => {
    throw new CheckpointError(file, fault);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder("utf-8");
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > bytes.length) fail(`truncated pickle at byte ${pos}`);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const readLine = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`truncated pickle at byte ${pos}`);
    const s = dec.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };

  const stack: unknown[] = [];
  const metaStack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const pop = () => {
    if (stack.length === 0) fail(`stack underflow at byte ${pos}`);
    const v = stack.pop();
    if (v === MARK) fail(`unexpected MARK at byte ${pos}`);
    return v;
  };
  const popMark = (): unknown[] => {
    const items = stack.splice(0);
    const prev = metaStack.pop();
    if (!prev) fail(`no MARK before byte ${pos}`);
    for (const v of prev!) stack.push(v); // a loop: push(...) of > ~120 k items overflows
    return items;
  };
  const top = () => {
    if (stack.length === 0) fail(`stack underflow at byte ${pos}`);
    return stack[stack.length - 1];
  };
  const findGlobal = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.includes(q)) {
      fail(
        `refused unsafe global '${q}' (only tensor-rebuild and container globals are allowed; ` +
          `this checkpoint may try to run code)`,
      );
    }
    return new PyGlobal(module, name);
  };
  const setItems = (target: unknown, kv: unknown[]) => {
    if (!(target instanceof Map)) fail(`SETITEMS on a non-dict at byte ${pos}`);
    for (let i = 0; i + 1 < kv.length; i += 2) {
      (target as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
    }
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("unsupported pickle protocol");
        break;
      case 0x95: // FRAME
        take(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`pickle ended with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        metaStack.push(stack.splice(0));
        break;
      case 0x30: // POP
        if (stack.length) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: { // LONG4
        const n = op === 0x8a ? u8() : u32();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(v)
            : v,
        );
        break;
      }
      case 0x47: { // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x8c: // SHORT_BINUNICODE
        stack.push(dec.decode(take(u8())));
        break;
      case 0x58: // BINUNICODE
        stack.push(dec.decode(take(u32())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(dec.decode(take(u64())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(dec.decode(take(u8())));
        break;
      case 0x54: // BINSTRING
        stack.push(dec.decode(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop(), a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop(), b = pop(), a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: { // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail(`APPEND on a non-list at byte ${pos}`);
        (l as unknown[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail(`APPENDS on a non-list at byte ${pos}`);
        for (const v of items) (l as unknown[]).push(v);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: { // DICT
        const m = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`ADDITEMS on a non-set at byte ${pos}`);
        for (const it of items) (s as Set<unknown>).add(it);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} missing at byte ${pos}`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: { // GLOBAL
        const module = readLine();
        const name = readLine();
        stack.push(findGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof name !== "string" || typeof module !== "string") fail("bad STACK_GLOBAL");
        stack.push(findGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) fail(`REDUCE on a non-callable at byte ${pos}`);
        if (!Array.isArray(args)) fail(`REDUCE with non-tuple arguments at byte ${pos}`);
        // In a state dict the tensor's name was pushed just before it (for a Parameter,
        // before its _rebuild_parameter global, one MARK further out): name it in errors.
        let hint: string | undefined;
        search: for (const frame of [stack, ...metaStack.slice(-2).reverse()]) {
          for (let i = frame.length - 1; i >= Math.max(0, frame.length - 2); i--) {
            if (typeof frame[i] === "string") {
              hint = frame[i] as string;
              break search;
            }
            if (!(frame[i] instanceof PyGlobal)) break search;
          }
        }
        stack.push(callGlobal(fn as PyGlobal, args as unknown[], fail, hint));
        break;
      }
      case 0x62: { // BUILD: only state on dicts (OrderedDict._metadata), kept aside
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map)) fail(`BUILD on a non-dict object at byte ${pos} (refused)`);
        (obj as Map<unknown, unknown> & { pyState?: unknown }).pyState = state;
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail("persistent ids are not allowed here");
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x69: // INST
      case 0x6f: // OBJ
      case 0x81: // NEWOBJ
      case 0x92: // NEWOBJ_EX
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
      case 0x50: // PERSID (text)
        fail(
          `refused pickle opcode 0x${op.toString(16)} at byte ${
            pos - 1
          } (object construction is not allowed)`,
        );
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
}

function callGlobal(
  g: PyGlobal,
  args: unknown[],
  fail: (f: string) => never,
  name?: string,
): unknown {
  switch (g.qualified) {
    case "collections.OrderedDict":
      if (args.length === 0) return new Map();
      if (args.length === 1 && Array.isArray(args[0])) {
        return new Map((args[0] as unknown[][]).map((kv) => [kv[0], kv[1]]));
      }
      return fail("OrderedDict called with unexpected arguments");
    case "torch._utils._rebuild_tensor":
    case "torch._utils._rebuild_tensor_v2": {
      if (args.length < 4) {
        return fail(
          `tensor${name ? ` '${name}'` : ""}: ${g.name} called with ${args.length} arguments, ` +
            `expected (storage, storage_offset, size, stride, …)`,
        );
      }
      const [storage, offset, size, stride] = args;
      return rebuildTensor(storage, offset, size, stride, fail, name);
    }
    case "torch._utils._rebuild_parameter":
    case "torch._utils._rebuild_parameter_with_state":
      return args[0];
    case "torch.Size":
      return Array.isArray(args[0]) ? [...(args[0] as unknown[])] : [];
    case "torch.device":
      return args.map(String).join(":");
    default:
      return fail(`global '${g.qualified}' cannot be called`);
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// deno-lint-ignore no-explicit-any
const FAST_ARRAYS: Partial<Record<TorchDType, new (b: ArrayBuffer) => any>> = LITTLE_ENDIAN_HOST
  ? {
    float32: Float32Array,
    float64: Float64Array,
    int64: BigInt64Array,
    int32: Int32Array,
    int16: Int16Array,
    int8: Int8Array,
    uint8: Uint8Array,
    bool: Uint8Array,
  }
  : {};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** `v` as a description for messages: `-4`, `1.5`, `"abc"`, `12345678901234567890n`. */
function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(describe).join(", ")}]`;
  return String(v);
}

/**
 * Rebuild a tensor from `_rebuild_tensor(_v2)` arguments, validating every
 * field first: the storage is a known-dtype storage, the offset and every
 * size and stride are non-negative safe integers, and offset + extent lies
 * within the storage's declared elements. A fault names the tensor (`name`,
 * when the unpickler knows it) and its storage, via `fail` (which names the file).
 */
function rebuildTensor(
  storage: unknown,
  offset: unknown,
  size: unknown,
  stride: unknown,
  fail: (f: string) => never,
  name?: string,
): TorchTensor {
  const st = storage as TorchStorage;
  const what = `tensor${name ? ` '${name}'` : ""}`;
  if (!st || typeof st !== "object" || !("dtype" in st) || !st.bytes) {
    fail(`${what}: rebuilt from something that is not a storage`);
  }
  const where = `${what} (storage '${st.key}')`;
  if (!Object.hasOwn(DTYPE_BYTES, st.dtype)) fail(`${where}: unknown dtype ${describe(st.dtype)}`);
  const isIndex = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!isIndex(offset)) {
    fail(`${where}: storage offset ${describe(offset)} is not an integer >= 0`);
  }
  if (!Array.isArray(size) || !Array.isArray(stride)) {
    fail(`${where}: size ${describe(size)} and stride ${describe(stride)} must be tuples`);
  }
  if (size.length !== stride.length) {
    fail(`${where}: size ${describe(size)} and stride ${describe(stride)} differ in length`);
  }
  size.forEach((v, d) => {
    if (!isIndex(v)) fail(`${where}: size[${d}] = ${describe(v)} is not an integer >= 0`);
  });
  stride.forEach((v, d) => {
    if (!isIndex(v)) fail(`${where}: stride[${d}] = ${describe(v)} is not an integer >= 0`);
  });
  const shape = size as number[];
  const strides = stride as number[];
  const start = offset as number;
  const numel = shape.reduce((a, b) => a * b, 1);
  const itemBytes = DTYPE_BYTES[st.dtype];
  // The storage's declared element count (its bytes were checked to hold at least that).
  const available = Math.min(st.numel, Math.floor(st.bytes!.length / itemBytes));
  let maxIndex = start;
  for (let d = 0; d < shape.length; d++) if (shape[d] > 0) maxIndex += (shape[d] - 1) * strides[d];
  if (!Number.isSafeInteger(numel) || !Number.isSafeInteger(maxIndex)) {
    fail(`${where}: shape [${shape}] with stride [${strides}] is too large`);
  }
  if (numel > 0 ? maxIndex >= available : start > available) {
    fail(
      `${where}: shape [${shape}] (offset ${start}, stride [${strides}]) exceeds its ` +
        `storage: reaches element ${maxIndex} of ${available}`,
    );
  }
  if (numel * Math.max(4, itemBytes) > 2 ** 32) {
    fail(`${where}: shape [${shape}] holds ${numel} elements, more than 4 GiB to load`);
  }
  const contiguous = shape.every((_, d) =>
    shape[d] <= 1 || strides[d] === shape.slice(d + 1).reduce((a, b) => a * b, 1)
  );
  const Typed = FAST_ARRAYS[st.dtype];
  if (contiguous && Typed) {
    // Fast path: a byte copy of the storage range (little-endian host assumed, as PyTorch's default).
    const from = start * itemBytes;
    const copy = st.bytes!.slice(from, from + numel * itemBytes);
    return { shape: [...shape], dtype: st.dtype, data: new Typed(copy.buffer) };
  }
  const dv = new DataView(st.bytes!.buffer, st.bytes!.byteOffset, st.bytes!.byteLength);
  let data: TorchData;
  let get: (i: number) => void;
  switch (st.dtype) {
    case "float32":
    case "float16":
    case "bfloat16": {
      const out = new Float32Array(numel);
      data = out;
      let k = 0;
      get = st.dtype === "float32"
        ? (i) => (out[k++] = dv.getFloat32(i * 4, true))
        : st.dtype === "float16"
        ? (i) => (out[k++] = halfToFloat(dv.getUint16(i * 2, true)))
        : (i) => {
          const tmp = new DataView(new ArrayBuffer(4));
          tmp.setUint32(0, dv.getUint16(i * 2, true) << 16, true);
          out[k++] = tmp.getFloat32(0, true);
        };
      break;
    }
    case "float64": {
      const out = new Float64Array(numel);
      data = out;
      let k = 0;
      get = (i) => (out[k++] = dv.getFloat64(i * 8, true));
      break;
    }
    case "int64": {
      const out = new BigInt64Array(numel);
      data = out;
      let k = 0;
      get = (i) => (out[k++] = dv.getBigInt64(i * 8, true));
      break;
    }
    case "int32": {
      const out = new Int32Array(numel);
      data = out;
      let k = 0;
      get = (i) => (out[k++] = dv.getInt32(i * 4, true));
      break;
    }
    case "int16": {
      const out = new Int16Array(numel);
      data = out;
      let k = 0;
      get = (i) => (out[k++] = dv.getInt16(i * 2, true));
      break;
    }
    case "int8": {
      const out = new Int8Array(numel);
      data = out;
      let k = 0;
      get = (i) => (out[k++] = dv.getInt8(i));
      break;
    }
    default: {
      const out = new Uint8Array(numel);
      data = out;
      let k = 0;
      get = (i) => (out[k++] = dv.getUint8(i));
    }
  }
  if (numel > 0) {
    // Odometer over the index space in row-major order, following the strides.
    const nd = shape.length;
    const idx = new Array(nd).fill(0);
    let src = start;
    for (let n = 0; n < numel; n++) {
      get(src);
      for (let d = nd - 1; d >= 0; d--) {
        idx[d]++;
        src += strides[d];
        if (idx[d] < shape[d]) break;
        src -= strides[d] * shape[d];
        idx[d] = 0;
      }
    }
  }
  return { shape: [...shape], dtype: st.dtype, data };
}

// ---------------------------------------------------------------- loading

/**
 * Decode a PyTorch zip checkpoint held in memory. Returns the unpickled
 * object (usually a `Map` state dict, or a `Map` holding one) with tensors as
 * {@link TorchTensor}s. `file` names the checkpoint in errors.
 */
export async function parseTorchCheckpoint(
  bytes: Uint8Array,
  file = "<checkpoint>",
): Promise<unknown> {
  if (!isZip(bytes)) {
    if (bytes.length > 0 && bytes[0] === 0x80) {
      throw new CheckpointError(
        file,
        "legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with " +
          "torch.save(obj, path) from PyTorch >= 1.6",
      );
    }
    throw new CheckpointError(file, "not a PyTorch checkpoint (expected a zip archive)");
  }
  const zip = new ZipArchive(bytes, file, { errorType: CheckpointError });
  const pkl = [...zip.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) {
    throw new CheckpointError(file, "no '<archive>/data.pkl' entry: not a PyTorch checkpoint");
  }
  const root = pkl.slice(0, -"data.pkl".length);
  let bigEndian = false;
  if (zip.entries.has(`${root}byteorder`)) {
    bigEndian = new TextDecoder().decode(await zip.read(`${root}byteorder`)).trim() === "big";
  }
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): TorchStorage => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) {
      throw new CheckpointError(file, `unsupported persistent id ${JSON.stringify(String(pid))}`);
    }
    const [, type, key, location, numel] = pid;
    if (!(type instanceof PyGlobal) || !Object.hasOwn(STORAGE_DTYPES, type.name)) {
      throw new CheckpointError(
        file,
        `unsupported storage type ${String(type?.qualified ?? type)}`,
      );
    }
    const k = String(key);
    if (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0) {
      throw new CheckpointError(
        file,
        `storage '${k}': element count ${describe(numel)} is not an integer >= 0`,
      );
    }
    let s = storages.get(k);
    if (!s) {
      s = {
        key: k,
        dtype: STORAGE_DTYPES[type.name],
        numel,
        location: String(location),
      };
      storages.set(k, s);
    } else if (s.numel !== numel || s.dtype !== STORAGE_DTYPES[type.name]) {
      throw new CheckpointError(
        file,
        `storage '${k}' is referenced as ${s.numel} × ${s.dtype} and as ${numel} × ` +
          `${STORAGE_DTYPES[type.name]}`,
      );
    }
    return s;
  };
  // Read every storage up front (stored entries are views, not copies) so
  // tensors can be rebuilt synchronously while unpickling.
  const pickle = await zip.read(pkl);
  const storageBytes = new Map<string, Uint8Array>();
  for (const name of zip.entries.keys()) {
    if (name.startsWith(`${root}data/`) && !name.endsWith("/")) {
      storageBytes.set(name.slice(`${root}data/`.length), await zip.read(name));
    }
  }
  return unpickle(pickle, {
    file,
    persistentLoad: (pid) => {
      const s = persistentLoad(pid);
      if (!s.bytes) {
        let b = storageBytes.get(s.key);
        if (!b) throw new CheckpointError(file, `storage '${s.key}' missing`);
        const item = DTYPE_BYTES[s.dtype];
        if (b.length < s.numel * item) {
          throw new CheckpointError(
            file,
            `storage '${s.key}' has ${b.length} bytes, expected ${s.numel} × ${item}`,
          );
        }
        if (bigEndian && item > 1) {
          b = b.slice();
          for (let i = 0; i < b.length; i += item) b.subarray(i, i + item).reverse();
        }
        s.bytes = b;
      }
      return s;
    },
  });
}

/** Read and decode a PyTorch checkpoint file (see {@link parseTorchCheckpoint}). */
export async function loadTorchCheckpoint(path: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new CheckpointError(path, "file not found");
    throw e;
  }
  return await parseTorchCheckpoint(bytes, path);
}

function isTensor(v: unknown): v is TorchTensor {
  return !!v && typeof v === "object" && "shape" in v && "data" in v && "dtype" in v;
}

/**
 * The state dict inside a decoded checkpoint: the object itself when it maps
 * names to tensors, else the first of its `state_dict`, `model_state_dict`,
 * `model`, `net` entries that does. Throws {@link CheckpointError} otherwise.
 */
export function findStateDict(obj: unknown, file = "<checkpoint>"): StateDict {
  const asSd = (v: unknown): StateDict | null => {
    if (!(v instanceof Map) || v.size === 0) return null;
    const out: StateDict = new Map();
    for (const [k, t] of v) {
      if (typeof k !== "string") return null;
      if (isTensor(t)) out.set(k, t);
    }
    return out.size ? out : null;
  };
  const direct = asSd(obj);
  if (direct) return direct;
  if (obj instanceof Map) {
    for (const key of ["state_dict", "model_state_dict", "model", "net"]) {
      const sd = asSd(obj.get(key));
      if (sd) return sd;
    }
  }
  throw new CheckpointError(file, "no state dict (name → tensor mapping) found in the checkpoint");
}

/**
 * Load the state dict of a PyTorch checkpoint file.
 *
 * @example
 * const sd = await loadTorchStateDict("mtl_best.mdl");
 * for (const [name, t] of sd) console.log(name, t.shape);
 */
export async function loadTorchStateDict(path: string): Promise<StateDict> {
  return findStateDict(await loadTorchCheckpoint(path), path);
}

// ---------------------------------------------------------------- saving

/** Pickle writer for the subset {@link saveTorchStateDict} needs (protocol 2). */
class PickleWriter {
  readonly parts: number[] = [];
  #memo = 0;
  byte(b: number) {
    this.parts.push(b);
  }
  u32(v: number) {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  put() {
    const m = this.#memo++;
    if (m < 256) this.parts.push(0x71, m);
    else (this.byte(0x72), this.u32(m));
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.byte(0x58);
    this.u32(b.length);
    for (const x of b) this.parts.push(x);
    this.put();
  }
  int(v: number) {
    if (v >= 0 && v < 256) this.parts.push(0x4b, v);
    else if (v >= 0 && v < 65536) this.parts.push(0x4d, v & 0xff, v >> 8);
    else (this.byte(0x4a), this.u32(v | 0));
  }
  global(module: string, name: string) {
    this.byte(0x63);
    for (const x of new TextEncoder().encode(`${module}\n${name}\n`)) this.parts.push(x);
    this.put();
  }
  tuple(items: number[]) {
    if (items.length === 0) this.byte(0x29);
    else {
      this.byte(0x28);
      for (const v of items) this.int(v);
      this.byte(0x74);
    }
    this.put();
  }
}

const DTYPE_STORAGE: Record<TorchDType, string> = Object.fromEntries(
  Object.entries(STORAGE_DTYPES).map(([k, v]) => [v, k]),
) as Record<TorchDType, string>;

/**
 * Write `stateDict` as a PyTorch zip checkpoint that `torch.load` reads
 * (float16/bfloat16 tensors are written as float32). `archiveName` is the
 * folder inside the zip (default: the file's base name without extension).
 */
export async function saveTorchStateDict(
  path: string,
  stateDict: StateDict,
  archiveName?: string,
): Promise<void> {
  const root = archiveName ?? (path.split(/[\\/]/).pop() ?? "archive").replace(/\.[^.]*$/, "");
  const w = new PickleWriter();
  w.parts.push(0x80, 2);
  w.global("collections", "OrderedDict");
  w.byte(0x29);
  w.byte(0x52);
  w.put();
  const entries: { name: string; data: Uint8Array }[] = [];
  w.byte(0x28); // MARK for SETITEMS
  let key = 0;
  for (const [name, t] of stateDict) {
    const dtype: TorchDType = t.dtype === "float16" || t.dtype === "bfloat16" ? "float32" : t.dtype;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const data = new Uint8Array(numel * DTYPE_BYTES[dtype]);
    const dv = new DataView(data.buffer);
    for (let i = 0; i < numel; i++) {
      const v = t.data[i];
      switch (dtype) {
        case "float32":
          dv.setFloat32(i * 4, Number(v), true);
          break;
        case "float64":
          dv.setFloat64(i * 8, Number(v), true);
          break;
        case "int64":
          dv.setBigInt64(i * 8, BigInt(v), true);
          break;
        case "int32":
          dv.setInt32(i * 4, Number(v), true);
          break;
        case "int16":
          dv.setInt16(i * 2, Number(v), true);
          break;
        case "int8":
          dv.setInt8(i, Number(v));
          break;
        default:
          dv.setUint8(i, Number(v));
      }
    }
    const k = String(key++);
    entries.push({ name: `${root}/data/${k}`, data });
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    w.str(name);
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.byte(0x28); // MARK (args)
    w.byte(0x28); // MARK (persistent id)
    w.str("storage");
    w.global("torch", DTYPE_STORAGE[dtype]);
    w.str(k);
    w.str("cpu");
    w.int(numel);
    w.byte(0x74);
    w.put();
    w.byte(0x51); // BINPERSID
    w.int(0);
    w.tuple(t.shape);
    w.tuple(strides);
    w.byte(0x89); // requires_grad False
    w.global("collections", "OrderedDict");
    w.byte(0x29);
    w.byte(0x52);
    w.put();
    w.byte(0x74);
    w.put();
    w.byte(0x52); // REDUCE
    w.put();
  }
  w.byte(0x75); // SETITEMS
  w.byte(0x2e); // STOP
  const pkl = new Uint8Array(w.parts);
  const files = [
    { name: `${root}/data.pkl`, data: pkl },
    ...entries,
    { name: `${root}/version`, data: new TextEncoder().encode("3\n") },
  ];
  // Stored entries, payloads 64-byte aligned as PyTorch writes them (mmap-able).
  await atomicWrite(path, writeZip(files, { alignBytes: 64 }));
}
