import { FacepipeError } from '../errors';
import type { FaceInput, FaceVision } from '../vision/analyser';
import type { GenderResult } from '../vision/types';
import {
  type EnrolledPerson,
  embeddingSimilarities,
  type IdentificationRule,
  identificationRule,
  type SimilarityMatrix,
} from './recognition';
import type { FaceRecord, IndexedFace, PersonRecord, RekognitionMatch } from './records';

/**
 * Who reads emotion and who recognises faces: the local ONNX models (the default) or Amazon Rekognition. The stages,
 * enrolment and erasure talk to these interfaces only; `StageContext.backends` picks the implementations, and what it
 * leaves out runs on the ONNX models of `StageContext.analyser`.
 */
export type BackendName = 'onnx' | 'rekognition';

export type FaceEmotion = NonNullable<FaceRecord['emotion']>;

/** What an emotion backend read from one face crop; 'unread' when it found no face there (a retry cannot help). */
export type EmotionReading =
  | { status: 'read'; emotion: FaceEmotion; age?: number; gender?: GenderResult }
  | { status: 'unread'; reason: string };

export interface EmotionBackend {
  readonly name: BackendName;
  /** Emotion (and age/gender when available, always both or neither) of the face in a crop (`cropBytes` encoded). */
  read(crop: FaceInput, cropBytes: Buffer): Promise<EmotionReading>;
}

/** What a recognition backend stores on a face record to decide later, with its siblings, who the face is. */
export type FaceDescription =
  | { kind: 'embedding'; embedding: Float32Array }
  | { kind: 'matches'; matches: RekognitionMatch[] };

/** One enrolment photo's face, already checked to be the only face of its photo. */
export interface EnrolmentFace {
  photo: string;
  /** The face's crop; enrolment gives it as stored, so it is read as the recognise stage reads a stored crop. */
  crop: FaceInput;
  /** The crop encoded as the pipeline stores crops. */
  bytes: Buffer;
}

/** What joins a person's record for new enrolment faces. */
export interface EnrolmentAdditions {
  embeddings: Float32Array[];
  rekognitionFaces: IndexedFace[];
}

export interface RecognitionBackend {
  readonly name: BackendName;
  /**
   * When a face is its closest person (on the scale of `similarities`) among `people` enrolled people: threshold and
   * margin over the runner-up.
   */
  ruleFor(people: number): IdentificationRule;
  /** The similarity an unknown face is given when no person is close at all. */
  readonly noMatch: number;
  /** Describes the face in a crop, `cropBytes` encoded (an embedding, or a collection's matches). */
  describe(crop: FaceInput, cropBytes: Buffer): Promise<FaceDescription>;
  /** Whether a face record holds this backend's description. */
  described(face: FaceRecord): boolean;
  /** Face × person similarities of faces this backend described (`-Infinity`: no evidence for that pair). */
  similarities(faces: readonly FaceRecord[], people: readonly EnrolledPerson[]): SimilarityMatrix;
  /** Makes a person's new enrolment faces recognisable; what it returns is stored on the person's record. */
  enrol(personId: string, faces: readonly EnrolmentFace[]): Promise<EnrolmentAdditions>;
  /** Undoes `enrol` outside the table, when the person's record could not be written. */
  withdraw(additions: EnrolmentAdditions): Promise<void>;
  /**
   * Removes what this backend keeps of a person outside the table, before their record is deleted; returns what it
   * removed, for the erasure report.
   */
  forget(person: PersonRecord): Promise<string[]>;
}

/** The backends a stage context uses; a missing one is the ONNX backend on the context's analyser. */
export interface StageBackends {
  emotion?: EmotionBackend;
  recognition?: RecognitionBackend;
}

/**
 * Refuses to erase a person whose faces sit in a Rekognition collection when nothing here can delete them: erasure
 * must not leave biometric data behind silently.
 */
export function assertNoIndexedFaces(person: PersonRecord): void {
  const faces = person.rekognitionFaces ?? [];
  if (faces.length === 0) return;
  const collections = [...new Set(faces.map((f) => f.collectionId))].join(', ');
  throw new FacepipeError(
    'INVALID_OPTION',
    `Person "${person.personId}" has ${faces.length} faces indexed in Rekognition collection ${collections}: ` +
      'remove them with the Rekognition recognition backend on, so that those faces are deleted too.',
  );
}

/** The local emotion (and age/gender) models. */
export class OnnxEmotionBackend implements EmotionBackend {
  readonly name = 'onnx';

  constructor(private readonly analyser: FaceVision) {}

  async read(crop: FaceInput): Promise<EmotionReading> {
    const [appearance] = await this.analyser.readAppearance([crop]);
    if (!appearance) throw new Error('the emotion model returned no result');
    const { label, confidence, scores, rekognition } = appearance.emotion;
    return {
      status: 'read',
      emotion: { label, confidence, scores, rekognition },
      age: appearance.age,
      gender: appearance.gender,
    };
  }
}

/** The local embedder and the gallery of enrolled embeddings in the table (cosine similarity). */
export class OnnxRecognitionBackend implements RecognitionBackend {
  readonly name = 'onnx';
  readonly noMatch = -1;

  constructor(private readonly analyser: FaceVision) {}

  /**
   * The 1:N rule calibrated for the embedder (`config.recognition`, lowered for a small gallery), not the 1:1
   * `matchThreshold`.
   */
  ruleFor(people: number): IdentificationRule {
    return identificationRule(this.analyser.config.recognition, people);
  }

  async describe(crop: FaceInput): Promise<FaceDescription> {
    const [embedding] = await this.analyser.embedFaces([crop]);
    if (!embedding) throw new Error('the embedder returned no result');
    return { kind: 'embedding', embedding };
  }

  described(face: FaceRecord): boolean {
    return face.embedding !== undefined;
  }

  similarities(faces: readonly FaceRecord[], people: readonly EnrolledPerson[]): SimilarityMatrix {
    return embeddingSimilarities(
      faces.map((f) => f.embedding as Float32Array),
      people,
    );
  }

  async enrol(_personId: string, faces: readonly EnrolmentFace[]): Promise<EnrolmentAdditions> {
    const embeddings: Float32Array[] = [];
    for (const face of faces) {
      const [embedding] = await this.analyser.embedFaces([face.crop]);
      if (embedding) embeddings.push(embedding);
    }
    return { embeddings, rekognitionFaces: [] };
  }

  async withdraw(): Promise<void> {
    // The embeddings live only on the person's record, which was not written.
  }

  async forget(person: PersonRecord): Promise<string[]> {
    // The embeddings go with the person's record.
    assertNoIndexedFaces(person);
    return [];
  }
}

/** The emotion backend a context uses. */
export function emotionBackendOf(context: { analyser: FaceVision; backends?: StageBackends }): EmotionBackend {
  return context.backends?.emotion ?? new OnnxEmotionBackend(context.analyser);
}

/** The recognition backend a context uses. */
export function recognitionBackendOf(context: { analyser: FaceVision; backends?: StageBackends }): RecognitionBackend {
  return context.backends?.recognition ?? new OnnxRecognitionBackend(context.analyser);
}
