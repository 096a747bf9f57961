export { Card, type CardProps } from './card.tsx';
export { StatusBadge, type StatusBadgeProps, type StatusVariant, statusVariant } from './status-badge.tsx';
