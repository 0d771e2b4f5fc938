import { html } from 'lit';
import { call, cropUrl, type Face, imageIdOfFace, photoOf } from '../api';
import { Page, when } from '../base';

interface SearchResult {
  query: { box: { x: number; y: number; width: number; height: number }; faces: number };
  hits: { similarity: number; face: Face }[];
}

/** "Have I seen this face?": drop a photo (or pick one), see the stored faces most alike its largest face. */
class SearchPage extends Page {
  static override properties = {
    ...Page.properties,
    result: { state: true },
    preview: { state: true },
    busy: { state: true },
    over: { state: true },
  };
  result: SearchResult | undefined;
  preview = '';
  busy = false;
  over = false;

  private async search(file: File | undefined) {
    if (!file) return;
    if (this.preview) URL.revokeObjectURL(this.preview);
    this.preview = URL.createObjectURL(file);
    this.busy = true;
    this.result = undefined;
    this.result = await this.attempt(async () =>
      call<SearchResult>('POST', '/search', { photo: await photoOf(file), limit: 24 }),
    );
    this.busy = false;
  }

  private drop(event: DragEvent) {
    event.preventDefault();
    this.over = false;
    void this.search(event.dataTransfer?.files[0]);
  }

  override render() {
    return html`
      <h1>Search by face</h1>
      <label class="dropzone ${this.over ? 'over' : ''}"
        @dragover=${(e: DragEvent) => {
          e.preventDefault();
          this.over = true;
        }}
        @dragleave=${() => (this.over = false)}
        @drop=${this.drop}>
        <span>Drop a photo here, or choose one</span>
        <input type="file" accept="image/*" name="photo"
          @change=${(e: Event) => this.search((e.target as HTMLInputElement).files?.[0])} />
      </label>
      ${this.preview ? html`<img class="preview" src=${this.preview} alt="The photo searched with" />` : ''}
      ${this.busy ? html`<p aria-live="polite">Searching…</p>` : ''}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${
        this.result
          ? html`<p class="meta" aria-live="polite">${this.result.hits.length} similar face(s)${
              this.result.query.faces > 1 ? ` (the largest of ${this.result.query.faces} faces searched)` : ''
            }</p>
          <ol class="hits">
            ${this.result.hits.map(
              (hit) => html`<li class="hit" data-face-id=${hit.face.faceId}>
                <a href="#/image/${imageIdOfFace(hit.face.faceId)}" title=${hit.face.image}>
                  <img src=${cropUrl(hit.face)} alt="" loading="lazy" width="96" height="96" />
                  <span class="similarity">${hit.similarity.toFixed(2)}</span>
                  <span class="meta">${hit.face.identity?.name ?? 'unknown'} · ${when(hit.face.detectedAt)}</span>
                </a>
              </li>`,
            )}
          </ol>`
          : ''
      }
    `;
  }
}

customElements.define('fp-search-page', SearchPage);
