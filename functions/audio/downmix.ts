/**
 * Channel handling before anything is measured or encoded: surround is folded down to stereo with the ITU-R
 * BS.775 / ATSC A/52 (§7.8) Lo/Ro coefficients, mono stays mono unless the profile asks for two channels, and the
 * loudness is measured on what is delivered, since that is what the listener hears.
 */
import type { MonoPolicy } from './profiles.ts';

/** −3 dB: the centre and surround mix level of ITU-R BS.775 and ATSC A/52's defaults (cmixlev, surmixlev). */
export const MINUS_3_DB = Math.SQRT1_2;

/** ffmpeg's standard layouts (`ffmpeg -layouts`), in the channel order its decoders deliver. */
const LAYOUTS: Readonly<Record<string, readonly string[]>> = {
  mono: ['FC'],
  stereo: ['FL', 'FR'],
  '2.1': ['FL', 'FR', 'LFE'],
  '3.0': ['FL', 'FR', 'FC'],
  '3.0(back)': ['FL', 'FR', 'BC'],
  '4.0': ['FL', 'FR', 'FC', 'BC'],
  quad: ['FL', 'FR', 'BL', 'BR'],
  'quad(side)': ['FL', 'FR', 'SL', 'SR'],
  '3.1': ['FL', 'FR', 'FC', 'LFE'],
  '5.0': ['FL', 'FR', 'FC', 'BL', 'BR'],
  '5.0(side)': ['FL', 'FR', 'FC', 'SL', 'SR'],
  '4.1': ['FL', 'FR', 'FC', 'LFE', 'BC'],
  '5.1': ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR'],
  '5.1(side)': ['FL', 'FR', 'FC', 'LFE', 'SL', 'SR'],
  '6.0': ['FL', 'FR', 'FC', 'BC', 'SL', 'SR'],
  '6.0(front)': ['FL', 'FR', 'FLC', 'FRC', 'SL', 'SR'],
  hexagonal: ['FL', 'FR', 'FC', 'BL', 'BR', 'BC'],
  '6.1': ['FL', 'FR', 'FC', 'LFE', 'BC', 'SL', 'SR'],
  '6.1(back)': ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR', 'BC'],
  '6.1(front)': ['FL', 'FR', 'LFE', 'FLC', 'FRC', 'SL', 'SR'],
  '7.0': ['FL', 'FR', 'FC', 'BL', 'BR', 'SL', 'SR'],
  '7.0(front)': ['FL', 'FR', 'FC', 'FLC', 'FRC', 'SL', 'SR'],
  '7.1': ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR', 'SL', 'SR'],
  '7.1(wide)': ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR', 'FLC', 'FRC'],
  '7.1(wide-side)': ['FL', 'FR', 'FC', 'LFE', 'FLC', 'FRC', 'SL', 'SR'],
  octagonal: ['FL', 'FR', 'FC', 'BL', 'BR', 'BC', 'SL', 'SR'],
};

/** What ffmpeg assumes for a stream that states no layout (av_channel_layout_default: first layout with that count). */
const DEFAULT_LAYOUT_BY_COUNT: Readonly<Record<number, string>> = { 1: 'mono', 2: 'stereo', 3: '2.1', 4: '4.0', 5: '5.0', 6: '5.1', 7: '6.1', 8: '7.1' };

/**
 * Lo/Ro contribution [left, right] of each channel. LFE is left out, as BS.775 and A/52 do: the LFE channel is
 * an effects feed +10 dB in band, which a stereo pair without a subwoofer would turn into boom. A single back
 * centre goes to both sides at −3 dB after the −3 dB surround level (A/52: 0.7 × slev).
 */
const COEFFICIENTS: Readonly<Record<string, readonly [number, number]>> = {
  FL: [1, 0],
  FR: [0, 1],
  FLC: [1, 0],
  FRC: [0, 1],
  FC: [MINUS_3_DB, MINUS_3_DB],
  LFE: [0, 0],
  BL: [MINUS_3_DB, 0],
  SL: [MINUS_3_DB, 0],
  BR: [0, MINUS_3_DB],
  SR: [0, MINUS_3_DB],
  BC: [0.5, 0.5],
};

export interface ChannelPlan {
  /** Channels of every rendition and of what is measured. */
  readonly outputChannels: 1 | 2;
  /** Filter (no leading comma) that turns the source channels into outputChannels; '' when nothing changes. */
  readonly filter: string;
  /** For the asset document: what happened to the channels, in words. */
  readonly description: string;
}

export function channelPlan(channels: number, layout: string | undefined, mono: MonoPolicy): ChannelPlan {
  if (channels === 1) {
    return mono === 'stereo'
      ? { outputChannels: 2, filter: 'pan=stereo|c0=c0|c1=c0', description: 'mono delivered as dual mono' }
      : { outputChannels: 1, filter: '', description: 'mono kept as mono' };
  }
  const name = layout && LAYOUTS[layout] ? layout : DEFAULT_LAYOUT_BY_COUNT[channels];
  const order = name ? LAYOUTS[name] : undefined;
  if (channels === 2) return { outputChannels: 2, filter: '', description: 'stereo' };
  if (!name || !order || order.length !== channels) {
    // Layouts with height or wide channels (22.2, hexadecagonal): libswresample's matrix at the same −3 dB levels, LFE dropped.
    return {
      outputChannels: 2,
      filter: `aresample=out_chlayout=stereo:center_mix_level=${fixed(MINUS_3_DB)}:surround_mix_level=${fixed(MINUS_3_DB)}:lfe_mix_level=0`,
      description: `${layout ?? `${channels} channels`} downmixed to stereo by libswresample (centre and surround −3 dB, LFE dropped)`,
    };
  }
  return {
    outputChannels: 2,
    filter: panFilter(order),
    description: `${name} downmixed to stereo (ITU-R BS.775 Lo/Ro: centre and surround −3 dB, LFE dropped)`,
  };
}

/** pan with '=' (not '<'): the coefficients are applied as given, never renormalized, so levels stay comparable. */
export function panFilter(order: readonly string[]): string {
  const side = (which: 0 | 1): string => {
    const terms = order
      .map((channel, index) => [COEFFICIENTS[channel]?.[which] ?? 0, index] as const)
      .filter(([coefficient]) => coefficient > 0)
      .map(([coefficient, index]) => `${fixed(coefficient)}*c${index}`);
    return terms.length > 0 ? terms.join('+') : '0*c0';
  };
  return `pan=stereo|c0=${side(0)}|c1=${side(1)}`;
}

/** The coefficient matrix of a known layout, for tests and documentation: one [left, right] pair per channel. */
export function downmixMatrix(layout: string): readonly (readonly [string, number, number])[] | undefined {
  return LAYOUTS[layout]?.map((channel) => [channel, COEFFICIENTS[channel]?.[0] ?? 0, COEFFICIENTS[channel]?.[1] ?? 0] as const);
}

function fixed(value: number): string {
  return Number(value.toFixed(6)).toString();
}
