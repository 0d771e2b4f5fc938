/**
 * The gallery's one way to the server: the API's routes and the gallery's own reads (`/ui/api`), with the session
 * cookie the login set (sent by the browser, never readable here) and the header that marks the gallery's requests.
 */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Identity {
  personId: string | null;
  name?: string;
  details?: Record<string, unknown>;
  similarity: number;
}

export interface Face {
  faceId: string;
  image: string;
  index: number;
  box: Box;
  score: number;
  /** Five points (eyes, nose, mouth corners) in the image's pixels. */
  landmarks: [number, number][] | null;
  emotion: { label: string; confidence: number; scores?: Record<string, number> } | null;
  age: number | null;
  gender: { label: string; confidence: number } | null;
  identity: Identity | null;
  crop: string;
  thumbnail: string;
  detectedAt: string;
}

export interface ImageInfo {
  image: string;
  imageId: string;
  status: 'processing' | 'done' | 'failed';
  error: { code: string; message: string } | null;
  faces: number | null;
  width: number | null;
  height: number | null;
  processedAt: string | null;
}

export interface GalleryImage {
  imageId: string;
  key: string;
  status: string;
  faces: number | null;
  width: number | null;
  height: number | null;
  at: string;
  error: { code: string; message: string } | null;
  device: string | null;
  /** The key of its thumbnail in the thumbnails bucket (a video's: its first track's best face). */
  thumbnail: string | null;
  /** Set for a video: its length and its number of face tracks (null until known). */
  video: { durationSeconds: number | null; tracks: number | null } | null;
}

/** A video's record as `GET /videos/{id}` answers it: the upload's status and how it was sampled. */
export interface VideoInfo extends ImageInfo {
  warning: { code: string; message: string } | null;
  video?: {
    container: string;
    codec: string | null;
    durationSeconds: number | null;
    fps: number | null;
    sampleRate: number;
    framesSampled: number | null;
    shotCuts: number[];
    tracks: number | null;
    knownTracks: number | null;
  };
}

/** A face followed across a video's frames: when, who (by a vote of its faces), its best face. */
export interface Track {
  trackId: string;
  index: number;
  firstSeen: number;
  lastSeen: number;
  faces: number;
  identity: { personId: string | null; name?: string; votes: number; share: number; similarity: number };
  bestFace: { faceId: string; at: number; crop: string; thumbnail: string; quality: number };
  emotions: { from: number; to: number; label: string; faces: number }[];
  faceIds: string[];
}

/** Who was seen when in a video, and how the visible faces felt per window of its timeline. */
export interface VideoSummary {
  windowSeconds: number;
  people: {
    personId: string;
    name: string;
    tracks: number;
    seconds: number;
    intervals: { from: number; to: number }[];
  }[];
  unknownTracks: number;
  emotions: { at: number; faces: number; emotions: Record<string, number> }[];
}

export interface VideoAnswer {
  video: VideoInfo;
  tracks: Track[];
  summary: VideoSummary | null;
}

export interface Person {
  personId: string;
  name: string;
  details: Record<string, unknown>;
  enrolledPhotos: number;
  createdAt: string;
  updatedAt: string;
  enrolmentPhotos?: string[];
}

export interface Cluster {
  clusterId: string;
  faces: number;
  createdAt: string;
  updatedAt: string;
}

export interface Erasure {
  removed: { records: number; objects: number };
  items: string[];
}

/** A refusal of the server: its `{error: {code, message}}`. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'x-facepipe-ui': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } }).error;
    throw new ApiFailure(response.status, error?.code ?? 'HTTP', error?.message ?? `HTTP ${response.status}`);
  }
  return parsed as T;
}

export const get = <T>(path: string) => call<T>('GET', path);

export const query = (params: Record<string, string | number | undefined>) => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
};

/** A file as the API takes photos: its name and its bytes in base64. */
export async function photoOf(file: File): Promise<{ name: string; data: string }> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const name = file.name.replace(/[^A-Za-z0-9 ._()+-]/g, '_').slice(0, 255) || 'photo.jpg';
  return { name, data: btoa(binary) };
}

export const imageUrl = (imageId: string) => `/ui/files/images/${imageId}`;
export const thumbnailUrl = (key: string) => `/ui/files/thumbnails/${key}`;
export const faceThumbnailUrl = (face: Pick<Face, 'thumbnail'>) => `/ui/files/thumbnails/${face.thumbnail}`;
export const cropUrl = (face: Pick<Face, 'crop'>) => `/ui/files/crops/${face.crop}`;
export const imageIdOfFace = (faceId: string) => faceId.slice(0, faceId.lastIndexOf('-'));

/** Uploads one photo or video into the pipeline (as a device's upload would land); results arrive on the event stream. */
export async function uploadPhoto(file: File): Promise<{ key: string; imageId: string }> {
  const response = await fetch(`/ui/api/uploads${query({ name: file.name })}`, {
    method: 'POST',
    credentials: 'same-origin',
    // The server judges the file by its content; the type only picks the size limit (a video's or an image's).
    headers: { 'x-facepipe-ui': '1', 'content-type': /^(image|video)\//.test(file.type) ? file.type : 'image/jpeg' },
    body: file,
  });
  const answer = (await response.json()) as { key: string; imageId: string; error?: { code: string; message: string } };
  if (!response.ok) throw new ApiFailure(response.status, answer.error?.code ?? 'HTTP', answer.error?.message ?? '');
  return answer;
}
