import { type PickleCallable, PickleDict, PickleError, PickleTuple, unpickle } from './pickle';

/**
 * Reads a state dict saved by `torch.save` in PyTorch's legacy serialization (the format before the zip container of
 * PyTorch 1.6): five things in a row,
 *   1. a pickled magic number, 2. the pickled protocol version 1001, 3. a pickled dict of system info (endianness,
 *   type sizes), 4. the pickled object, whose tensors are `torch._utils._rebuild_tensor_v2` calls on storages given as
 *   persistent ids ('storage', storage type, key, location, element count[, view]), 5. a pickled list of storage keys,
 * then for each key in that list an 8-byte little-endian element count and the storage's raw little-endian bytes.
 * Only float32 and int64 tensors are read; nothing in the file is ever executed.
 */

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

interface StorageType {
  readonly pickleName: string;
  readonly dtype: TorchTensor['dtype'];
  readonly elementSize: number;
}

const STORAGE_TYPES: Record<string, StorageType> = {
  FloatStorage: { pickleName: 'torch.FloatStorage', dtype: 'float32', elementSize: 4 },
  LongStorage: { pickleName: 'torch.LongStorage', dtype: 'int64', elementSize: 8 },
};

interface StorageRef {
  readonly key: string;
  readonly type: StorageType;
  /** Element count the pickle declares; the data section must agree. */
  readonly size: number;
  data?: DataView;
}

interface TensorRef {
  readonly pickleName: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: number[];
  readonly strides: number[];
}

interface TensorBase {
  name: string;
  shape: number[];
  /** The strides (in elements) and storage offset the checkpoint stored; `values` is always a row-major copy. */
  strides: number[];
  storageOffset: number;
}

export type TorchTensor =
  | (TensorBase & { dtype: 'float32'; values: Float32Array })
  | (TensorBase & { dtype: 'int64'; values: BigInt64Array });

function nonNegativeInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new Error(`${what} is ${String(value)}, not a non-negative integer`);
  }
  return value;
}

function intTuple(value: unknown, what: string): number[] {
  if (!(value instanceof PickleTuple)) throw new Error(`${what} is not a tuple`);
  return value.items.map((item, i) => nonNegativeInt(item, `${what}[${i}]`));
}

/** The names the checkpoint's pickles may use; any other GLOBAL is refused. */
function knownGlobal(module: string, name: string): unknown {
  if (module === 'collections' && name === 'OrderedDict') {
    return {
      pickleName: 'collections.OrderedDict',
      call: (args) => {
        if (args.length !== 0) throw new Error('OrderedDict with arguments is not supported');
        return new PickleDict();
      },
    } satisfies PickleCallable;
  }
  if (module === 'torch._utils' && name === '_rebuild_tensor_v2') {
    return {
      pickleName: 'torch._utils._rebuild_tensor_v2',
      call: ([storage, offset, size, stride]) => {
        if (!storage || typeof storage !== 'object' || !('key' in storage)) {
          throw new Error('_rebuild_tensor_v2 without a storage');
        }
        const shape = intTuple(size, 'tensor size');
        const strides = intTuple(stride, 'tensor stride');
        if (shape.length !== strides.length)
          throw new Error(`tensor size [${shape}] and stride [${strides}] differ in rank`);
        return {
          pickleName: 'tensor',
          storage: storage as StorageRef,
          offset: nonNegativeInt(offset, 'storage offset'),
          shape,
          strides,
        } satisfies TensorRef;
      },
    } satisfies PickleCallable;
  }
  if (module === 'torch') {
    const type = STORAGE_TYPES[name];
    if (type) return type;
    if (name.endsWith('Storage')) {
      throw new Error(`storage type torch.${name} is not supported (only ${Object.keys(STORAGE_TYPES).join(', ')})`);
    }
  }
  return undefined;
}

function storageLoader() {
  const storages = new Map<string, StorageRef>();
  const load = (pid: unknown): StorageRef => {
    if (!(pid instanceof PickleTuple) || pid.items[0] !== 'storage') {
      throw new Error('a persistent id that is not a storage');
    }
    const [, type, key, , size, view] = pid.items;
    if (!Object.values(STORAGE_TYPES).includes(type as StorageType)) throw new Error('a storage of an unknown type');
    if (typeof key !== 'string') throw new Error('a storage whose key is not a string');
    if (view !== undefined && view !== null)
      throw new Error(`storage ${key} is a view of another storage (not supported)`);
    const known = storages.get(key);
    if (known) return known;
    const storage: StorageRef = { key, type: type as StorageType, size: nonNegativeInt(size, `storage ${key} size`) };
    storages.set(key, storage);
    return storage;
  };
  return { storages, load };
}

function noPersistentIds(): never {
  throw new Error('a persistent id outside the state dict');
}

/** Row-major copy of a strided view of a storage; refuses a view that reaches past the storage's end. */
function materialize(name: string, ref: TensorRef): TorchTensor {
  const { storage, shape, strides, offset } = ref;
  const count = shape.reduce((n, d) => n * d, 1);
  const last = shape.reduce((at, d, i) => (d === 0 ? at : at + (d - 1) * strides[i]!), offset);
  if (count > 0 && last >= storage.size) {
    throw new Error(
      `tensor ${name} [${shape}] with strides [${strides}] at offset ${offset} reaches element ${last} of storage ${storage.key}, which has ${storage.size}`,
    );
  }
  const data = storage.data;
  if (!data) throw new Error(`storage ${storage.key} of tensor ${name} has no data in the file`);
  const base = { name, shape, strides, storageOffset: offset };
  if (storage.type.dtype === 'float32') {
    const values = new Float32Array(count);
    forEachElement(shape, strides, offset, (i, source) => {
      values[i] = data.getFloat32(source * 4, true);
    });
    return { ...base, dtype: 'float32', values };
  }
  const values = new BigInt64Array(count);
  forEachElement(shape, strides, offset, (i, source) => {
    values[i] = data.getBigInt64(source * 8, true);
  });
  return { ...base, dtype: 'int64', values };
}

/** Calls `visit(rowMajorIndex, storageIndex)` for every element of a strided view. */
function forEachElement(
  shape: number[],
  strides: number[],
  offset: number,
  visit: (i: number, source: number) => void,
): void {
  const count = shape.reduce((n, d) => n * d, 1);
  const index = shape.map(() => 0);
  let source = offset;
  for (let i = 0; i < count; i++) {
    visit(i, source);
    // Advance the multi-index like an odometer, moving the storage position by the strides.
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]!++;
      source += strides[d]!;
      if (index[d]! < shape[d]!) break;
      source -= strides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
}

function checkHeader(bytes: Uint8Array): number {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    throw new Error("this is PyTorch's zip checkpoint format (torch.save since 1.6), not the legacy format");
  }
  if (bytes[0] !== 0x80) throw new Error('this is not a PyTorch checkpoint (it does not start with a pickle)');
  const magic = unpickle(bytes, 0, { global: () => undefined, persistentLoad: noPersistentIds });
  if (magic.value !== MAGIC_NUMBER) {
    throw new Error(`wrong magic number ${String(magic.value)}: not a PyTorch legacy checkpoint`);
  }
  const protocol = unpickle(bytes, magic.end, { global: () => undefined, persistentLoad: noPersistentIds });
  if (protocol.value !== PROTOCOL_VERSION) throw new Error(`unsupported protocol version ${String(protocol.value)}`);
  const sysInfo = unpickle(bytes, protocol.end, { global: () => undefined, persistentLoad: noPersistentIds });
  const info = sysInfo.value instanceof PickleDict ? sysInfo.value.entries : undefined;
  if (info?.get('little_endian') !== true) throw new Error('the checkpoint was not saved on a little-endian machine');
  return sysInfo.end;
}

/** The tensors of a legacy PyTorch state dict, by name, in the file's order. */
export function readTorchCheckpoint(bytes: Uint8Array): Map<string, TorchTensor> {
  try {
    const afterHeader = checkHeader(bytes);
    const { storages, load } = storageLoader();
    const main = unpickle(bytes, afterHeader, { global: knownGlobal, persistentLoad: load });
    if (!(main.value instanceof PickleDict)) throw new Error('the checkpoint does not hold a state dict');
    const keys = unpickle(bytes, main.end, { global: () => undefined, persistentLoad: noPersistentIds });
    if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
      throw new Error('the storage key list is not a list of strings');
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = keys.end;
    for (const key of keys.value as string[]) {
      const storage = storages.get(key);
      if (!storage) throw new Error(`storage ${key} is in the data section but no tensor uses it`);
      if (at + 8 > bytes.length) throw new Error(`the file ends before storage ${key} (truncated file?)`);
      const count = view.getBigInt64(at, true);
      if (count !== BigInt(storage.size)) {
        throw new Error(`storage ${key} holds ${count} elements, the state dict says ${storage.size}`);
      }
      const length = storage.size * storage.type.elementSize;
      if (at + 8 + length > bytes.length) throw new Error(`the file ends inside storage ${key} (truncated file?)`);
      storage.data = new DataView(bytes.buffer, bytes.byteOffset + at + 8, length);
      at += 8 + length;
    }
    if (at !== bytes.length) throw new Error(`${bytes.length - at} unexpected bytes after the last storage`);
    const tensors = new Map<string, TorchTensor>();
    for (const [name, value] of main.value.entries) {
      if (typeof name !== 'string') throw new Error('a state dict key that is not a string');
      if (!value || typeof value !== 'object' || (value as TensorRef).pickleName !== 'tensor') {
        throw new Error(`state dict entry ${name} is not a tensor`);
      }
      tensors.set(name, materialize(name, value as TensorRef));
    }
    return tensors;
  } catch (error) {
    const reason = error instanceof PickleError || error instanceof Error ? error.message : String(error);
    throw new Error(`not a readable PyTorch checkpoint: ${reason}`, { cause: error });
  }
}
