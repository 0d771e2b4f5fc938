import { html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { type GalleryImage, get, type Person, query, thumbnailUrl, uploadPhoto } from '../api';
import { notify, Page, seconds, when } from '../base';

const EMOTIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'];
const FILTERS = ['person', 'emotion', 'unknown', 'failed', 'device', 'since', 'until', 'offset', 'limit'];
/** One page of the grid: the issue's "page of 500 thumbnails". */
export const PAGE_SIZE = 500;

/**
 * The images grid: newest first, filters in the hash (`#/images?person=obama&since=2026-01-01`) so a filtered view
 * can be bookmarked and the back button works; thumbnails lazy-loaded by the browser with their size reserved.
 */
class ImagesPage extends Page {
  static override properties = {
    ...Page.properties,
    filters: { attribute: false },
    images: { state: true },
    total: { state: true },
    people: { state: true },
    loading: { state: true },
  };
  filters = new URLSearchParams();
  images: GalleryImage[] = [];
  total = 0;
  people: Person[] = [];
  loading = false;
  private readonly onSighting = () => void this.load();

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('facepipe-sighting', this.onSighting);
    window.addEventListener('facepipe-video', this.onSighting);
    void this.attempt(async () => {
      this.people = (await get<{ people: Person[] }>('/people')).people;
    });
  }

  override disconnectedCallback(): void {
    window.removeEventListener('facepipe-sighting', this.onSighting);
    window.removeEventListener('facepipe-video', this.onSighting);
    super.disconnectedCallback();
  }

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('filters')) void this.load();
  }

  /** Answers can overtake each other (uploads and live events both reload): only the latest request's is shown. */
  private loads = 0;

  private async load() {
    const load = ++this.loads;
    this.loading = true;
    const params: Record<string, string> = { limit: String(PAGE_SIZE) };
    for (const name of FILTERS) {
      const value = this.filters.get(name);
      if (value) params[name] = name === 'since' || name === 'until' ? dayBound(value, name) : value;
    }
    await this.attempt(async () => {
      const page = await get<{ images: GalleryImage[]; total: number }>(`/ui/api/images${query(params)}`);
      if (load !== this.loads) return;
      this.images = page.images;
      this.total = page.total;
    });
    this.loading = false;
  }

  private filter(event: Event) {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const next = new URLSearchParams();
    const show = String(form.get('show') ?? '');
    if (show === 'unknown' || show === 'failed') next.set(show, 'true');
    for (const name of ['person', 'emotion', 'device', 'since', 'until']) {
      const value = String(form.get(name) ?? '').trim();
      if (value) next.set(name, value);
    }
    location.hash = `#/images${next.toString() ? `?${next}` : ''}`;
  }

  private async upload(event: Event) {
    const input = event.target as HTMLInputElement;
    const files = [...(input.files ?? [])];
    for (const file of files) {
      const sent = await this.attempt(() => uploadPhoto(file));
      if (sent) notify(`Uploaded ${file.name}; its faces appear when it is analysed.`);
    }
    input.value = '';
    await this.load();
  }

  private pageLink(offset: number) {
    const next = new URLSearchParams(this.filters);
    next.set('offset', String(Math.max(0, offset)));
    return `#/images?${next}`;
  }

  override render() {
    const f = this.filters;
    const offset = Number(f.get('offset') ?? 0);
    const show = f.get('unknown') ? 'unknown' : f.get('failed') ? 'failed' : '';
    return html`
      <h1>Images</h1>
      <form class="toolbar" @submit=${this.filter} aria-label="Filter images">
        <label>Person
          <select name="person">
            <option value="">anyone</option>
            ${this.people.map(
              (p) => html`<option value=${p.personId} ?selected=${f.get('person') === p.personId}>${p.name}</option>`,
            )}
          </select>
        </label>
        <label>Emotion
          <select name="emotion">
            <option value="">any</option>
            ${EMOTIONS.map((e) => html`<option value=${e} ?selected=${f.get('emotion') === e}>${e}</option>`)}
          </select>
        </label>
        <label>Show
          <select name="show">
            <option value="" ?selected=${show === ''}>all</option>
            <option value="unknown" ?selected=${show === 'unknown'}>with unknown faces</option>
            <option value="failed" ?selected=${show === 'failed'}>failed</option>
          </select>
        </label>
        <label>Device <input name="device" size="10" .value=${f.get('device') ?? ''} /></label>
        <label>From <input type="date" name="since" .value=${f.get('since') ?? ''} /></label>
        <label>To <input type="date" name="until" .value=${f.get('until') ?? ''} /></label>
        <button type="submit">Filter</button>
      </form>
      <label class="upload">Upload photos or videos
        <input type="file" name="upload" accept="image/*,video/*" multiple @change=${this.upload} />
      </label>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <p class="count" aria-live="polite">
        ${
          this.loading && this.images.length === 0
            ? 'Loading…'
            : `${this.total} image(s)${this.total > PAGE_SIZE ? `, ${offset + 1}–${offset + this.images.length} shown` : ''}`
        }
      </p>
      <ul class="grid" data-testid="image-grid">
        ${repeat(
          this.images,
          (image) => image.imageId,
          (image) => tile(image),
        )}
      </ul>
      ${
        this.total > PAGE_SIZE
          ? html`<nav class="pager" aria-label="Pages of images">
            ${offset > 0 ? html`<a href=${this.pageLink(offset - PAGE_SIZE)}>Newer</a>` : ''}
            ${offset + PAGE_SIZE < this.total ? html`<a href=${this.pageLink(offset + PAGE_SIZE)}>Older</a>` : ''}
          </nav>`
          : ''
      }
    `;
  }
}

/** A day from the date inputs as the API's bounds: the start of `since`'s day, the end of `until`'s. */
function dayBound(value: string, name: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  return name === 'until' ? `${value}T23:59:59.999Z` : `${value}T00:00:00.000Z`;
}

const fileName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

function tile(image: GalleryImage) {
  const video = image.video;
  const label = `${fileName(image.key)}, ${video ? 'video, ' : ''}${image.status}${
    video?.tracks != null ? `, ${video.tracks} track(s)` : image.faces === null ? '' : `, ${image.faces} face(s)`
  }`;
  const placeholder = video
    ? `video${video.durationSeconds ? ` ${seconds(video.durationSeconds)}` : ''}`
    : image.status === 'failed'
      ? (image.error?.code ?? 'failed')
      : image.status;
  return html`<li class="tile ${image.status} ${video ? 'video' : ''}">
    <a href="#/${video ? 'video' : 'image'}/${image.imageId}" aria-label=${label} title=${image.key}>
      ${
        image.thumbnail
          ? html`<img src=${thumbnailUrl(image.thumbnail)} alt="" loading="lazy" decoding="async" width="160" height="160" />`
          : html`<span class="placeholder">${placeholder}</span>`
      }
      <span class="caption">
        <span class="name">${video ? '▶ ' : ''}${fileName(image.key)}</span>
        <span class="meta">${
          video
            ? `${video.durationSeconds ? seconds(video.durationSeconds) : 'video'} · ${video.tracks ?? '–'} track(s)`
            : `${image.faces ?? '–'} face(s)`
        } · ${when(image.at)}</span>
      </span>
    </a>
  </li>`;
}

customElements.define('fp-images-page', ImagesPage);
