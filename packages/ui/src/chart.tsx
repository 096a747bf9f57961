'use client';
import {
  Area,
  AreaChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { clockTime, timeAxis } from './time-axis.ts';
import { isolatedRows, valueAxis } from './value-axis.ts';

/** Series colours come from the theme, never from a page. */
export type ChartTone = 'sky' | 'violet' | 'emerald' | 'amber' | 'red' | 'slate';

const TONE: Record<ChartTone, string> = {
  sky: 'var(--color-sky-500)',
  violet: 'var(--color-violet-500)',
  emerald: 'var(--color-emerald-500)',
  amber: 'var(--color-amber-500)',
  red: 'var(--color-red-500)',
  slate: 'var(--color-slate-400)',
};

export interface ChartSeries {
  key: string;
  label: string;
  tone: ChartTone;
  /** Drawn dashed (a limit, a target). */
  dashed?: boolean;
}

export interface TimeSeriesChartProps {
  /** Rows with `t` (ms since the epoch) and one number (or null for a gap) per series key. */
  data: ReadonlyArray<Record<string, number | null>>;
  series: ChartSeries[];
  /** Accessible name: what the chart shows. */
  label: string;
  kind?: 'line' | 'area';
  height?: number;
  formatValue?: (v: number) => string;
  /** The value axis: from 0, up to a round value above the largest point unless a top is given. */
  yDomain?: [0, number | 'auto'];
}

/** A dot for a point with no drawn neighbour, nothing for the others (the line shows them). */
function isolatedDot(isolated: Set<number>, colour: string) {
  return (props: { index?: number; cx?: number; cy?: number }) => {
    const { index = -1, cx, cy } = props;
    if (!isolated.has(index) || cx === undefined || cy === undefined) return <g key={`no-dot-${index}`} />;
    return <circle key={`dot-${index}`} cx={cx} cy={cy} r={3} fill={colour} stroke="none" />;
  };
}

/** The one chart wrapper: time on x, series mapped to theme colours, tooltips in the value's unit. */
export function TimeSeriesChart({
  data,
  series,
  label,
  kind = 'line',
  height = 180,
  formatValue = (v) => String(Math.round(v * 100) / 100),
  yDomain = [0, 'auto'],
}: TimeSeriesChartProps) {
  const Chart = kind === 'area' ? AreaChart : LineChart;
  const times = data.map((row) => row.t).filter((t): t is number => typeof t === 'number');
  const axis = times.length > 0 ? timeAxis(Math.min(...times), Math.max(...times)) : undefined;
  const largest = data.reduce(
    (m, row) => series.reduce((mm, s) => Math.max(mm, row[s.key] ?? Number.NEGATIVE_INFINITY), m),
    Number.NEGATIVE_INFINITY,
  );
  const values = valueAxis(yDomain[1] === 'auto' ? largest : yDomain[1]);
  return (
    <div role="img" aria-label={label} style={{ height }} className="w-full text-xs">
      <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 600, height }}>
        <Chart
          data={data as Array<Record<string, number | null>>}
          // Room on the right for half of the last time label, which is centred on its tick.
          margin={{ top: 4, right: 32, bottom: 0, left: 0 }}
        >
          <CartesianGrid stroke="var(--color-slate-400)" strokeOpacity={0.25} vertical={false} />
          <XAxis
            dataKey="t"
            type="number"
            domain={['dataMin', 'dataMax']}
            scale="time"
            ticks={axis?.ticks}
            interval={0}
            tickFormatter={axis?.label}
            stroke="var(--color-slate-400)"
            tick={{ fill: 'var(--color-slate-500)' }}
          />
          <YAxis
            width={52}
            domain={[0, values.top]}
            ticks={values.ticks}
            interval={0}
            tickFormatter={formatValue}
            stroke="var(--color-slate-400)"
            tick={{ fill: 'var(--color-slate-500)' }}
            allowDecimals
          />
          <Tooltip
            labelFormatter={(t) => clockTime(Number(t))}
            formatter={(v) => (typeof v === 'number' ? formatValue(v) : String(v))}
            contentStyle={{
              background: 'var(--color-slate-800)',
              border: 'none',
              borderRadius: 6,
              color: 'var(--color-slate-100)',
            }}
            isAnimationActive={false}
          />
          <Legend iconType="plainline" />
          {series.map((s) => {
            const dot = isolatedDot(isolatedRows(data, s.key), TONE[s.tone]);
            return kind === 'area' ? (
              <Area
                key={s.key}
                dataKey={s.key}
                name={s.label}
                type="linear"
                stroke={TONE[s.tone]}
                fill={TONE[s.tone]}
                fillOpacity={0.15}
                strokeDasharray={s.dashed ? '4 3' : undefined}
                isAnimationActive={false}
                connectNulls={false}
                dot={dot}
              />
            ) : (
              <Line
                key={s.key}
                dataKey={s.key}
                name={s.label}
                type="linear"
                stroke={TONE[s.tone]}
                strokeWidth={2}
                strokeDasharray={s.dashed ? '4 3' : undefined}
                isAnimationActive={false}
                connectNulls={false}
                dot={dot}
              />
            );
          })}
        </Chart>
      </ResponsiveContainer>
    </div>
  );
}
