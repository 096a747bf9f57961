/**
 * Every troubleshooting tree of the runbook by id, in the runbook's order (preflight last):
 * what `./cfs diagnose` accepts. From the API's own list (the package's types alone, not its
 * routers), without loading the trees themselves: trees/index.ts holds them.
 */
export { DIAGNOSTIC_TREE_IDS as TREE_IDS } from '@claudefs/api/diagnostic-trees';
