import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { FacepipeError, fileTooLarge } from '../errors';
import type { DeviceRegistry } from './ports';

/**
 * Devices: cameras, phones and scripts that upload photos and read their own results without AWS keys. A device has a
 * name, a folder of the ingest bucket of its own (`devices/<name>/`), what it may do, and a token of 256 random bits
 * of which only a SHA-256 hash is stored. A device sees only images under its own folder: the folder is derived from
 * the name the token was checked against, never from anything the request says.
 */

export const DEVICE_PERMISSIONS = ['analyse', 'upload', 'results'] as const;
export type DevicePermission = (typeof DEVICE_PERMISSIONS)[number];

export interface DeviceRecord {
  name: string;
  /** SHA-256 (hex) of the token's secret part; the token itself is shown once and never stored. */
  tokenHash: string;
  /** Where its uploads go: `devices/<name>/` and an optional sub-folder of its own. */
  prefix: string;
  can: DevicePermission[];
  createdAt: string;
  /** When the current token was issued (creation or the last rotation). */
  tokenIssuedAt: string;
  /** The token stops working at this time (ISO), if set. */
  expiresAt?: string;
  /** Revoked devices keep their record (their uploads still name them) but no token works. */
  revokedAt?: string;
}

/** What a device was told for one image: the key it may upload to, and that the image is its own. */
export interface UploadTicket {
  imageId: string;
  device: string;
  key: string;
  /** Until when the upload itself may happen (the presigned POST's expiry). */
  uploadBy: string;
  /** The largest upload the form allows (its content-length-range). */
  maxBytes?: number;
  createdAt: string;
}

const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SUB_FOLDER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(\/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}){0,3}$/;
/** Every device's folder lives under this one; nothing else is written there. */
export const DEVICES_FOLDER = 'devices/';
const TOKEN_PREFIX = 'fpd1.';
const SECRET_BYTES = 32;

export function validateDeviceName(name: string): string {
  if (!DEVICE_NAME.test(name)) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `Invalid device name "${name}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
    );
  }
  return name;
}

/** The folder of a device's uploads: its own, plus an optional sub-folder (`--prefix frontdoor`). */
export function devicePrefix(name: string, subFolder?: string): string {
  const base = `${DEVICES_FOLDER}${validateDeviceName(name)}/`;
  if (subFolder === undefined || subFolder === '') return base;
  const clean = subFolder.replace(/^\/+|\/+$/g, '');
  if (!SUB_FOLDER.test(clean)) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `Invalid prefix "${subFolder}": 1-4 folder names of letters, digits, '.', '_' or '-' (it goes under ${base}).`,
    );
  }
  return `${base}${clean}/`;
}

/** The device whose folder a key is in (`devices/<name>/…`), or undefined for any other key. */
export function deviceOfKey(key: string): string | undefined {
  if (!key.startsWith(DEVICES_FOLDER)) return undefined;
  const name = key.slice(DEVICES_FOLDER.length).split('/')[0] ?? '';
  return DEVICE_NAME.test(name) && key.length > DEVICES_FOLDER.length + name.length + 1 ? name : undefined;
}

export function parsePermissions(text: string): DevicePermission[] {
  const wanted = text
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .map((p) => (p === 'analyze' ? 'analyse' : p))
    .filter((p) => p !== '');
  const unknown = wanted.filter((p) => !(DEVICE_PERMISSIONS as readonly string[]).includes(p));
  if (wanted.length === 0 || unknown.length > 0) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `--can takes a comma-separated list of ${DEVICE_PERMISSIONS.join(', ')}${unknown.length ? `, got ${unknown.join(', ')}` : ''}.`,
    );
  }
  return DEVICE_PERMISSIONS.filter((p) => wanted.includes(p));
}

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/**
 * A new token for a device: `fpd1.<name>.<43 characters of base64url: 256 random bits>`. The name in it says which
 * record to check against (no index of hashes needed); only the hash of the secret part is stored. A hash without a
 * salt or a slow function is enough here: the secret is random, not a password anyone could guess.
 */
export function newDeviceToken(name: string): { token: string; tokenHash: string } {
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { token: `${TOKEN_PREFIX}${validateDeviceName(name)}.${secret}`, tokenHash: hashSecret(secret) };
}

/** The name and secret of a well-formed token; undefined for anything else (never an error that quotes it). */
export function parseDeviceToken(token: string): { name: string; secret: string } | undefined {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const rest = token.slice(TOKEN_PREFIX.length);
  const dot = rest.lastIndexOf('.');
  const name = rest.slice(0, dot);
  const secret = rest.slice(dot + 1);
  if (dot <= 0 || !DEVICE_NAME.test(name) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
  return { name, secret };
}

/** Why a token was refused (for the server's own log; the caller always gets the same answer). */
export type TokenRefusal = 'malformed' | 'unknown' | 'mismatch' | 'revoked' | 'expired';

export type TokenCheck = { device: DeviceRecord } | { refused: TokenRefusal };

/**
 * Checks a device token against the registry: the device it names must exist, not be revoked or expired, and the
 * secret's hash must equal the stored one (compared in constant time).
 */
export async function checkDeviceToken(registry: DeviceRegistry, token: string, now: Date): Promise<TokenCheck> {
  const parsed = parseDeviceToken(token);
  if (!parsed) return { refused: 'malformed' };
  const device = await registry.getDevice(parsed.name);
  if (!device) return { refused: 'unknown' };
  const given = Buffer.from(hashSecret(parsed.secret), 'hex');
  const stored = Buffer.from(device.tokenHash, 'hex');
  if (given.length !== stored.length || !timingSafeEqual(given, stored)) return { refused: 'mismatch' };
  if (device.revokedAt) return { refused: 'revoked' };
  if (device.expiresAt && Date.parse(device.expiresAt) <= now.getTime()) return { refused: 'expired' };
  return { device };
}

export interface NewDevice {
  name: string;
  prefix?: string;
  can?: readonly DevicePermission[];
  /** Days the token works; none: until rotated or revoked. */
  expiresInDays?: number;
}

const expiry = (now: Date, days: number | undefined) =>
  days === undefined ? undefined : new Date(now.getTime() + days * 86_400_000).toISOString();

/** Creates a device and returns its record with the token, which is never shown again. */
export async function addDevice(
  registry: DeviceRegistry,
  request: NewDevice,
  now = new Date(),
): Promise<{ device: DeviceRecord; token: string }> {
  const name = validateDeviceName(request.name);
  const { token, tokenHash } = newDeviceToken(name);
  const at = now.toISOString();
  const expiresAt = expiry(now, request.expiresInDays);
  const device: DeviceRecord = {
    name,
    tokenHash,
    prefix: devicePrefix(name, request.prefix),
    can: [...(request.can ?? DEVICE_PERMISSIONS)],
    createdAt: at,
    tokenIssuedAt: at,
    ...(expiresAt ? { expiresAt } : {}),
  };
  if (!(await registry.addDevice(device))) {
    throw new FacepipeError('CONFLICT', `A device named "${name}" exists already; rotate its token or pick a name.`);
  }
  return { device, token };
}

async function existing(registry: DeviceRegistry, name: string): Promise<DeviceRecord> {
  const device = await registry.getDevice(validateDeviceName(name));
  if (!device) throw new FacepipeError('NOT_FOUND', `No device named "${name}".`);
  return device;
}

/** A new token for a device; the old one stops working at once. A revoked device comes back with the new token. */
export async function rotateDeviceToken(
  registry: DeviceRegistry,
  name: string,
  options: { expiresInDays?: number } = {},
  now = new Date(),
): Promise<{ device: DeviceRecord; token: string }> {
  const before = await existing(registry, name);
  const { token, tokenHash } = newDeviceToken(before.name);
  const { revokedAt, expiresAt, ...kept } = before;
  const newExpiry = expiry(now, options.expiresInDays);
  const device: DeviceRecord = {
    ...kept,
    tokenHash,
    tokenIssuedAt: now.toISOString(),
    ...(newExpiry ? { expiresAt: newExpiry } : {}),
  };
  if (!(await registry.replaceDevice(device, before.tokenHash))) {
    throw new FacepipeError('CONFLICT', `Device "${name}" changed while its token was rotated; try again.`);
  }
  return { device, token };
}

/** Revokes a device: its token stops working at once; its uploads and results stay. */
export async function revokeDevice(registry: DeviceRegistry, name: string, now = new Date()): Promise<DeviceRecord> {
  const before = await existing(registry, name);
  if (before.revokedAt) return before;
  // A fresh random hash as well: nothing that was ever issued matches it again.
  const device: DeviceRecord = { ...before, revokedAt: now.toISOString(), tokenHash: newDeviceToken(name).tokenHash };
  if (!(await registry.replaceDevice(device, before.tokenHash))) {
    throw new FacepipeError('CONFLICT', `Device "${name}" changed while it was revoked; try again.`);
  }
  return device;
}

/** The public shape of a device: never its token or hash. */
export function deviceView(device: DeviceRecord) {
  return {
    name: device.name,
    prefix: device.prefix,
    can: device.can,
    createdAt: device.createdAt,
    tokenIssuedAt: device.tokenIssuedAt,
    expiresAt: device.expiresAt ?? null,
    revokedAt: device.revokedAt ?? null,
    status: device.revokedAt ? 'revoked' : 'active',
  };
}

export type DeviceView = ReturnType<typeof deviceView>;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
  'image/tiff': 'tiff',
};

/** The image types a device may declare for an upload (the presigned policy holds it to that type). */
export const UPLOAD_CONTENT_TYPES = Object.keys(CONTENT_TYPES);

/**
 * The key of a device's next upload, chosen here, never by the device: its folder, the day, and a random name, so no
 * two uploads share a key and no device can name another's object.
 */
export function uploadKeyFor(device: Pick<DeviceRecord, 'prefix'>, contentType: string, now: Date): string {
  const extension = CONTENT_TYPES[contentType];
  if (!extension) {
    throw new FacepipeError('INVALID_OPTION', `contentType must be one of ${UPLOAD_CONTENT_TYPES.join(', ')}.`);
  }
  return `${device.prefix}${now.toISOString().slice(0, 10)}/${randomUUID()}.${extension}`;
}

/**
 * How late a device's upload may be written after its ticket's deadline: S3 checks the form's expiry when the upload
 * starts, and a large upload from a slow device ends later; clocks differ too (S3 allows 15 minutes of skew).
 */
export const UPLOAD_LATENESS_SECONDS = 15 * 60;

/**
 * Why an object in the devices' folder may not be analysed, or undefined when it may: a device's upload is analysed
 * only when the ticket of its key exists (`POST /uploads`, or `/analyze?store=true`), it was written by the
 * ticket's deadline (plus `UPLOAD_LATENESS_SECONDS`) and it is within the form's size limit. Objects outside the devices' folder are not devices' uploads.
 * The presigned policy already refuses such uploads on S3; this holds where a store does not enforce it.
 */
export function deviceUploadRefusal(
  object: { key: string; size: number; lastModified?: string },
  ticket: UploadTicket | undefined,
): FacepipeError | undefined {
  if (!object.key.startsWith(DEVICES_FOLDER)) return undefined;
  if (!ticket || ticket.key !== object.key) {
    return new FacepipeError(
      'UPLOAD_NOT_ALLOWED',
      `No upload ticket names "${object.key}": devices upload only to the key POST /uploads gives them.`,
    );
  }
  const written = Date.parse(object.lastModified ?? '');
  const deadline = Date.parse(ticket.uploadBy) + UPLOAD_LATENESS_SECONDS * 1000;
  if (Number.isFinite(written) && written > deadline) {
    return new FacepipeError(
      'UPLOAD_NOT_ALLOWED',
      `The upload arrived at ${object.lastModified}, after its form expired at ${ticket.uploadBy}; ask for a new one.`,
    );
  }
  if (ticket.maxBytes !== undefined && object.size > ticket.maxBytes) {
    return fileTooLarge(object.size, ticket.maxBytes, 'object', "the upload form's limit");
  }
  return undefined;
}
