import type { GatewayControl } from '@claudefs/api';

/**
 * The console-facing shapes of packages/api/src/types/diagnostics.ts, reached through the
 * GatewayControl methods that carry them (the package's entry point exports the interface, and
 * these follow it exactly, so the gateway cannot drift from what the router promises).
 */
export type DiagnosticTreeDef = Awaited<ReturnType<GatewayControl['diagnosticTrees']>>[number];
export type DiagnosticStepDef = DiagnosticTreeDef['steps'][number];
export type DiagnosticInputDef = DiagnosticTreeDef['inputs'][number];
export type DiagnosticRequest = Parameters<GatewayControl['runDiagnostic']>[0];
export type DiagnosticTreeId = DiagnosticRequest['tree'];
export type DiagnosticRun = Awaited<ReturnType<GatewayControl['runDiagnostic']>>;
export type DiagnosticStepResult = DiagnosticRun['steps'][number];
export type DiagnosticConclusion = DiagnosticRun['conclusion'];
export type StepVerdict = DiagnosticStepResult['verdict'];
export type StepKind = DiagnosticStepResult['kind'];
export type Measured = DiagnosticStepResult['measured'][string];
export type ManualCommands = NonNullable<DiagnosticStepResult['commands']>;
export type RunbookCitation = DiagnosticStepResult['runbook'];
export type OfferedAction = DiagnosticRun['actions'][number];
export type RemediationRequest = Parameters<GatewayControl['remediate']>[0];
export type RemediationActionId = RemediationRequest['action'];
export type RemediationResult = Awaited<ReturnType<GatewayControl['remediate']>>;
export type BundleRequest = Parameters<GatewayControl['diagnosticBundle']>[0];
export type SupportBundle = Awaited<ReturnType<GatewayControl['diagnosticBundle']>>;
export type LogLineView = SupportBundle['logs'][number];
