import fs from 'node:fs';
import type { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { imageIdOf, parseFaceId } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import type { TrackRecord } from '../../../lib/pipeline/records';
import { analyzeVideoFile } from '../../../lib/pipeline/videoAnalysis';
import { sharedAnalyser } from '../../helpers/analyser';
import { openPipeline, tempDataDir } from '../../helpers/localPipeline';
import { dataFile } from '../../helpers/testConfig';

/**
 * The real clips of data/video through the local pipeline with the Hamilton clip's people enrolled from their one
 * reference photo each (SOURCE.md; reports/video-tracks.md checks the tracks by eye): how many tracks, which are
 * named, and as whom. These are the numbers reports/video-bench.md reports; a change in linking or naming shows here.
 */
const HAMILTON = 'face_recognition_short_hamilton_clip.mp4';
const PEOPLE = [
  ['miranda', 'Lin-Manuel Miranda', 'face_recognition_lin-manuel-miranda.png'],
  ['lacamoire', 'Alex Lacamoire', 'face_recognition_alex-lacamoire.png'],
  ['obama', 'Barack Obama', 'face_recognition_obama.jpg'],
] as const;

async function tracksOf(clip: string): Promise<{ tracks: TrackRecord[]; recognisedAs: string[][] }> {
  const pipeline: LocalPipeline = await openPipeline(tempDataDir('real-clip'));
  try {
    for (const [personId, name, photo] of PEOPLE) {
      const bytes = fs.readFileSync(dataFile('video', photo));
      await enrolPerson(pipeline.context, { personId, name, photos: [{ name: photo, bytes }] });
    }
    await pipeline.upload(clip, fs.readFileSync(dataFile('video', clip)));
    await pipeline.drained();
    const tracks = await pipeline.results.tracksOfVideo(imageIdOf('ingest', clip));
    // Each face's own identity, before its track's vote.
    const recognisedAs = await Promise.all(
      tracks.map(async (track) => {
        const people = new Set<string>();
        for (const ref of track.faces) {
          const id = parseFaceId(ref.faceId);
          const face = id && (await pipeline.results.getFace(id.imageId, id.index));
          if (face?.identity?.personId) people.add(face.identity.personId);
        }
        return [...people];
      }),
    );
    return { tracks, recognisedAs };
  } finally {
    await pipeline.close();
  }
}

const span = (t: TrackRecord) => `${t.firstSeen.toFixed(1)}-${t.lastSeen.toFixed(1)}`;

describe('the real clips', () => {
  test('Hamilton: 15 tracks (3 glimpses); Miranda named in both his shots and Obama in his, nobody named wrong or twice', async () => {
    // Act
    const { tracks, recognisedAs } = await tracksOf(HAMILTON);

    // Assess: 15 tracks for 6 clear people and the blurred audience, 3 of them one-frame glimpses.
    expect(tracks).toHaveLength(15);
    expect(tracks.filter((t) => t.glimpse).map(span)).toEqual(['2.5-2.5', '3.5-3.5', '8.0-8.0']);
    // Named, at the 1:N threshold for a 3-person gallery (0.37): Miranda's close-up by his own faces, his wide shot
    // (40 px) after it by likeness, and Obama in the audience (0.34-0.42 to his one photo, 0.1 ahead of anyone else).
    const named = tracks.filter((t) => t.identity.personId !== null);
    expect(named.map((t) => [span(t), t.identity.personId, t.identity.likeTrack])).toEqual([
      ['0.8-1.0', 'miranda', named[1]?.index],
      ['4.0-7.5', 'miranda', undefined],
      ['8.0-9.5', 'obama', undefined],
    ]);
    expect(named.map((t) => t.identity.share)).toEqual([0.5, expect.any(Number), expect.any(Number)]);
    expect(named[1]?.identity.share).toBeGreaterThanOrEqual(0.75);
    expect(named[2]?.identity.share).toBeGreaterThanOrEqual(0.5);
    // Lacamoire's close profile (shot 2) is one track of 4 faces across its jumps, and unknown: a profile is nothing
    // like his frontal photo (cosine −0.18 to 0.12).
    const profile = tracks.find((t) => span(t) === '1.5-3.5' && t.faces.length === 4);
    expect(profile?.identity.personId).toBeNull();
    // The rest of the audience stays unknown.
    expect(tracks.filter((t) => t.firstSeen > 7.9 && t.identity.personId !== 'obama')).toHaveLength(6);
    expect(
      tracks.filter((t) => t.firstSeen > 7.9 && t.identity.personId !== 'obama').map((t) => t.identity.personId),
    ).toEqual(Array(6).fill(null));
    // No track's faces were recognised as two people.
    expect(recognisedAs.filter((people) => people.length > 1)).toEqual([]);
  });

  test('GRID: one speaker, one track of every sampled frame, unknown', async () => {
    const { tracks } = await tracksOf('lipnet_grid_id2_vcd_swwp2s.mpg');
    expect(tracks.map((t) => [t.faces.length, t.identity.personId, t.glimpse ?? false])).toEqual([[6, null, false]]);
  });

  test('facepipe analyze gives the Hamilton clip the same 15 tracks and the same 3 glimpses as the pipeline', async () => {
    // Act: on the spot, no store and no gallery
    const analysis = await analyzeVideoFile(await sharedAnalyser(), dataFile('video', HAMILTON));

    // Assess
    const spanOf = (t: { firstSeen: number; lastSeen: number }) => `${t.firstSeen.toFixed(1)}-${t.lastSeen.toFixed(1)}`;
    expect(analysis.tracks).toHaveLength(15);
    expect(analysis.tracks.filter((t) => t.glimpse).map(spanOf)).toEqual(['2.5-2.5', '3.5-3.5', '8.0-8.0']);
  });
});
