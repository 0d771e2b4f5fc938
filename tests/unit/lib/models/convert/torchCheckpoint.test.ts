import fs from 'node:fs';
import path from 'node:path';
import { readTorchCheckpoint, type TorchTensor } from '../../../../../lib/models/convert/torchCheckpoint';
import { modelMirror } from '../../../../helpers/testConfig';

/** Opcode-level writer for the crafted checkpoints: each helper returns the bytes of one pickle instruction. */
const p = {
  proto: () => Buffer.from([0x80, 2]),
  stop: () => Buffer.from('.'),
  mark: () => Buffer.from('('),
  str: (s: string) => {
    const utf8 = Buffer.from(s, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(utf8.length);
    return Buffer.concat([Buffer.from('X'), length, utf8]);
  },
  int: (n: number) => Buffer.from([0x4b, n]),
  int2: (n: number) => Buffer.from([0x4d, n & 0xff, n >> 8]),
  global: (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`, 'latin1'),
  tuple: () => Buffer.from('t'),
  emptyTuple: () => Buffer.from(')'),
  emptyDict: () => Buffer.from('}'),
  emptyList: () => Buffer.from(']'),
  setItems: () => Buffer.from('u'),
  appends: () => Buffer.from('e'),
  reduce: () => Buffer.from('R'),
  persId: () => Buffer.from('Q'),
  newTrue: () => Buffer.from([0x88]),
  newFalse: () => Buffer.from([0x89]),
  none: () => Buffer.from('N'),
};

const pickle = (...ops: Buffer[]) => Buffer.concat([p.proto(), ...ops, p.stop()]);

/** The pickled magic number 0x1950a86a20f9469cfc6c as LONG1. */
function magic(value = 0x1950a86a20f9469cfc6cn): Buffer {
  const bytes = Buffer.alloc(10);
  for (let i = 0; i < 10; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return pickle(Buffer.from([0x8a, 10]), bytes);
}

interface CraftedTensor {
  name: string;
  key: string;
  storageSize: number;
  offset: number;
  shape: number[];
  strides: number[];
}

/** A state dict of float tensors over float storages, in the legacy format `torch.save` wrote before PyTorch 1.6. */
function craftCheckpoint(
  tensors: CraftedTensor[],
  storages: Record<string, number[]>,
  options: { mainPickle?: Buffer; storageCount?: number } = {},
): Buffer {
  const intTuple = (values: number[]) => Buffer.concat([p.mark(), ...values.map(p.int), p.tuple()]);
  const entries = tensors.map((t) =>
    Buffer.concat([
      p.str(t.name),
      p.global('torch._utils', '_rebuild_tensor_v2'),
      p.mark(),
      // persistent id ('storage', FloatStorage, key, location, size)
      p.mark(),
      p.str('storage'),
      p.global('torch', 'FloatStorage'),
      p.str(t.key),
      p.str('cpu'),
      p.int(t.storageSize),
      p.tuple(),
      p.persId(),
      p.int(t.offset),
      intTuple(t.shape),
      intTuple(t.strides),
      p.newFalse(),
      p.global('collections', 'OrderedDict'),
      p.emptyTuple(),
      p.reduce(),
      p.tuple(),
      p.reduce(),
    ]),
  );
  const main =
    options.mainPickle ??
    pickle(p.global('collections', 'OrderedDict'), p.emptyTuple(), p.reduce(), p.mark(), ...entries, p.setItems());
  const keys = Object.keys(storages);
  const data = keys.map((key) => {
    const values = storages[key]!;
    const bytes = Buffer.alloc(8 + values.length * 4);
    bytes.writeBigInt64LE(BigInt(options.storageCount ?? values.length));
    values.forEach((v, i) => {
      bytes.writeFloatLE(v, 8 + i * 4);
    });
    return bytes;
  });
  return Buffer.concat([
    magic(),
    pickle(p.int2(1001)),
    pickle(p.emptyDict(), p.mark(), p.str('little_endian'), p.newTrue(), p.setItems()),
    main,
    pickle(p.emptyList(), p.mark(), ...keys.map(p.str), p.appends()),
    ...data,
  ]);
}

/** The values of a float32 tensor as numbers. */
function floats(tensors: Map<string, TorchTensor>, name: string): number[] {
  const tensor = tensors.get(name);
  if (tensor?.dtype !== 'float32') throw new Error(`${name} is not a float32 tensor`);
  return Array.from(tensor.values);
}

const STORAGE = [0, 1, 2, 3, 4, 5];
const matrix = (over: Partial<CraftedTensor> = {}): CraftedTensor => ({
  name: 'm',
  key: 'k0',
  storageSize: STORAGE.length,
  offset: 0,
  shape: [2, 3],
  strides: [3, 1],
  ...over,
});

describe('readTorchCheckpoint on the RetinaFace weights (mobilenet0.25_Final.pth)', () => {
  const file = path.join(modelMirror, 'mobilenet0.25_Final.pth');

  it('reads every tensor of the state dict with its name, shape and values', () => {
    // Act
    const tensors = readTorchCheckpoint(fs.readFileSync(file));

    // Assess: 47 convolutions with a BatchNorm (6 tensors each) and 9 head convolutions with a bias (2 each).
    expect(tensors.size).toBe(300);
    const names = [...tensors.keys()];
    expect(names[0]).toBe('body.stage1.0.0.weight');
    expect(names.at(-1)).toBe('LandmarkHead.2.conv1x1.bias');
    const stem = tensors.get('body.stage1.0.0.weight')!;
    expect(stem).toMatchObject({ dtype: 'float32', shape: [8, 3, 3, 3], strides: [27, 9, 3, 1], storageOffset: 0 });
    expect(stem.values[0]).toBe(Math.fround(0.10497289150953293));
    expect(tensors.get('body.stage3.1.3.weight')!.shape).toEqual([256, 256, 1, 1]);
    expect(tensors.get('ClassHead.0.conv1x1.weight')!.shape).toEqual([4, 64, 1, 1]);
    expect(tensors.get('LandmarkHead.1.conv1x1.bias')!.shape).toEqual([20]);
    const steps = tensors.get('body.stage1.0.1.num_batches_tracked')!;
    expect(steps).toMatchObject({ dtype: 'int64', shape: [] });
    expect(steps.values[0]).toBe(184795n);
    // 4 bytes per float + 8 per int64 + an 8-byte count per storage + 53,775 bytes of pickles = the file's size.
    const floats = [...tensors.values()].filter((t) => t.dtype === 'float32');
    expect(floats.reduce((n, t) => n + t.values.length, 0)).toBe(433_296);
  });

  it('refuses the file cut short, inside a pickle or inside the storages', () => {
    const bytes = fs.readFileSync(file);
    expect(() => readTorchCheckpoint(bytes.subarray(0, 20_000))).toThrow(/ends inside .* \(truncated file\?\)/);
    expect(() => readTorchCheckpoint(bytes.subarray(0, bytes.length - 100))).toThrow(
      /the file ends inside storage \d+ \(truncated file\?\)/,
    );
  });
});

describe('readTorchCheckpoint on crafted checkpoints', () => {
  it('reads a contiguous tensor and a strided view at an offset of the same storage', () => {
    // Prepare: m = storage viewed as 2x3; t = its transpose's 2x2 corner starting at element 1.
    const bytes = craftCheckpoint([matrix(), matrix({ name: 't', offset: 1, shape: [2, 2], strides: [1, 3] })], {
      k0: STORAGE,
    });

    // Act
    const tensors = readTorchCheckpoint(bytes);

    // Assess
    expect(floats(tensors, 'm')).toEqual([0, 1, 2, 3, 4, 5]);
    expect(tensors.get('t')).toMatchObject({ shape: [2, 2], strides: [1, 3], storageOffset: 1 });
    expect(floats(tensors, 't')).toEqual([1, 4, 2, 5]);
  });

  it('refuses a view that reaches past the end of its storage', () => {
    const bytes = craftCheckpoint([matrix({ offset: 1 })], { k0: STORAGE });
    expect(() => readTorchCheckpoint(bytes)).toThrow(
      /tensor m \[2,3\] .* reaches element 6 of storage k0, which has 6/,
    );
  });

  it('refuses a wrong magic number, the zip format and a file that is no pickle at all', () => {
    const good = craftCheckpoint([matrix()], { k0: STORAGE });
    const wrongMagic = Buffer.concat([magic(12345n), good.subarray(magic().length)]);
    expect(() => readTorchCheckpoint(wrongMagic)).toThrow(/wrong magic number 12345: not a PyTorch legacy checkpoint/);
    expect(() => readTorchCheckpoint(Buffer.from('PK\x03\x04 archive/data.pkl'))).toThrow(/zip checkpoint format/);
    expect(() => readTorchCheckpoint(Buffer.from('<html>Not Found</html>'))).toThrow(/not a PyTorch checkpoint/);
    expect(() => readTorchCheckpoint(Buffer.alloc(0))).toThrow(/not a PyTorch checkpoint/);
  });

  it('refuses any global it does not know, without running it', () => {
    const main = pickle(p.global('os', 'system'), p.mark(), p.str('echo pwned'), p.tuple(), p.reduce());
    const bytes = craftCheckpoint([], {}, { mainPickle: main });
    expect(() => readTorchCheckpoint(bytes)).toThrow(
      /not a readable PyTorch checkpoint: pickle at byte \d+: GLOBAL at byte \d+: refusing to load os\.system/,
    );
  });

  it('refuses a storage type other than float32 and int64', () => {
    const main = pickle(p.global('torch', 'HalfStorage'));
    expect(() => readTorchCheckpoint(craftCheckpoint([], {}, { mainPickle: main }))).toThrow(
      /storage type torch\.HalfStorage is not supported/,
    );
  });

  it('refuses a storage whose element count disagrees with the state dict', () => {
    const bytes = craftCheckpoint([matrix()], { k0: STORAGE }, { storageCount: 7 });
    expect(() => readTorchCheckpoint(bytes)).toThrow(/storage k0 holds 7 elements, the state dict says 6/);
  });

  it('refuses bytes after the last storage and an unsupported opcode', () => {
    const good = craftCheckpoint([matrix()], { k0: STORAGE });
    expect(() => readTorchCheckpoint(Buffer.concat([good, Buffer.from([1, 2, 3])]))).toThrow(
      /3 unexpected bytes after the last storage/,
    );
    const main = pickle(Buffer.from('i')); // INST: protocol 0's way of building an object, never needed here
    expect(() => readTorchCheckpoint(craftCheckpoint([], {}, { mainPickle: main }))).toThrow(
      /opcode 0x69 at byte \d+: this opcode is not supported/,
    );
  });
});
