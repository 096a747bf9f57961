#!/usr/bin/env node
// Copies the repository's docs/RUNBOOK.md into the app before a build, so the Runbook page,
// the rolling-restart checklist and the certificate commands are the operators' own text.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(app, 'content'), { recursive: true });
copyFileSync(join(app, '..', '..', 'docs', 'RUNBOOK.md'), join(app, 'content', 'RUNBOOK.md'));
