import { html, svg } from 'lit';
import { cropUrl, type Face, get, type ImageInfo, imageUrl, type Person } from '../api';
import { Page, percent, when } from '../base';
import { faceActions } from './faceActions';

/**
 * One image: the picture with each face's box and five landmarks drawn over it (placed in percent of the image's
 * upright size, so they stay on the face at any width), and per face its crop, emotions, age, gender and identity.
 */
class ImagePage extends Page {
  static override properties = {
    ...Page.properties,
    imageId: { attribute: false },
    image: { state: true },
    faces: { state: true },
    people: { state: true },
    selected: { state: true },
  };
  imageId = '';
  image: ImageInfo | undefined;
  faces: Face[] = [];
  people: Person[] = [];
  selected: string | undefined;

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('imageId')) void this.load();
  }

  private async load() {
    await this.attempt(async () => {
      const [answer, people] = await Promise.all([
        get<{ image: ImageInfo; faces: Face[] }>(`/images/${this.imageId}?limit=1000`),
        get<{ people: Person[] }>('/people'),
      ]);
      this.image = answer.image;
      this.faces = answer.faces;
      this.people = people.people;
    });
  }

  private async erase() {
    const image = this.image;
    if (!image) return;
    const faces = this.faces.length;
    await this.eraseUpload(image, [
      `the uploaded file ${image.image}`,
      `${faces} face record(s) with their embeddings, emotions and identities`,
      `${faces} face crop(s) and face thumbnail(s), and the image's thumbnail`,
      'the image record (only a mark that it was erased stays, so work in flight cannot bring it back)',
    ]);
  }

  override render() {
    const image = this.image;
    if (!image)
      return html`<h1>Image</h1>${this.error ? html`<p class="error" role="alert">${this.error}</p>` : html`<p>Loading…</p>`}`;
    const width = image.width ?? 1;
    const height = image.height ?? 1;
    return html`
      <h1 class="key">${image.image}</h1>
      <p class="meta">
        ${image.status} · ${image.faces ?? 0} face(s) · ${image.width ?? '?'}×${image.height ?? '?'} px ·
        processed ${when(image.processedAt)}
        <button type="button" class="danger" @click=${() => this.erase()}>Erase image…</button>
      </p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${
        image.error
          ? html`<p class="error failed-image" role="alert"><strong>${image.error.code}</strong>: ${image.error.message}</p>`
          : ''
      }
      ${
        image.status === 'failed'
          ? ''
          : html`<figure class="photo" style="aspect-ratio: ${width} / ${height}">
            <img src=${imageUrl(image.imageId)} alt=${`${image.image}, ${this.faces.length} face(s) marked`} />
            ${this.faces.map((face) => this.box(face, width, height))}
            <svg class="landmarks" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" aria-hidden="true">
              ${this.faces.flatMap((face) =>
                (face.landmarks ?? []).map(
                  ([x, y]) => svg`<circle class="landmark" data-face-id=${face.faceId} cx=${x} cy=${y}
                    r=${Math.max(1.5, face.box.width / 40)}></circle>`,
                ),
              )}
            </svg>
          </figure>`
      }
      <ol class="faces">
        ${this.faces.map((face) => this.facePanel(face))}
      </ol>
    `;
  }

  private box(face: Face, width: number, height: number) {
    const style = `left:${(face.box.x / width) * 100}%;top:${(face.box.y / height) * 100}%;width:${(face.box.width / width) * 100}%;height:${(face.box.height / height) * 100}%`;
    const who = face.identity?.name ?? (face.identity ? 'unknown' : 'not recognised yet');
    return html`<a
      class="face-box ${this.selected === face.faceId ? 'selected' : ''} ${face.identity?.personId ? 'known' : 'unknown'}"
      data-face-id=${face.faceId}
      href="#face-${face.faceId}"
      style=${style}
      title=${`Face ${face.index + 1}: ${who}`}
      @click=${(e: Event) => {
        e.preventDefault();
        this.selected = face.faceId;
        this.querySelector<HTMLElement>(`#face-${CSS.escape(face.faceId)}`)?.focus();
      }}
      ><span class="label">${face.index + 1}</span></a
    >`;
  }

  private facePanel(face: Face) {
    const identity = face.identity;
    const scores = Object.entries(face.emotion?.scores ?? {}).sort(([, a], [, b]) => b - a);
    return html`<li class="face ${this.selected === face.faceId ? 'selected' : ''}" id="face-${face.faceId}" tabindex="-1"
      @focus=${() => (this.selected = face.faceId)}>
      <img class="crop" src=${cropUrl(face)} alt=${`Face ${face.index + 1}`} loading="lazy" width="96" height="96" />
      <div>
        <h2>Face ${face.index + 1}
          ${
            identity?.personId
              ? html`<a class="identity" href="#/people/${identity.personId}">${identity.name}</a>
                <span class="similarity">similarity ${identity.similarity.toFixed(2)}</span>`
              : html`<span class="identity unknown">${identity ? 'unknown' : 'being recognised'}</span>
                ${identity ? html`<span class="similarity">best ${identity.similarity.toFixed(2)}</span>` : ''}`
          }
        </h2>
        <p class="meta">
          ${face.age === null ? '' : `age ≈ ${Math.round(face.age)}`}
          ${face.gender ? ` · ${face.gender.label} (${percent(face.gender.confidence)})` : ''}
          · detection ${percent(face.score)}
        </p>
        ${
          face.emotion
            ? html`<dl class="emotions" aria-label="Emotions">
              ${scores.map(
                ([label, value]) => html`<div><dt>${label}</dt><dd><meter min="0" max="1" .value=${value}></meter>
                  ${percent(value)}</dd></div>`,
              )}
            </dl>`
            : html`<p class="meta">emotion not read yet</p>`
        }
        ${faceActions(
          face,
          this.people,
          () => void this.load(),
          (error) => {
            this.error = error instanceof Error ? error.message : String(error);
          },
        )}
      </div>
    </li>`;
  }
}

customElements.define('fp-image-page', ImagePage);
