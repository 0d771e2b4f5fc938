import { LitElement } from 'lit';
import { ApiFailure } from './api';

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
}

export const when = (at: string | null | undefined) => (at ? new Date(at).toLocaleString() : '');

export const percent = (value: number) => `${Math.round(value * 100)}%`;

/** Shows a short notice at the bottom of the window (polite live region: screen readers announce it). */
export function notify(message: string): void {
  const region = document.getElementById('notice');
  if (!region) return;
  region.textContent = message;
  region.classList.add('shown');
  window.setTimeout(() => region.classList.remove('shown'), 6000);
}
