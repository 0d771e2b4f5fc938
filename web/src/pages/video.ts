import { html, svg } from 'lit';
import { cropUrl, get, imageIdOfFace, type Track, type VideoAnswer, type VideoSummary } from '../api';
import { Page, percent, seconds, when } from '../base';
import { emotionChart } from '../emotionChart';

/**
 * One video: its face tracks (each with its best face, when it is on screen, who it is by the vote of its faces and
 * how many agree), who was seen when, and how the visible faces felt over the video's timeline (per window of the
 * summary). Live: it reloads when one of its frames is announced, or the server says the video is done or failed.
 */
class VideoPage extends Page {
  static override properties = { ...Page.properties, videoId: { attribute: false }, answer: { state: true } };
  videoId = '';
  answer: VideoAnswer | undefined;
  private readonly onSighting = (event: Event) => {
    const image = (event as CustomEvent<{ image?: string }>).detail.image ?? '';
    if (this.answer?.video.status === 'processing' && image.startsWith(`${this.videoId}/`)) void this.load();
  };
  private readonly onVideo = (event: Event) => {
    if ((event as CustomEvent<{ videoId?: string }>).detail.videoId === this.videoId) void this.load();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('facepipe-sighting', this.onSighting);
    window.addEventListener('facepipe-video', this.onVideo);
  }

  override disconnectedCallback(): void {
    window.removeEventListener('facepipe-sighting', this.onSighting);
    window.removeEventListener('facepipe-video', this.onVideo);
    super.disconnectedCallback();
  }

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('videoId')) {
      this.answer = undefined;
      void this.load();
    }
  }

  /** Live events can overlap: only the latest request's answer is shown. */
  private loads = 0;

  private async load() {
    const load = ++this.loads;
    await this.attempt(async () => {
      const answer = await get<VideoAnswer>(`/videos/${this.videoId}`);
      if (load === this.loads) this.answer = answer;
    });
  }

  private async erase() {
    const answer = this.answer;
    if (!answer) return;
    const { video, tracks } = answer;
    await this.eraseUpload(video, [
      `the uploaded video ${video.image}`,
      `its ${video.video?.framesSampled ?? 'sampled'} frame(s), with their ${video.faces ?? 0} face record(s), embeddings, crops and thumbnails`,
      `its ${tracks.length} track(s) and its summary (who was seen when, the emotions over time)`,
      'the video record (only a mark that it was erased stays, so work in flight cannot bring it back)',
    ]);
  }

  override render() {
    const answer = this.answer;
    if (!answer)
      return html`<h1>Video</h1>${this.error ? html`<p class="error" role="alert">${this.error}</p>` : html`<p>Loading…</p>`}`;
    const { video, tracks, summary } = answer;
    const details = video.video;
    const duration = details?.durationSeconds ?? Math.max(0, ...tracks.map((t) => t.lastSeen));
    return html`
      <h1 class="key">${video.image}</h1>
      <p class="meta video-meta">
        video · ${video.status} · ${seconds(duration)}
        ${details?.fps ? ` · ${details.fps.toFixed(2)} fps` : ''}
        · sampled ${details?.sampleRate ?? '?'} frame(s)/s${details?.framesSampled ? `, ${details.framesSampled} frames` : ''}
        ${details?.shotCuts.length ? ` · ${details.shotCuts.length} shot cut(s)` : ''}
        ${video.processedAt ? ` · processed ${when(video.processedAt)}` : ''}
        <button type="button" class="danger" @click=${() => this.erase()}>Erase video…</button>
      </p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${video.error ? html`<p class="error failed-image" role="alert"><strong>${video.error.code}</strong>: ${video.error.message}</p>` : ''}
      ${video.warning ? html`<p class="warning"><strong>${video.warning.code}</strong>: ${video.warning.message}</p>` : ''}
      ${video.status === 'processing' ? html`<p class="meta">Being analysed: its tracks appear when every sampled frame is.</p>` : ''}
      ${video.status === 'done' ? this.done(tracks, summary, duration) : ''}
    `;
  }

  private done(tracks: Track[], summary: VideoSummary | null, duration: number) {
    return html`
      <h2>Faces followed through the video (${tracks.length} track(s))</h2>
      ${tracks.length === 0 ? html`<p>No faces in the sampled frames.</p>` : ''}
      <ol class="tracks">${tracks.map((track) => trackItem(track))}</ol>
      ${summary ? seen(summary, duration) : ''}
      ${summary ? emotionsOverTime(summary) : ''}
    `;
  }
}

function trackItem(track: Track) {
  const { identity, bestFace } = track;
  const frameId = imageIdOfFace(bestFace.faceId);
  return html`<li class="track" data-track-id=${track.trackId}>
    <a href="#/image/${frameId}" title="The frame of its best face">
      <img class="crop" src=${cropUrl(bestFace)} alt=${`Track ${track.index + 1}: best face, at ${seconds(bestFace.at)}`}
        loading="lazy" width="96" height="96" />
    </a>
    <div>
      <h3>Track ${track.index + 1}
        ${
          identity.personId
            ? html`<a class="identity" href="#/people/${identity.personId}">${identity.name}</a>`
            : html`<span class="identity unknown">unknown</span>`
        }
      </h3>
      <p class="meta">
        <span class="span">${seconds(track.firstSeen)} – ${seconds(track.lastSeen)}</span> ·
        <span class="face-count">${track.faces} face(s)</span>
      </p>
      <p class="meta agreement">
        ${
          identity.personId
            ? `${identity.votes} of ${track.faces} faces agree (${percent(identity.share)}), similarity ${identity.similarity.toFixed(2)}`
            : `no one enrolled for most of its faces (best similarity ${identity.similarity.toFixed(2)})`
        }
      </p>
      <p class="meta">
        ${track.emotions.map((run) => `${run.label} ${seconds(run.from)}–${seconds(run.to)}`).join(', ')}
      </p>
    </div>
  </li>`;
}

/** Who was seen when: each person's intervals on a bar as long as the video, and in words. */
function seen(summary: VideoSummary, duration: number) {
  const length = Math.max(duration, 0.1);
  return html`
    <h2>People seen</h2>
    ${
      summary.people.length === 0
        ? html`<p class="meta">No one enrolled was seen${summary.unknownTracks ? ` (${summary.unknownTracks} unknown track(s))` : ''}.</p>`
        : html`<ul class="seen">
          ${summary.people.map(
            (person) => html`<li data-person-id=${person.personId}>
              <a href="#/people/${person.personId}">${person.name}</a>
              <span class="meta">${seconds(person.seconds)} on screen in ${person.tracks} track(s):
                ${person.intervals.map((i) => `${seconds(i.from)}–${seconds(i.to)}`).join(', ')}</span>
              <svg class="timeline" viewBox="0 0 ${length} 1" preserveAspectRatio="none" aria-hidden="true">
                <rect class="whole" x="0" y="0" width=${length} height="1"></rect>
                ${person.intervals.map(
                  (i) =>
                    svg`<rect class="on" x=${i.from} y="0" width=${Math.max(i.to - i.from, length / 200)} height="1"></rect>`,
                )}
              </svg>
            </li>`,
          )}
        </ul>
        ${summary.unknownTracks ? html`<p class="meta">and ${summary.unknownTracks} unknown track(s)</p>` : ''}`
    }
  `;
}

function emotionsOverTime(summary: VideoSummary) {
  const window = summary.windowSeconds;
  return html`
    <h2>Emotions over the video</h2>
    ${
      summary.emotions.length === 0
        ? html`<p class="meta">No faces with an emotion.</p>`
        : emotionChart(
            summary.emotions.map((w) => ({ label: seconds(w.at), counts: w.emotions, faces: w.faces })),
            { caption: `Visible faces per emotion per ${window} s of the video`, unit: 'from' },
          )
    }
  `;
}

customElements.define('fp-video-page', VideoPage);
