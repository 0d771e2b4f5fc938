import type { LoadedModel } from '../../models/sessions';
import { ort } from '../../models/sessions';
import type { GenderResult } from '../types';
import { FACE_API_SIZE } from './emotion';

export interface AgeGender {
  age: number;
  gender: GenderResult;
}

/** face-api.js age/gender net: 112x112 RGB 0..255 face squares → age in years and male/female probabilities. */
export class AgeGenderEstimator {
  constructor(private readonly model: LoadedModel) {}

  async estimate(faceSquares: Float32Array, count: number): Promise<AgeGender[]> {
    if (count === 0) return [];
    const tensor = new ort.Tensor('float32', faceSquares, [count, 3, FACE_API_SIZE, FACE_API_SIZE]);
    const out = await this.model.session.run({ [this.model.inputName]: tensor });
    const age = out.age?.data as Float32Array;
    const gender = out.gender?.data as Float32Array;
    return Array.from({ length: count }, (_, i) => {
      const male = gender[i * 2] as number;
      const female = gender[i * 2 + 1] as number;
      return {
        age: age[i] as number,
        gender: male >= female ? { label: 'male', confidence: male } : { label: 'female', confidence: female },
      };
    });
  }
}
