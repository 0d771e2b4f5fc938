import { type PickleDict, type PickleTuple, unpickle } from '../../../../../lib/models/convert/pickle';

const refuseAll = { global: () => undefined, persistentLoad: () => undefined };

/** A protocol-2 pickle of the given opcode bytes. */
function pickle(...parts: Array<number[] | string>): Uint8Array {
  const body = parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part)));
  return Buffer.concat([Buffer.from([0x80, 2]), ...body, Buffer.from('.')]);
}

describe('unpickle', () => {
  it('reads the scalars, tuples, lists, dicts and memo references torch.save writes', () => {
    // Prepare: [(-1 as LONG1, 1.5, None), (True, False), 'é', the tuple again from the memo, {'a': 70000}]
    const bytes = pickle(
      ']',
      '(',
      [0x8a, 1, 0xff], // LONG1 -1
      [0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0], // BINFLOAT 1.5
      'N',
      [0x87], // TUPLE3
      'q\x00', // BINPUT 0
      [0x88, 0x89, 0x86], // NEWTRUE NEWFALSE TUPLE2
      [0x8c, 2, 0xc3, 0xa9], // SHORT_BINUNICODE 'é'
      'h\x00', // BINGET 0
      '}',
      'X\x01\x00\x00\x00a',
      [0x4a, 0x70, 0x11, 0x01, 0x00], // BININT 70000
      's',
      'e',
    );

    // Act
    const { value, end } = unpickle(bytes, 0, refuseAll);

    // Assess
    expect(end).toBe(bytes.length);
    const [first, second, text, again, dict] = value as [PickleTuple, PickleTuple, string, PickleTuple, PickleDict];
    expect(first.items).toEqual([-1, 1.5, null]);
    expect(second.items).toEqual([true, false]);
    expect(text).toBe('é');
    expect(again).toBe(first);
    expect([...dict.entries]).toEqual([['a', 70000]]);
  });

  it('reads integers past 2^53 as bigints', () => {
    const bytes = pickle([0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x40]);
    expect(unpickle(bytes, 0, refuseAll).value).toBe(1n << 62n);
  });

  it('only calls what the caller resolved a GLOBAL to', () => {
    const calls: unknown[][] = [];
    const hooks = {
      global: (module: string, name: string) =>
        module === 'm' && name === 'f' ? { pickleName: 'm.f', call: (args: unknown[]) => calls.push(args) } : undefined,
      persistentLoad: () => undefined,
    };
    expect(unpickle(pickle('cm\nf\n', 'K\x07', [0x85], 'R'), 0, hooks).value).toBe(1);
    expect(calls).toEqual([[7]]);
    expect(() => unpickle(pickle('cbuiltins\neval\n'), 0, hooks)).toThrow(/refusing to load builtins\.eval/);
    expect(() => unpickle(pickle('K\x01', ')', 'R'), 0, hooks)).toThrow(/REDUCE at byte \d+: number is not callable/);
  });

  it('names the opcode and byte of a malformed pickle', () => {
    expect(() => unpickle(pickle('h\x05'), 0, refuseAll)).toThrow(/BINGET at byte 2: memo entry 5 was never set/);
    expect(() => unpickle(pickle('K\x01', 'K\x02'), 0, refuseAll)).toThrow(/2 values on the stack at STOP/);
    expect(() => unpickle(Buffer.from([0x80, 2, 0x58, 9, 0, 0, 0, 0x61]), 0, refuseAll)).toThrow(
      /the data ends inside BINUNICODE at byte 2 \(truncated file\?\)/,
    );
    expect(() => unpickle(Buffer.from([0x80, 5]), 0, refuseAll)).toThrow(/protocol 5 is not supported/);
  });
});
