export { Banner, type BannerProps, type BannerTone } from './banner.tsx';
export { Button, type ButtonProps, type ButtonVariant } from './button.tsx';
export { Card, type CardProps } from './card.tsx';
export { CommandLine, type CommandLineProps, CopyButton, type CopyButtonProps } from './copy-button.tsx';
export { cx } from './cx.ts';
export { ConfirmDialog, type ConfirmDialogProps } from './dialog.tsx';
export {
  Field,
  type FieldProps,
  fieldAria,
  Input,
  Select,
  Textarea,
  TextField,
  type TextFieldProps,
} from './field.tsx';
export { type Measured, MeasuredDetails, MeasuredView } from './measured.tsx';
export { PanelState, type PanelStateProps } from './panel-state.tsx';
export { Stat, type StatProps, type StatTone } from './stat.tsx';
export { StateBand, type StateBandProps } from './state-band.tsx';
export { StatusBadge, type StatusBadgeProps, type StatusVariant, statusVariant } from './status-badge.tsx';
export { HeadRow, type SortDirection, Table, Td, Th, type ThProps } from './table.tsx';
export { type ToastItem, ToastStack, type ToastStackProps } from './toast.tsx';
export { UsageBar, type UsageBarProps } from './usage-bar.tsx';
export { type StepVerdict, WizardStep, type WizardStepProps } from './wizard-step.tsx';
