import {
  bestFaceOf,
  emotionRuns,
  emotionWindows,
  isGlimpse,
  linkTracks,
  nameTracksByLikeness,
  peopleSeen,
  type TrackableFace,
  voteIdentities,
} from '../../../../lib/pipeline/tracking';

/** A unit embedding pointing along axis `person` (different people are orthogonal: similarity 0). */
function likeness(person: number, noise = 0): Float32Array {
  const v = new Float32Array(16);
  v[person] = 1;
  v[(person + 1) % 16] = noise;
  return v;
}

let faces = 0;
function face(at: number, x: number, person: number, extra: Partial<TrackableFace> = {}): TrackableFace {
  return {
    faceId: `f${faces++}`,
    frame: Math.round(at * 2),
    at,
    box: { x, y: 50, width: 80, height: 100 },
    embedding: likeness(person, 0.1),
    score: 0.9,
    quality: 0.5,
    emotion: 'neutral',
    ...extra,
  };
}

const options = { gapSeconds: 2, matchThreshold: 0.27, cuts: [] as number[] };
const idsOf = (tracks: { faces: TrackableFace[] }[]) => tracks.map((t) => t.faces.map((f) => f.at));

describe('linkTracks', () => {
  test('two people side by side stay two tracks, each followed frame by frame', () => {
    // Prepare
    const input = [0, 0.5, 1, 1.5].flatMap((at) => [face(at, 10 + at * 4, 0), face(at, 300 - at * 4, 1)]);

    // Act
    const tracks = linkTracks(input, options);

    // Assess
    expect(tracks).toHaveLength(2);
    for (const track of tracks) expect(track.faces.map((f) => f.at)).toEqual([0, 0.5, 1, 1.5]);
    expect(new Set(tracks[0]?.faces.map((f) => f.embedding?.[0]))).toEqual(new Set([1]));
  });

  test('a track survives a gap shorter than gapSeconds; a longer one starts a new track of an unlike face', () => {
    const short = linkTracks([face(0, 10, 0), face(0.5, 12, 0), face(2, 14, 0)], options);
    expect(idsOf(short)).toEqual([[0, 0.5, 2]]);
    const long = linkTracks(
      [face(0, 10, 0, { embedding: undefined }), face(5, 12, 0, { embedding: undefined })],
      options,
    );
    expect(long).toHaveLength(2);
  });

  test('a shot cut never joins two different people at the same place', () => {
    // Prepare: person 0, a cut at 1.2 s, then person 1 exactly where person 0 was.
    const input = [face(0, 100, 0), face(0.5, 100, 0), face(1, 100, 0), face(1.5, 100, 1), face(2, 100, 1)];

    // Act
    const tracks = linkTracks(input, { ...options, cuts: [1.2] });

    // Assess
    expect(idsOf(tracks)).toEqual([
      [0, 0.5, 1],
      [1.5, 2],
    ]);
  });

  test('across a cut, the same likeness continues the track (also elsewhere in the frame)', () => {
    const input = [face(0, 100, 3), face(0.5, 100, 3), face(1.5, 400, 3), face(2, 400, 3)];
    expect(idsOf(linkTracks(input, { ...options, cuts: [1.2] }))).toEqual([[0, 0.5, 1.5, 2]]);
  });

  test('within a shot, overlapping boxes of clearly unalike faces are two people', () => {
    const input = [face(0, 100, 0), face(0.5, 105, 5)];
    expect(linkTracks(input, options)).toHaveLength(2);
  });

  test('within a shot, a face that moved too far for its boxes to overlap continues the nearest track of its size', () => {
    // Prepare: a large profile moving 0.8 of its height per sample (IoU under 0.3), hardly like its earlier faces (a
    // turning head: similarity 0.09, above "clearly unalike", far below a likeness link), beside a small background
    // face that keeps its place.
    const turning = (at: number, x: number) =>
      face(at, x, 0, { box: { x, y: 0, width: 180, height: 240 }, embedding: partly(0, 0.3, 1 + at * 4) });
    const input = [turning(0, 400), turning(0.5, 210), turning(1.5, 400), face(0, 100, 3), face(0.5, 110, 3)];

    // Act
    const tracks = linkTracks(input, options);

    // Assess: the profile is one track across its jumps and a missed sample; the small face is another.
    expect(idsOf(tracks).sort()).toEqual([
      [0, 0.5],
      [0, 0.5, 1.5],
    ]);
    // A face of another size near the track's last box is another person, not its continuation.
    const other = linkTracks(
      [
        turning(0, 400),
        face(0.5, 420, 0, { box: { x: 420, y: 40, width: 60, height: 80 }, embedding: partly(1, 0.2, 8) }),
      ],
      options,
    );
    expect(other).toHaveLength(2);
    // Across a cut, nearness links nothing.
    expect(linkTracks([turning(0, 400), turning(0.5, 210)], { ...options, cuts: [0.2] })).toHaveLength(2);
  });

  test('small, blurred or turned faces are not linked by likeness alone (their embeddings resemble anyone’s)', () => {
    const small = { box: { x: 0, y: 0, width: 20, height: 24 } };
    const input = [face(0, 0, 5, small), face(1.5, 0, 5, { box: { x: 500, y: 0, width: 20, height: 24 } })];
    expect(linkTracks(input, { ...options, cuts: [1] })).toHaveLength(2);
    const poor = [face(0, 0, 6, { quality: 0.01 }), face(1.5, 400, 6, { quality: 0.01 })];
    expect(linkTracks(poor, { ...options, cuts: [1] })).toHaveLength(2);
    // The same two good pictures do link.
    const good = [face(0, 0, 6, { quality: 0.4 }), face(1.5, 400, 6, { quality: 0.4 })];
    expect(linkTracks(good, { ...options, cuts: [1] })).toHaveLength(1);
  });
});

describe('voteIdentities', () => {
  test('the person most faces were recognised as, with the share of agreeing faces', () => {
    const track = {
      faces: [
        face(0, 0, 0, { personId: 'obama', similarity: 0.5 }),
        face(0.5, 0, 0, { personId: 'obama', similarity: 0.6 }),
        face(1, 0, 0, { personId: null, similarity: 0.1 }),
        face(1.5, 0, 0, { personId: 'biden', similarity: 0.3 }),
      ],
    };
    expect(voteIdentities([track])).toEqual([{ personId: 'obama', votes: 2, share: 0.5, similarity: 0.6 }]);
  });

  test('a tie, or too small a share, stays unknown', () => {
    const tie = { faces: [face(0, 0, 0, { personId: 'a' }), face(0.5, 0, 0, { personId: 'b' })] };
    const few = {
      faces: [face(0, 0, 0, { personId: 'a' }), ...[1, 2, 3, 4].map((t) => face(t, 0, 0, { personId: null }))],
    };
    expect(voteIdentities([tie, few]).map((i) => i.personId)).toEqual([null, null]);
  });

  test('two tracks seen at the same time are never the same person: the one with more votes keeps them', () => {
    const strong = { faces: [0, 0.5, 1].map((at) => face(at, 0, 0, { personId: 'obama' })) };
    const weak = { faces: [face(1, 300, 1, { personId: 'obama' }), face(1.5, 300, 1, { personId: null })] };
    const later = { faces: [face(5, 0, 0, { personId: 'obama' })] };
    expect(voteIdentities([weak, strong, later]).map((i) => i.personId)).toEqual([null, 'obama', 'obama']);
  });
});

/** A unit embedding `alike` similar to axis `person` (and `1 − alike²` along axis `rest`). */
function partly(person: number, alike: number, rest = 9): Float32Array {
  const v = new Float32Array(16);
  v[person] = alike;
  v[rest] = Math.sqrt(1 - alike * alike);
  return v;
}

describe('nameTracksByLikeness', () => {
  // The shipped settings: the cluster threshold, the identification margin, the recognition quality gate.
  const rule = { threshold: 0.49, margin: 0.05, minFaceSize: 32, minScore: 0.8 };
  const named = (track: { faces: TrackableFace[] }, personId: string) =>
    voteIdentities([{ faces: track.faces.map((f) => ({ ...f, personId })) }])[0] as ReturnType<
      typeof voteIdentities
    >[number];
  const unknown = { personId: null, votes: 0, share: 0, similarity: 0 };

  test('an unknown track whose faces look like a named track of the video takes its person, saying which track', () => {
    // Prepare: Miranda frontal (named by his faces), then small and turned in another shot (alike 0.55 and 0.45).
    const frontal = { faces: [0, 0.5, 1].map((at) => face(at, 0, 0)) };
    const wide = {
      faces: [face(5, 0, 0, { embedding: partly(0, 0.55) }), face(5.5, 0, 0, { embedding: partly(0, 0.45) })],
    };
    const stranger = { faces: [face(5, 300, 0, { embedding: partly(0, 0.4) })] };

    // Act
    const identities = nameTracksByLikeness(
      [frontal, wide, stranger],
      [named(frontal, 'miranda'), unknown, unknown],
      rule,
    );

    // Assess: one face of two votes (share 0.5 ≥ 0.3); the stranger (0.40 < 0.49) stays unknown.
    expect(identities.map((i) => i.personId)).toEqual(['miranda', 'miranda', null]);
    expect(identities[1]).toMatchObject({ votes: 1, share: 0.5, likeTrack: 0 });
    expect(identities[1]?.similarity).toBeCloseTo(0.547, 2);
  });

  test('never after a person seen at the same time, nor without a margin over another person, nor on poor faces', () => {
    const miranda = { faces: [face(0, 0, 0), face(0.5, 0, 0)] };
    const obama = { faces: [face(3, 0, 1), face(3.5, 0, 1)] };
    const identities = [named(miranda, 'miranda'), named(obama, 'obama')];
    // Seen beside Miranda in the same frames: not Miranda, however alike.
    const beside = { faces: [face(0.5, 300, 0, { embedding: partly(0, 0.9) })] };
    // Alike both (0.61 to Miranda's centroid, 0.60 to Obama's): no margin.
    const both = new Float32Array(16);
    both[0] = 0.55;
    both[1] = 0.6;
    both[9] = Math.sqrt(1 - 0.55 ** 2 - 0.6 ** 2);
    const between = { faces: [face(6, 0, 0, { embedding: both })] };
    // Alike, but too small or too unsure to be recognised.
    const small = {
      faces: [face(6, 300, 0, { embedding: partly(0, 0.9), box: { x: 0, y: 0, width: 20, height: 24 } })],
    };
    const unsure = { faces: [face(6, 500, 0, { embedding: partly(0, 0.9), score: 0.6 })] };
    const result = nameTracksByLikeness(
      [miranda, obama, beside, between, small, unsure],
      [...identities, unknown, unknown, unknown, unknown],
      rule,
    );
    expect(result.map((i) => i.personId)).toEqual(['miranda', 'obama', null, null, null, null]);
  });

  test('one hop: a track is not named after a track that was itself named by likeness', () => {
    const frontal = { faces: [face(0, 0, 0)] };
    const hop = { faces: [face(5, 0, 0, { embedding: partly(0, 0.6, 9) })] };
    // Alike the first hop (0.8 along axis 9) but not Miranda's own faces.
    const next = new Float32Array(16);
    next[9] = 0.8;
    next[10] = 0.6;
    const chained = { faces: [face(9, 0, 0, { embedding: next })] };
    const result = nameTracksByLikeness([frontal, hop, chained], [named(frontal, 'miranda'), unknown, unknown], rule);
    expect(result.map((i) => i.personId)).toEqual(['miranda', 'miranda', null]);
  });
});

describe('isGlimpse', () => {
  test('one frame of a face too small or unsure to recognise is a glimpse; a longer track or a clear face is not', () => {
    const gate = { minFaceSize: 32, minScore: 0.8 };
    const small = { box: { x: 0, y: 0, width: 24, height: 30 } };
    expect(isGlimpse({ faces: [face(0, 0, 0, small)] }, gate)).toBe(true);
    expect(isGlimpse({ faces: [face(0, 0, 0, { score: 0.66 })] }, gate)).toBe(true);
    expect(isGlimpse({ faces: [face(0, 0, 0)] }, gate)).toBe(false);
    expect(isGlimpse({ faces: [face(0, 0, 0, small), face(0.5, 0, 0, small)] }, gate)).toBe(false);
  });
});

describe('best face, emotions, summary', () => {
  test('the best face is the one with the highest quality', () => {
    const track = {
      faces: [face(0, 0, 0, { quality: 0.2 }), face(0.5, 0, 0, { quality: 0.9 }), face(1, 0, 0, { quality: 0.4 })],
    };
    expect(bestFaceOf(track).at).toBe(0.5);
  });

  test('emotion runs merge consecutive faces with one label', () => {
    const track = {
      faces: [
        face(0, 0, 0, { emotion: 'happy' }),
        face(0.5, 0, 0, { emotion: 'happy' }),
        face(1, 0, 0, { emotion: 'sad' }),
        face(1.5, 0, 0, { emotion: undefined }),
        face(2, 0, 0, { emotion: 'sad' }),
      ],
    };
    expect(emotionRuns(track)).toEqual([
      { from: 0, to: 0.5, label: 'happy', faces: 2 },
      { from: 1, to: 2, label: 'sad', faces: 2 },
    ]);
  });

  test('emotion windows count the faces of each emotion per window, empty windows included', () => {
    const all = [
      face(0.2, 0, 0, { emotion: 'happy' }),
      face(0.7, 0, 1, { emotion: 'sad' }),
      face(2.5, 0, 0, { emotion: 'happy' }),
    ];
    expect(emotionWindows(all, 3, 1)).toEqual({
      windowSeconds: 1,
      windows: [
        { at: 0, faces: 2, emotions: { happy: 1, sad: 1 } },
        { at: 1, faces: 0, emotions: {} },
        { at: 2, faces: 1, emotions: { happy: 1 } },
      ],
    });
    // A long video gets wider windows: at most 1800.
    expect(emotionWindows([], 7200, 1).windows).toHaveLength(1800);
  });

  test('people seen: spans merged across short gaps, seconds on screen', () => {
    const a = { faces: [face(0, 0, 0), face(1, 0, 0)] };
    const b = { faces: [face(2, 0, 0), face(3, 0, 0)] };
    const c = { faces: [face(10, 0, 0)] };
    const identity = { personId: 'obama', votes: 1, share: 1, similarity: 0.5 };
    expect(
      peopleSeen(
        [a, b, c].map((track) => ({ track, identity })),
        { gapSeconds: 2, rate: 2 },
      ),
    ).toEqual([
      {
        personId: 'obama',
        tracks: 3,
        seconds: 4,
        intervals: [
          { from: 0, to: 3 },
          { from: 10, to: 10 },
        ],
      },
    ]);
  });
});
