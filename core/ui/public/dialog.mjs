/* global document */
/**
 * The in-page confirmation of a change: one that removes something (delete a deployment, move or retire a
 * node, unbind a role) or applies a blueprint. A modal <dialog> that names what happens, an optional control
 * (the Move target), a "force" checkbox (removals only), Cancel and the action's button. Only text goes in
 * (dom.mjs): names stay text.
 *
 * Contract: resolves with {force} when confirmed, null when cancelled (Cancel, Escape, or `signal` aborting
 * because the page was left). One at a time: opening one closes the one open before.
 */
import { h, replace } from './dom.mjs';

let current = null;

/**
 * `what`: the lines naming what is removed, or a function returning them (called again by `refresh()`, for
 * a dialog whose control changes them). `control`: an element shown above them. `action`: the button's text.
 * `withForce`: show the force checkbox (a removal's). `danger`: the action's button in the error colour.
 * Returns {done, refresh}: `done` is the promise above.
 */
export function confirmRemoval({ title, what, control = null, action, signal, withForce = true, danger = true }) {
  current?.close();
  const force = h('input', { type: 'checkbox', id: 'confirm-force', name: 'force' });
  const text = h('div', { id: 'confirm-text' });
  const refresh = () =>
    replace(
      text,
      (typeof what === 'function' ? what() : what).map((line) => h('p', {}, line)),
    );
  const ok = h('button', { type: 'submit', id: 'confirm-ok', class: danger ? 'danger' : null, value: 'ok' }, action);
  const cancel = h('button', { type: 'button', id: 'confirm-cancel', class: 'secondary' }, 'Cancel');
  const dialog = h(
    'dialog',
    { id: 'confirm-dialog', class: 'confirm', 'aria-labelledby': 'confirm-title' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'confirm-title' }, title),
      control,
      text,
      withForce &&
        h(
          'label',
          { class: 'force' },
          force,
          ' force (skip remove actions): the node-roles are deleted without running their remove actions, so what they set up stays on the nodes',
        ),
      h('div', { class: 'buttons' }, cancel, ok),
    ),
  );
  refresh();
  cancel.addEventListener('click', () => dialog.close(''));
  const close = () => dialog.open && dialog.close('');
  signal?.addEventListener('abort', close);
  current = dialog;
  const done = new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      signal?.removeEventListener('abort', close);
      if (current === dialog) current = null;
      dialog.remove();
      resolve(dialog.returnValue === 'ok' ? { force: force.checked } : null);
    });
  });
  document.body.append(dialog);
  dialog.showModal();
  return { done, refresh };
}
