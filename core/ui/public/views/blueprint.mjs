/* global Blob, Event, FileReader, navigator */
/**
 * Blueprints (docs/ui.md "Blueprints"):
 * - blueprintSection: the deployment page's Blueprint section, GET /deployments/{ref}/blueprint?format=yaml
 *   shown as text, with Download, Copy (where the browser offers a clipboard) and Plan changes.
 * - planView: #/blueprints/plan (a deployment that may not exist yet) and #/deployments/<name>/plan (starting
 *   from that deployment's export). A blueprint pasted or loaded from a file, an optional overlay; Plan (POST
 *   /blueprints/plan, writes nothing) shows the changes as a diff, the placement and what will run. Apply
 *   (only with changes) asks first (dialog.mjs), then POST /blueprints/apply with the planned blueprint and
 *   the plan's fingerprint, so a site that changed since is refused (ERR_PLAN_STALE: the page offers to
 *   plan again); once applied, the deployment's layer cake follows the converge.
 */
import { describe, getText, post, seg } from '../api.mjs';
import { confirmRemoval } from '../dialog.mjs';
import { badge, button, h, link, notify, notifyNext, para, replace, row, table } from '../dom.mjs';
import { go } from '../router.mjs';

/** The API takes blueprints up to 2 MiB. */
const MAX_BYTES = 2 * 1024 * 1024;
const DIFF = { '+': 'add', '~': 'change', '-': 'remove' };

const count = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const destructive = (plan) => plan.runs.filter((r) => r.destructive);

/** `4 binds, 0 unbinds, 3 joins, 0 leaves, 1 attrib, 3 destructive runs`. */
function summary(plan) {
  return [
    count(plan.bind.length, 'bind'),
    count(plan.unbind.length, 'unbind'),
    count(plan.joins.length, 'join'),
    count(plan.leaves.length, 'leave'),
    count(plan.attribs.length, 'attrib'),
    count(destructive(plan).length, 'destructive run'),
  ].join(', ');
}

/** The change lines of the plan's text (`+`, `~`, `-`), each coloured by its kind. */
function diffView(text) {
  const lines = text.filter((l) => DIFF[l[0]] && l[1] === ' ');
  return h(
    'pre',
    { class: 'diff', id: 'plan-diff' },
    lines.map((l) => h('span', { class: `diff-${DIFF[l[0]]}`, 'data-kind': DIFF[l[0]] }, l)),
  );
}

function runsView(plan) {
  const bad = destructive(plan);
  const rows = plan.runs.map(
    (r) =>
    row({ 'data-role': r.role, 'data-node': r.node }, r.role, r.node, r.why, r.destructive ? badge('error', 'destructive') : ''), // prettier-ignore
  );
  return [
    h('p', { id: 'plan-runs' }, `Will run: ${count(plan.runs.length, 'node-role')}`, bad.length ? [' · ', badge('error', `${bad.length} destructive`)] : ''), // prettier-ignore
    bad.length
      ? h('ul', { class: 'destructive', id: 'plan-destructive' }, bad.map((r) => h('li', {}, `! ${r.role} on ${r.node} is destructive (${r.why})`))) // prettier-ignore
      : '',
    plan.runs.length ? h('details', {}, h('summary', {}, 'every run'), table(['role', 'node', 'why', ''], rows)) : '',
  ];
}

function planResult({ plan, text }) {
  const placement = plan.placements.map(
    (p) =>
    row({ 'data-node': p.node, 'data-group': p.group }, p.node, p.group, p.roles.join(', ') || '(no roles)', p.joins ? `joins from ${plan.parent}` : ''), // prettier-ignore
  );
  return [
    plan.changes === 0
      ? h('p', { class: 'no-changes', id: 'plan-none' }, `No changes: deployment ${plan.deployment} matches blueprint ${plan.blueprint}.`) // prettier-ignore
      : [
          h('p', { id: 'plan-summary' }, `${plan.createDeployment ? `Creates deployment ${plan.deployment} under ${plan.parent}. ` : ''}${count(plan.changes, 'change')}: ${summary(plan)}.`), // prettier-ignore
          diffView(text),
        ],
    h('h3', {}, 'Placement'),
    placement.length
      ? table(['node', 'group', 'roles', ''], placement, { id: 'plan-placement' })
      : para('No node is placed.'),
    h('h3', {}, 'Runs'),
    runsView(plan),
  ];
}

/** An error of plan or apply: code and message, each issue of `details.issues`, and Plan again (if given). */
function errorView(err, again) {
  const issues = err.details?.issues ?? [];
  return h(
    'div',
    { class: 'plan-error', id: 'plan-error', 'data-code': err.code ?? '' },
    h('p', { class: 'error' }, describe(err)),
    issues.length
      ? h(
          'ul',
          {},
          issues.map((i) => h('li', {}, `${i.field}: ${i.message}`)),
        )
      : '',
    again ? h('p', {}, button('Plan again', again, { id: 'plan-again' })) : '',
  );
}

/** The dialog's lines: what apply changes, then what runs. */
function applyLines(plan) {
  const bad = destructive(plan);
  return [
    `Apply blueprint ${plan.blueprint} to deployment ${plan.deployment}${plan.createDeployment ? ` (created under ${plan.parent})` : ''}: ${summary(plan)}.`, // prettier-ignore
    plan.commit ? `Then ${plan.deployment} is committed and ${count(plan.runs.length, 'node-role')} ${plan.runs.length === 1 ? 'runs' : 'run'}.` : '', // prettier-ignore
    bad.length ? `Destructive: ${bad.map((r) => `${r.role} on ${r.node}`).join(', ')}.` : '',
    'All in one transaction; refused if the site changed since this plan.',
  ].filter(Boolean);
}

/** A file input that reads the chosen file as text into `into`. */
function fileInput(id, into) {
  const input = h('input', { type: 'file', id, accept: '.yaml,.yml,.json,application/yaml,text/yaml' });
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (!file) return;
    if (file.size > MAX_BYTES) return notify(`${file.name} is larger than 2 MiB, the most the API takes.`);
    const reader = new FileReader();
    reader.addEventListener('load', () => {
      into.value = String(reader.result);
      into.dispatchEvent(new Event('input'));
    });
    reader.addEventListener('error', () => notify(`Could not read ${file.name}: ${reader.error?.message}`));
    reader.readAsText(file);
  });
  // Typed over, the text is no longer the file's: forget its name.
  into.addEventListener('input', (ev) => ev.isTrusted && (input.value = ''));
  return input;
}

const textarea = (id, rows, attrs = {}) => h('textarea', { id, name: id, rows, spellcheck: 'false', ...attrs });

/** #/blueprints/plan, or #/deployments/<name>/plan starting from the deployment's export. */
export async function planView(main, [name], signal) {
  const text = textarea('blueprint-text', 18, { required: true, placeholder: 'apiVersion: anneal/v1\nkind: Blueprint\n…' }); // prettier-ignore
  const overlay = textarea('overlay-text', 5, { placeholder: 'optional: an overlay (YAML) merged over the blueprint' }); // prettier-ignore
  const planButton = h('button', { type: 'submit', id: 'plan' }, 'Plan');
  const applyButton = button('Apply', () => apply(), { id: 'apply', disabled: true });
  const errors = h('div');
  const result = h('div', { id: 'plan-result' });
  /** The answer of the last plan while it can be applied: the form is unchanged since. */
  let planned = null;

  const run = async () => {
    planned = null;
    applyButton.disabled = true;
    planButton.disabled = true;
    replace(errors);
    replace(result, para('Planning…'));
    try {
      const body = { blueprint: text.value, ...(overlay.value.trim() ? { overlay: overlay.value } : {}) };
      const answer = await post('/blueprints/plan', body, { signal });
      if (signal.aborted) return;
      planned = answer;
      replace(result, planResult(answer));
      applyButton.disabled = answer.plan.changes === 0;
    } catch (err) {
      if (signal.aborted) return;
      replace(result);
      replace(errors, errorView(err));
    } finally {
      planButton.disabled = false;
    }
  };

  const apply = async () => {
    if (!planned) return;
    const { plan, blueprint, fingerprint } = planned;
    const dialog = confirmRemoval({
      title: `Apply blueprint ${plan.blueprint}`,
      what: applyLines(plan),
      action: 'Apply',
      signal,
      withForce: false,
      danger: destructive(plan).length > 0 || plan.unbind.length > 0 || plan.leaves.length > 0,
    });
    if (!(await dialog.done)) return;
    applyButton.disabled = true;
    try {
      const answer = await post('/blueprints/apply', { blueprint, fingerprint }, { signal });
      if (!answer.applied) {
        notify(`Nothing to apply: deployment ${plan.deployment} already matches blueprint ${plan.blueprint}.`, 'info'); // prettier-ignore
        return run();
      }
      notifyNext(`Applied blueprint ${plan.blueprint} to ${plan.deployment}: ${summary(answer.plan)}.`);
      go(`#/deployments/${seg(plan.deployment)}`);
    } catch (err) {
      if (signal.aborted) return;
      planned = null;
      replace(errors, errorView(err, run));
    }
  };

  const edited = () => {
    if (!planned) return;
    planned = null;
    applyButton.disabled = true;
    replace(errors, para('The blueprint or overlay changed since this plan: plan again to apply it.'));
  };
  text.addEventListener('input', edited);
  overlay.addEventListener('input', edited);

  const form = h(
    'form',
    { class: 'blueprint', id: 'plan-form' },
    h('label', { for: 'blueprint-text' }, 'Blueprint (YAML)'),
    h('div', { class: 'row' }, h('label', { for: 'blueprint-file' }, 'or load a file:'), fileInput('blueprint-file', text)), // prettier-ignore
    text,
    h('label', { for: 'overlay-text' }, 'Overlay (optional)'),
    h('div', { class: 'row' }, h('label', { for: 'overlay-file' }, 'or load a file:'), fileInput('overlay-file', overlay)), // prettier-ignore
    overlay,
    h('div', { class: 'row' }, planButton, applyButton),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run();
  });
  main.append(
    h('div', { class: 'title-row' }, h('h1', {}, name ? `Plan a blueprint for ${name}` : 'Plan a blueprint'), name ? link(name, 'deployments', name) : ''), // prettier-ignore
    para('Plan shows what the blueprint would change on this site and writes nothing; Apply asks first.'),
    form,
    errors,
    result,
  );
  if (!name) return text.focus();
  try {
    text.value = await getText(`/deployments/${seg(name)}/blueprint?format=yaml`, { signal });
  } catch (err) {
    if (!signal.aborted) replace(errors, errorView(err));
  }
}

/** The deployment page's Blueprint section: the deployment exported as YAML (fetched once per page). */
export function blueprintSection(name, signal) {
  const box = h('div', { id: 'blueprint' }, para('loading…'));
  const load = async () => {
    try {
      const yaml = await getText(`/deployments/${seg(name)}/blueprint?format=yaml`, { signal });
      if (signal.aborted) return;
      const url = URL.createObjectURL(new Blob([yaml], { type: 'application/yaml' }));
      signal.addEventListener('abort', () => URL.revokeObjectURL(url));
      const copy = () =>
        navigator.clipboard.writeText(yaml).then(
          () => notify(`Copied the blueprint of ${name}.`, 'info'),
          (err) => notify(`Could not copy: ${err.message}`),
        );
      replace(
        box,
        h(
          'div',
          { class: 'row' },
          h('a', { class: 'button', id: 'blueprint-download', href: url, download: `${name}.blueprint.yaml` }, 'Download'), // prettier-ignore
          navigator.clipboard ? button('Copy', copy, { id: 'blueprint-copy', class: 'secondary' }) : '',
          h('a', { class: 'button', id: 'blueprint-plan', href: `#/deployments/${seg(name)}/plan` }, 'Plan changes'),
        ),
        h('pre', { class: 'yaml', id: 'blueprint-yaml' }, yaml),
      );
    } catch (err) {
      if (!signal.aborted) replace(box, para(describe(err)));
    }
  };
  load();
  return box;
}
