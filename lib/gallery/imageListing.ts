import { imageIdOf } from '../pipeline/ids';
import type { FaceFilter } from '../pipeline/queries';
import { findFaces } from '../pipeline/queries';
import type { ImageRecord } from '../pipeline/records';
import type { StorageContext } from '../pipeline/stages/context';
import type { Emotion } from '../vision/types';

/**
 * The images of the gallery's grid, newest first, with the filters of its toolbar. The results table has no
 * listing of all images (its indexes list faces by identity and emotion, and failed images), so the images come
 * from where they already are listed: the ingest bucket's objects (a device's under `devices/<name>/`), the faces
 * listings (a person, an emotion, the unknown faces) and the failed images. That reads one record per image shown,
 * which is fine for a local library of thousands of photos; an index of images by time is what a larger one needs.
 */
export interface ImageFilter {
  person?: string;
  emotion?: Emotion;
  unknown?: true;
  failed?: true;
  /** Only a device's uploads (`devices/<name>/…`). */
  device?: string;
  /** ISO times, inclusive: when the image arrived (or its face was detected, with a face filter). */
  since?: string;
  until?: string;
}

export interface GalleryImage {
  imageId: string;
  key: string;
  status: ImageRecord['status'] | 'waiting';
  faces: number | null;
  width: number | null;
  height: number | null;
  /** When it arrived (the record's creation, or the upload's time while no record exists yet). */
  at: string;
  error: { code: string; message: string } | null;
  /** The device that uploaded it, for keys under `devices/<name>/`. */
  device: string | null;
  /**
   * The key of the thumbnail the grid shows, in the thumbnails bucket: the whole image's, or for a video the best face
   * of its first track (a video has no picture of its own); null when there is none.
   */
  thumbnail: string | null;
  /** Set for a video upload (its page is the video view): its length and how many face tracks it has. */
  video: { durationSeconds: number | null; tracks: number | null } | null;
}

export interface ImagePage {
  images: GalleryImage[];
  /** How many images match the filter in all. */
  total: number;
}

/** The most images one filter looks at (a bound on the records read for a listing). */
export const MAX_LISTED_IMAGES = 10_000;

interface Candidate {
  imageId: string;
  key: string;
  at: string;
  /** The upload's version, when the candidate comes from the bucket's listing. */
  etag?: string;
}

/** The most image records a `RecordCache` keeps (about 1 KB each). */
const CACHED_RECORDS = 20_000;

/**
 * Records of finished images (done or failed), by image id, for the grid: a record is reused only while the upload
 * in the bucket is still the version it describes (same etag), so a new version is read afresh, and an erased image
 * is not listed at all (its upload is gone). Records of images still processing are never kept.
 */
export class RecordCache {
  private readonly records = new Map<string, ImageRecord>();

  get(candidate: { imageId: string; etag?: string }): ImageRecord | undefined {
    const record = this.records.get(candidate.imageId);
    return record && candidate.etag !== undefined && record.etag === candidate.etag ? record : undefined;
  }

  keep(record: ImageRecord): void {
    if (record.status === 'processing') return;
    this.records.delete(record.imageId);
    this.records.set(record.imageId, record);
    if (this.records.size > CACHED_RECORDS) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }
}

const deviceOfKey = (key: string) => /^devices\/([^/]+)\//.exec(key)?.[1] ?? null;

function withinTime(at: string, filter: ImageFilter): boolean {
  if (filter.since !== undefined && at < filter.since) return false;
  if (filter.until !== undefined && at > filter.until) return false;
  return true;
}

const newestFirst = (a: Candidate, b: Candidate) =>
  a.at === b.at ? a.imageId.localeCompare(b.imageId) : a.at < b.at ? 1 : -1;

async function candidates(context: StorageContext, filter: ImageFilter): Promise<Candidate[]> {
  const range = { since: filter.since, until: filter.until, limit: MAX_LISTED_IMAGES };
  const faceFilter: FaceFilter | undefined = filter.person
    ? { person: filter.person }
    : filter.emotion
      ? { emotion: filter.emotion }
      : filter.unknown
        ? { unknown: true }
        : undefined;
  if (faceFilter) {
    // Faces come newest first; an image is as new as its newest matching face. A face of a video's frame lists its
    // video (the frame is no upload of its own; the video's key comes with its record).
    const seen = new Map<string, Candidate>();
    for (const face of await findFaces(context, faceFilter, range)) {
      const imageId = face.frame?.videoId ?? face.imageId;
      if (!seen.has(imageId))
        seen.set(imageId, { imageId, key: face.frame ? '' : face.sourceKey, at: face.detectedAt });
    }
    return [...seen.values()];
  }
  const failed = (await context.results.failedImages(range)).map((image) => ({
    imageId: image.imageId,
    key: image.key,
    at: image.createdAt,
  }));
  if (filter.failed) return failed;
  const prefix = filter.device === undefined ? undefined : `devices/${filter.device}/`;
  const uploads = (await context.store.list(context.buckets.ingest, prefix)).map((object) => ({
    imageId: imageIdOf(context.buckets.ingest, object.key),
    key: object.key,
    at: object.lastModified ?? '',
    etag: object.etag,
  }));
  // A refused upload (over the size limit, a key the store cannot hold) has a failed record and no object.
  const listed = new Set(uploads.map((u) => u.imageId));
  return [...uploads, ...failed.filter((f) => !listed.has(f.imageId))].filter((c) => withinTime(c.at, filter));
}

/**
 * One page of the images matching `filter`, newest first (`offset` and `limit` count images). The records of the
 * page's images are read in batches; an upload with no record yet shows as waiting.
 */
export async function listImages(
  context: StorageContext,
  filter: ImageFilter,
  page: { offset: number; limit: number },
  cache?: RecordCache,
): Promise<ImagePage> {
  let found = await candidates(context, filter);
  if (filter.device !== undefined) found = found.filter((c) => deviceOfKey(c.key) === filter.device);
  found.sort(newestFirst);
  const shown = found.slice(page.offset, page.offset + page.limit);
  const records = new Map<string, ImageRecord>();
  const unread: Candidate[] = [];
  for (const candidate of shown) {
    const cached = cache?.get(candidate);
    if (cached) records.set(candidate.imageId, cached);
    else unread.push(candidate);
  }
  if (unread.length > 0) {
    for (const [imageId, record] of await context.results.getImages(unread.map((c) => c.imageId))) {
      records.set(imageId, record);
      cache?.keep(record);
    }
  }
  const videoThumbnails = await firstTrackThumbnails(context, [...records.values()]);
  const images: GalleryImage[] = [];
  for (const candidate of shown) {
    const record = records.get(candidate.imageId);
    if (!record && (filter.failed || candidate.key === '')) continue;
    images.push(galleryImage(candidate, record, videoThumbnails.get(candidate.imageId)));
  }
  return { images, total: found.length };
}

/** The thumbnail of each finished video's first track's best face (read per listing: a page holds few videos). */
async function firstTrackThumbnails(context: StorageContext, records: ImageRecord[]): Promise<Map<string, string>> {
  const videos = records.filter((r) => r.video && r.status === 'done' && (r.video.tracks ?? 0) > 0);
  const found = await Promise.all(
    videos.map(async (v) => [v.imageId, (await context.results.tracksOfVideo(v.imageId))[0]] as const),
  );
  return new Map(found.flatMap(([videoId, track]) => (track ? [[videoId, track.bestFace.thumbnailKey]] : [])));
}

function galleryImage(
  candidate: Candidate,
  record: ImageRecord | undefined,
  videoThumbnail: string | undefined,
): GalleryImage {
  const thumbnail = record?.thumbnailKey !== undefined && record.sourceErased !== true ? record.thumbnailKey : null;
  return {
    imageId: candidate.imageId,
    key: record?.key ?? candidate.key,
    status: record?.status ?? 'waiting',
    faces: record?.faceCount ?? null,
    width: record?.width ?? null,
    height: record?.height ?? null,
    at: record?.createdAt ?? candidate.at,
    error: record?.error ?? null,
    device: deviceOfKey(record?.key ?? candidate.key),
    thumbnail: thumbnail ?? videoThumbnail ?? null,
    video: record?.video
      ? { durationSeconds: record.video.durationSeconds ?? null, tracks: record.video.tracks ?? null }
      : null,
  };
}
