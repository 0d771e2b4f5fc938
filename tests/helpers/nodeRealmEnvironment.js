// onnxruntime-node checks tensor data with `instanceof Float32Array` of the outer realm; jest gives each test
// file its own realm, so expose the outer typed-array classes to the sandbox.
const { TestEnvironment } = require('jest-environment-node');

const typedArrays = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Buffer',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class NodeRealmEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of typedArrays) this.global[name] = globalThis[name];
  }
}

module.exports = NodeRealmEnvironment;
