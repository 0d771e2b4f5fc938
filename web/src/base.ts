import { LitElement } from 'lit';
import { ApiFailure, call, type Erasure } from './api';
import { confirmErasure } from './confirm';

/**
 * The pages render into the light DOM: one stylesheet (app.css) styles them all, and tests and assistive technology
 * see one document.
 */
export class Page extends LitElement {
  static override properties = { error: { state: true } };
  error = '';

  protected override createRenderRoot() {
    return this;
  }

  /** Runs an action and shows its refusal where the page shows errors (a 401 sends to the login page). */
  protected async attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    this.error = '';
    try {
      return await action();
    } catch (error) {
      if (error instanceof ApiFailure && error.status === 401) {
        location.assign('/ui/login');
        return undefined;
      }
      this.error = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  }

  /**
   * Erases an upload (an image or a video) once the user confirms the list of what goes, says what was removed and
   * goes back to the images.
   */
  protected async eraseUpload(upload: { image: string; imageId: string }, whatGoes: string[]): Promise<void> {
    if (!(await confirmErasure(`Erase ${upload.image}?`, whatGoes))) return;
    const erased = await this.attempt(() => call<Erasure>('DELETE', `/images/${upload.imageId}`));
    if (!erased) return;
    notify(`Erased ${upload.image}: ${erased.removed.records} record(s), ${erased.removed.objects} file(s).`);
    location.hash = '#/images';
  }
}

export const when = (at: string | null | undefined) => (at ? new Date(at).toLocaleString() : '');

export const percent = (value: number) => `${Math.round(value * 100)}%`;

/** Seconds from the start of a video, as the pages show them: `4.5 s`, or `1:04.5` past a minute. */
export const seconds = (at: number) =>
  at < 60 ? `${at.toFixed(1)} s` : `${Math.floor(at / 60)}:${(at % 60).toFixed(1).padStart(4, '0')}`;

let hideNotice: number | undefined;
/** A notice with an action is showing: passing notices (a new result) do not replace it. */
let keptNotice = false;

/**
 * Shows a notice at the bottom of the window (polite live region: screen readers announce it): for 6 s, or, with
 * `keep` (a notice with an action such as Undo), until the next kept notice or `dismissNotice` — an action a user
 * may need longer to reach must not vanish on a timer, nor under a passing notice.
 */
export function notify(message: string, options: { keep?: boolean } = {}): void {
  const region = document.getElementById('notice');
  if (!region || (keptNotice && !options.keep)) return;
  keptNotice = options.keep === true;
  window.clearTimeout(hideNotice);
  hideNotice = undefined;
  region.textContent = message;
  region.classList.add('shown');
  if (!options.keep) hideNotice = window.setTimeout(() => region.classList.remove('shown'), 6000);
}

export function dismissNotice(): void {
  keptNotice = false;
  window.clearTimeout(hideNotice);
  hideNotice = undefined;
  document.getElementById('notice')?.classList.remove('shown');
}
