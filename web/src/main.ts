import { html, LitElement } from 'lit';
import { notify } from './base';
import './pages/images';
import './pages/image';
import './pages/people';
import './pages/person';
import './pages/unknown';
import './pages/search';
import './pages/emotions';
import './pages/video';

/** A place in the gallery: the page and its parameters, from the URL's hash (`#/people/obama`, `#/images?emotion=happy`). */
export interface Place {
  page: string;
  id: string | undefined;
  params: URLSearchParams;
}

export function placeOf(hash: string): Place {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const [page = 'images', id] = path.split('/').map((part) => decodeURIComponent(part));
  return { page: page || 'images', id: id || undefined, params: new URLSearchParams(search) };
}

const PAGES = [
  ['images', 'Images'],
  ['people', 'People'],
  ['unknown', 'Unknown faces'],
  ['search', 'Search'],
  ['emotions', 'Emotions'],
] as const;

/**
 * The gallery's shell: the navigation, the page of the current hash, and the live event stream (`GET /events`, the
 * sightings as Server-Sent Events) re-dispatched on `window` as `facepipe-sighting` for the pages that show new results,
 * and a video's end as `facepipe-video`.
 */
class FacepipeApp extends LitElement {
  static override properties = { place: { state: true }, live: { state: true } };
  place: Place = placeOf(location.hash);
  live = false;
  private events: EventSource | undefined;

  protected override createRenderRoot() {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', () => {
      this.place = placeOf(location.hash);
      document.getElementById('main')?.focus();
    });
    this.events = new EventSource('/events');
    this.events.addEventListener('open', () => {
      this.live = true;
    });
    this.events.addEventListener('error', () => {
      this.live = false;
    });
    this.events.addEventListener('sighting', (event) => {
      const sighting = JSON.parse((event as MessageEvent<string>).data) as { image?: string; faces?: unknown[] };
      notify(`New result: ${sighting.image ?? 'an image'} (${sighting.faces?.length ?? 0} face(s))`);
      window.dispatchEvent(new CustomEvent('facepipe-sighting', { detail: sighting }));
    });
    // A video is done (or failed) once its tracks are assembled, after its frames' sightings.
    this.events.addEventListener('video', (event) => {
      const video = JSON.parse((event as MessageEvent<string>).data) as {
        videoId: string;
        key: string;
        status: string;
      };
      notify(`Video ${video.status}: ${video.key}`);
      window.dispatchEvent(new CustomEvent('facepipe-video', { detail: video }));
    });
  }

  override disconnectedCallback(): void {
    this.events?.close();
    super.disconnectedCallback();
  }

  private page() {
    const { page, id, params } = this.place;
    switch (page) {
      case 'image':
        return html`<fp-image-page .imageId=${id ?? ''}></fp-image-page>`;
      case 'video':
        return html`<fp-video-page .videoId=${id ?? ''}></fp-video-page>`;
      case 'people':
        return id ? html`<fp-person-page .personId=${id}></fp-person-page>` : html`<fp-people-page></fp-people-page>`;
      case 'unknown':
        return html`<fp-unknown-page></fp-unknown-page>`;
      case 'search':
        return html`<fp-search-page></fp-search-page>`;
      case 'emotions':
        return html`<fp-emotions-page .bucket=${params.get('bucket') === 'hour' ? 'hour' : 'day'}></fp-emotions-page>`;
      default:
        return html`<fp-images-page .filters=${params}></fp-images-page>`;
    }
  }

  override render() {
    const current = this.place.page === 'image' || this.place.page === 'video' ? 'images' : this.place.page;
    return html`
      <a class="skip" href="#main" @click=${(e: Event) => {
        e.preventDefault();
        document.getElementById('main')?.focus();
      }}>Skip to content</a>
      <header>
        <span class="brand">facepipe</span>
        <nav aria-label="Pages">
          ${PAGES.map(
            ([page, label]) =>
              html`<a href="#/${page}" aria-current=${current === page ? 'page' : 'false'}>${label}</a>`,
          )}
        </nav>
        <span class="live ${this.live ? 'on' : ''}" title="Live updates (Server-Sent Events)"
          >${this.live ? 'live' : 'offline'}</span
        >
      </header>
      <main id="main" tabindex="-1">${this.page()}</main>
      <div id="notice" role="status" aria-live="polite"></div>
    `;
  }
}

customElements.define('facepipe-app', FacepipeApp);
