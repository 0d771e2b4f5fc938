import { html } from 'lit';
import { call, type Face, type Person } from '../api';
import { dismissNotice, notify } from '../base';

/**
 * "Not this person" and "this is …" for one face, the API's corrections (`POST /faces/{id}/reject`, `/move`), with
 * undo where the API allows it: a rejection or a move from a person is undone by moving the face back.
 */
export function faceActions(
  face: Face,
  people: Person[],
  changed: () => void,
  fail: (error: unknown) => void,
  where: 'image' | 'cluster' = 'image',
) {
  const personId = face.identity?.personId ?? null;
  const act = async (work: () => Promise<unknown>, message: string, undo?: () => Promise<unknown>) => {
    try {
      await work();
      changed();
      notifyWithUndo(
        message,
        undo
          ? async () => {
              try {
                await undo();
                changed();
              } catch (error) {
                fail(error);
              }
            }
          : undefined,
      );
    } catch (error) {
      fail(error);
    }
  };
  const reject = () =>
    act(
      () => call('POST', `/faces/${face.faceId}/reject`, personId ? { person: personId } : {}),
      `Face ${face.faceId} is not ${face.identity?.name ?? personId ?? 'this cluster'}.`,
      personId ? () => call('POST', `/faces/${face.faceId}/move`, { person: personId }) : undefined,
    );
  const move = (event: Event) => {
    event.preventDefault();
    const target = String(new FormData(event.target as HTMLFormElement).get('person') ?? '');
    if (!target) return;
    void act(
      () => call('POST', `/faces/${face.faceId}/move`, { person: target }),
      `Face ${face.faceId} is now ${people.find((p) => p.personId === target)?.name ?? target}.`,
      personId ? () => call('POST', `/faces/${face.faceId}/move`, { person: personId }) : undefined,
    );
  };
  return html`<div class="face-actions">
    ${
      personId || where === 'cluster'
        ? html`<button type="button" class="reject" @click=${reject}>
          ${personId ? `Not ${face.identity?.name ?? personId}` : 'Not in this group'}
        </button>`
        : ''
    }
    <form @submit=${move} class="move">
      <label>Move to
        <select name="person">
          <option value="">…</option>
          ${people.filter((p) => p.personId !== personId).map((p) => html`<option value=${p.personId}>${p.name}</option>`)}
        </select>
      </label>
      <button type="submit">Move</button>
    </form>
  </div>`;
}

function notifyWithUndo(message: string, undo: (() => Promise<void>) | undefined) {
  notify(message, { keep: undo !== undefined });
  const region = document.getElementById('notice');
  if (!region || !undo) return;
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Undo';
  button.className = 'undo';
  button.addEventListener('click', () => {
    button.remove();
    dismissNotice();
    void undo();
  });
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = '×';
  close.className = 'dismiss';
  close.setAttribute('aria-label', 'Dismiss');
  close.addEventListener('click', () => dismissNotice());
  region.append(' ', button, ' ', close);
}
