import type {
  DiagnosticInputDef,
  DiagnosticRequest,
  DiagnosticTreeDef,
  DiagnosticTreeId,
} from '@claudefs/api';

export type InputName = DiagnosticInputDef['name'];
/** The wizard's form as typed: every field text, empty meaning "not given". */
export type InputDraft = Record<InputName, string>;
export type InputProblems = Partial<Record<InputName | 'form', string>>;

export const INPUT_NAMES: readonly InputName[] = ['uid', 'gid', 'path', 'user'];
export const EMPTY_INPUTS: InputDraft = { uid: '', gid: '', path: '', user: '' };
export const INPUT_LABEL: Record<InputName, string> = { uid: 'uid', gid: 'gid', path: 'Path', user: 'User' };

const MAX_ID = 2 ** 31 - 2;

/**
 * Rules across fields that a tree's gateway-side checkRequest enforces, so the form says so
 * before anything is sent (the gateway's own refusal is shown too, should they ever differ).
 */
const ONE_OF: Partial<Record<DiagnosticTreeId, InputName[]>> = {
  quota: ['uid', 'gid'],
  access: ['uid', 'user'],
};
/** Trees whose path is a namespace path; smb-access also takes a share name. */
const ABSOLUTE_PATH: ReadonlySet<DiagnosticTreeId> = new Set(['access', 'inconsistency']);

/** The inputs a URL names (`?tree=quota&uid=1000`), for the form to start from. */
export function inputsFromParams(params: URLSearchParams): InputDraft {
  const draft = { ...EMPTY_INPUTS };
  for (const name of INPUT_NAMES) draft[name] = params.get(name) ?? '';
  return draft;
}

/** Problems by field, plus `form` for a rule across fields; empty when the run may be sent. */
export function inputProblems(tree: DiagnosticTreeDef, draft: InputDraft): InputProblems {
  const problems: InputProblems = {};
  for (const input of tree.inputs) {
    const value = draft[input.name].trim();
    const label = INPUT_LABEL[input.name];
    if (!value) {
      if (input.required) problems[input.name] = `${label} is required`;
      continue;
    }
    if (input.name === 'uid' || input.name === 'gid') {
      if (!/^\d+$/.test(value) || Number(value) > MAX_ID)
        problems[input.name] = `${label} must be a whole number from 0 to ${MAX_ID}`;
    } else if (input.name === 'path') {
      if (value.length > 4096) problems.path = 'a path is at most 4096 characters';
      else if (ABSOLUTE_PATH.has(tree.id) && !value.startsWith('/'))
        problems.path = 'an absolute namespace path, starting with / (/export/…)';
    } else if (value.length > 128) {
      problems.user = 'a user name or access key id is at most 128 characters';
    }
  }
  const oneOf = ONE_OF[tree.id];
  if (oneOf?.every((name) => !draft[name].trim()))
    problems.form = `Give ${oneOf.map((n) => INPUT_LABEL[n]).join(' or ')}${tree.inputRule ? ` (${tree.inputRule})` : ''}.`;
  return problems;
}

/** The `diagnostics.run` input: only the fields this tree takes, numbers as numbers. */
export function runRequest(tree: DiagnosticTreeDef, draft: InputDraft): DiagnosticRequest {
  const request: DiagnosticRequest = { tree: tree.id };
  for (const { name } of tree.inputs) {
    const value = draft[name].trim();
    if (!value) continue;
    if (name === 'uid' || name === 'gid') request[name] = Number(value);
    else request[name] = value;
  }
  return request;
}

/**
 * `/diagnostics?tree=quota&uid=1000`. `run` asks the page to run the wizard on arrival; a link
 * that names inputs runs it too when they are complete (see shouldRunOnArrival).
 */
export function diagnoseHref(
  tree: DiagnosticTreeId,
  inputs: Partial<InputDraft> = {},
  options: { run?: boolean } = {},
): string {
  const params = new URLSearchParams({ tree });
  for (const name of INPUT_NAMES) {
    const value = inputs[name]?.trim();
    if (value) params.set(name, value);
  }
  if (options.run) params.set('run', '1');
  return `/diagnostics?${params.toString()}`;
}

/**
 * A deep link runs its wizard when it says `run=1` or names inputs, and those inputs are
 * valid; a bare `?tree=…` (the wizard list's own links) only opens the form.
 */
export function shouldRunOnArrival(tree: DiagnosticTreeDef, params: URLSearchParams): boolean {
  const draft = inputsFromParams(params);
  const named = INPUT_NAMES.some((n) => draft[n].trim() !== '');
  if (!named && params.get('run') !== '1') return false;
  return Object.keys(inputProblems(tree, draft)).length === 0;
}

/** The runbook headings that open a troubleshooting tree, and the wizard that walks it. */
export const WIZARD_FOR_HEADING: Readonly<Record<string, DiagnosticTreeId>> = {
  'Day-1: Pre-Deployment Checklist': 'preflight',
  'High Latency': 'latency',
  'Connection Failures': 'connection',
  'Quota Enforcement Issues': 'quota',
  'UID/GID Mapping': 'access',
  'SMB Access Denied': 'smb-access',
  'Gateway Unresponsive': 'unresponsive',
  'Backend (A2/A4) Failures': 'backend',
  'Data Inconsistency': 'inconsistency',
};

/** `Troubleshooting Common Issues › High Latency › Diagnosis Flow` → its last heading. */
export function runbookHeading(section: string): string {
  return section.split('›').at(-1)?.trim() ?? section;
}

/** The file name a support bundle is saved under. */
export function bundleFileName(tree: DiagnosticTreeId, runId: string): string {
  return `claudefs-support-${tree}-${runId.replace(/[^A-Za-z0-9-]/g, '')}.json`;
}
