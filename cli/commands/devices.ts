import type { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import {
  addDevice,
  type DeviceView,
  deviceView,
  parsePermissions,
  revokeDevice,
  rotateDeviceToken,
} from '../../lib/pipeline/devices';
import { jsonLine } from '../../lib/printable';
import { openJoined } from '../openPipeline';
import { formatTable } from '../table';

/**
 * `facepipe devices add|list|revoke|rotate`: the devices allowed to upload to the local pipeline and read their own
 * results through `facepipe serve` (on AWS, the same through the admin routes /devices, see docs/devices.md). A token
 * is printed once, when it is made; only its hash is kept.
 */

/** Beside a running `facepipe serve` (or watch), through it: the device is there for it at once. */
async function withDevices<T>(
  command: string,
  dataDir: string,
  config: FacepipeConfig,
  work: (pipeline: LocalPipeline) => Promise<T>,
) {
  const pipeline = await openJoined(command, dataDir, config);
  try {
    return await work(pipeline);
  } finally {
    await pipeline.close();
  }
}

function expiresInDays(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const days = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(days > 0 && days <= 36_500)) {
    throw new FacepipeError('INVALID_OPTION', `--expires-in must be a number of days, more than 0, got "${text}".`);
  }
  return days;
}

function printToken(view: DeviceView, token: string, json: boolean | undefined, what: string): void {
  if (json) {
    process.stdout.write(jsonLine({ ...view, token }));
    return;
  }
  process.stdout.write(
    `${what} ${view.name}: uploads under ${view.prefix}, may ${view.can.join(', ')}` +
      `${view.expiresAt ? `, token valid until ${view.expiresAt}` : ''}.\n` +
      `Its token (shown this once; keep it secret, e.g. in FACEPIPE_DEVICE_TOKEN on the device):\n${token}\n`,
  );
}

export async function addDeviceCommand(
  name: string,
  flags: { prefix?: string; can?: string; expiresIn?: string; json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const can = flags.can === undefined ? undefined : parsePermissions(flags.can);
  const days = expiresInDays(flags.expiresIn);
  const { device, token } = await withDevices('devices add', flags.dataDir, config, (pipeline) =>
    addDevice(pipeline.devices, { name, prefix: flags.prefix, can, expiresInDays: days }),
  );
  printToken(deviceView(device), token, flags.json, 'added device');
  return 0;
}

export async function listDevicesCommand(
  flags: { json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const devices = await withDevices('devices list', flags.dataDir, config, (pipeline) =>
    pipeline.devices.listDevices(),
  );
  const views = devices.map(deviceView);
  if (flags.json) {
    for (const view of views) process.stdout.write(jsonLine(view));
    return 0;
  }
  if (views.length === 0) {
    process.stdout.write('No devices; add one with "facepipe devices add <name>".\n');
    return 0;
  }
  process.stdout.write(
    formatTable(
      ['device', 'status', 'folder', 'may', 'token issued', 'expires'].map((header) => ({ header })),
      views.map((v) => [v.name, v.status, v.prefix, v.can.join(','), v.tokenIssuedAt, v.expiresAt ?? '-']),
    ),
  );
  return 0;
}

export async function revokeDeviceCommand(
  name: string,
  flags: { json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const device = await withDevices('devices revoke', flags.dataDir, config, (pipeline) =>
    revokeDevice(pipeline.devices, name),
  );
  if (flags.json) process.stdout.write(jsonLine(deviceView(device)));
  else process.stdout.write(`revoked ${device.name}: its token no longer works; its uploads and results stay.\n`);
  return 0;
}

export async function rotateDeviceCommand(
  name: string,
  flags: { expiresIn?: string; json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const days = expiresInDays(flags.expiresIn);
  const { device, token } = await withDevices('devices rotate', flags.dataDir, config, (pipeline) =>
    rotateDeviceToken(pipeline.devices, name, { expiresInDays: days }),
  );
  printToken(deviceView(device), token, flags.json, 'new token for');
  return 0;
}
