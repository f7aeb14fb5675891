/**
 * Which of a model's LoRA targets a LoraConfig adapts, and with what rank, alpha and
 * scaling: PEFT's rules, read from huggingface/peft —
 *   tuners/tuners_utils.py `check_target_module_exists`: exclude_modules first, then
 *     modules_to_save, then target_modules (a list: exact path or `.`-suffix, filtered by
 *     layers_to_transform; a string: `re.fullmatch`);
 *   tuners/tuners_utils.py `_maybe_include_all_linear_layers`: 'all-linear' (any case) is
 *     every linear layer but the output head;
 *   tuners/tuners_utils.py `inject_adapter`: the errors when nothing is adapted, and the
 *     warning for an exclude_modules that excluded nothing;
 *   utils/other.py `get_pattern_key` + tuners/lora/model.py `_create_and_replace`: rank and
 *     alpha from the first rank_pattern / alpha_pattern key (in order) matching
 *     `(.*\.)?(key)$`, looked up separately;
 *   tuners/lora/layer.py `update_layer`: scaling = alpha / r, or alpha / √r with use_rslora.
 *
 * PEFT walks every module of the torch model; here only the linear layers exist (the ONNX
 * graph has no attention or block modules), so a name that matches only a non-linear
 * module in PEFT (where it fails as "not supported") matches nothing here.
 */
import type { LoraTarget } from '../graph/targets.js';
import { describeValue, layersPatternRegex, LoraConfigError, modulesToSaveRegex, parseLoraConfig, patternKeyRegex, type LoraConfig } from './config.js';
import { fullmatch } from './pyregex.js';

export interface LoraMatch {
  target: LoraTarget;
  r: number;
  alpha: number;
  /** alpha / r, or alpha / √r with use_rslora. */
  scaling: number;
  /** The weight layout the adapter works with: always the detected one (`target.fanInFanOut`). */
  fanInFanOut: boolean;
}

export interface MatchResult {
  /** In the order of `targets`. */
  matches: LoraMatch[];
  warnings: string[];
}

/** Nothing to adapt: the message says why, in PEFT's words, and lists the model's module paths. */
export class LoraTargetError extends Error {
  override name = 'LoraTargetError';
  constructor(
    message: string,
    /** The model's module paths, deduplicated, in graph order. */
    readonly available: string[],
  ) {
    super(message);
  }
}

/** peft/utils/constants.py `INCLUDE_LINEAR_LAYERS_SHORTHAND`. */
export const ALL_LINEAR = 'all-linear';

/** tuners_utils.py, no layers_pattern: `re.match(r".*?\.[^.]*\.(\d+)\.", key)`, the first numbered segment. */
const ANY_LAYER = /^.*?\.[^.]*\.(\d+)\./;

type Verdict = 'target' | 'excluded' | 'unmatched';

/**
 * The targets `config` adapts, each with its r, alpha and scaling, plus warnings. Throws
 * LoraTargetError when nothing is adapted, LoraConfigError for a config PEFT would refuse.
 */
export function matchTargets(targets: readonly LoraTarget[], config: LoraConfig | object): MatchResult {
  const c = parseLoraConfig(config).config;
  const verdict = compileMatcher(c);
  const rankOf = patternLookup(c.rankPattern, c.r);
  const alphaOf = patternLookup(c.alphaPattern, c.loraAlpha);
  const matches: LoraMatch[] = [];
  let excluded = 0;
  let unmatched = 0;
  for (const t of targets) {
    const v = verdict(t);
    if (v === 'excluded') excluded++;
    else if (v === 'unmatched') unmatched++;
    else {
      const r = rankOf(t.path);
      const alpha = alphaOf(t.path);
      const scaling = c.useRslora ? alpha / Math.sqrt(r) : alpha / r;
      matches.push({ target: t, r, alpha, scaling, fanInFanOut: t.fanInFanOut });
    }
  }
  if (!matches.length) throw noMatchError(targets, c, excluded, unmatched);

  const warnings: string[] = [];
  if (c.excludeModules !== undefined && c.excludeModules.length && !excluded) {
    warnings.push(
      `You have passed exclude_modules=${describeValue(c.excludeModules)} but no modules were excluded. Please check that exclude_modules was set correctly.`,
    );
  }
  const layout = layoutWarning(matches, c.fanInFanOut);
  if (layout) warnings.push(layout);
  return { matches, warnings };
}

/** check_target_module_exists for one config, with its regexes compiled once. */
function compileMatcher(c: LoraConfig): (t: LoraTarget) => Verdict {
  const excluded = namesOrRegex(c.excludeModules);
  const saved = (c.modulesToSave ?? []).map(modulesToSaveRegex);
  const tm = c.targetModules;
  let targeted: (t: LoraTarget) => boolean;
  if (tm === undefined || tm.length === 0) {
    targeted = () => false;
  } else if (typeof tm === 'string' && tm.toLowerCase() === ALL_LINEAR) {
    // PEFT drops the output embedding (get_output_embeddings) and, for SEQ_CLS, the classifier
    // head; an ONNX graph tells neither apart from other heads, so every output head is dropped.
    targeted = (t) => !t.isOutputHead;
  } else if (typeof tm === 'string') {
    const re = fullmatch(tm);
    targeted = (t) => re.test(t.path);
  } else {
    const names = new Set(tm);
    const inLayers = layerFilter(c);
    // An exact name skips the layers_to_transform filter, as in PEFT.
    targeted = (t) => names.has(t.path) || (tm.some((n) => t.path.endsWith(`.${n}`)) && inLayers(t.path));
  }
  return (t) => {
    if (excluded(t.path) || saved.some((re) => re.test(t.path))) return 'excluded';
    return targeted(t) ? 'target' : 'unmatched';
  };
}

/** A list matches a path equal to an entry or ending in `.entry`; a string must fully match. */
function namesOrRegex(spec: string[] | string | undefined): (path: string) => boolean {
  if (spec === undefined || spec.length === 0) return () => false;
  if (typeof spec === 'string') {
    const re = fullmatch(spec);
    return (path) => re.test(path);
  }
  const names = new Set(spec);
  return (path) => names.has(path) || spec.some((n) => path.endsWith(`.${n}`));
}

/** layers_to_transform with layers_pattern (or any numbered segment): the layer index is read from the path. */
function layerFilter(c: LoraConfig): (path: string) => boolean {
  const want = c.layersToTransform;
  if (want === undefined || (Array.isArray(want) && want.length === 0)) return () => true;
  const lp = c.layersPattern;
  const res = lp === undefined || lp.length === 0 ? [ANY_LAYER] : [lp].flat().map(layersPatternRegex);
  return (path) => {
    const m = res.map((re) => re.exec(path)).find((x) => x !== null);
    if (!m) return false;
    if (!/^\d+$/.test(m[1])) {
      // PEFT reads group 1 as the index, so a group in layers_pattern breaks it there too (int() fails).
      throw new LoraConfigError(`LoraConfig.layers_pattern: ${describeValue(lp)} has a capturing group, which PEFT reads as the layer index; use (?:...)`);
    }
    const index = Number(m[1]);
    return typeof want === 'number' ? index === want : want.includes(index);
  };
}

/** get_pattern_key: the first key, in order, whose `(.*\.)?(key)$` matches the path; else the default. */
function patternLookup(pattern: Record<string, number>, fallback: number): (path: string) => number {
  const keys = Object.keys(pattern).map((k) => [k, patternKeyRegex(k)] as const);
  return (path) => {
    const hit = keys.find(([, re]) => re.test(path));
    return hit ? pattern[hit[0]] : fallback;
  };
}

/**
 * PEFT's fan_in_fan_out describes the torch module (Conv1D stores (in, out), nn.Linear
 * (out, in)) and PEFT corrects a wrong setting with a warning. The ONNX weight shows the
 * torch layout only when it is the module's own `.weight` initializer; exporters that fold
 * a transpose into the constant (`onnx::MatMul_12`) or pre-transpose for MatMul (ORT GenAI's
 * `….MatMul.weight`) say nothing about it, so those are not compared. The adapter always
 * uses the detected layout, and A, B are the same tensors in either layout.
 */
function layoutWarning(matches: LoraMatch[], configured: boolean): string | undefined {
  const ownWeight = (t: LoraTarget) =>
    t.pathFrom === t.weight && !t.quantization && /\.weight$/.test(t.weight) && !/\.(MatMul|Gemm|MatMulNBits)\.weight$/.test(t.weight);
  const off = matches.filter((m) => ownWeight(m.target) && m.target.fanInFanOut !== configured).map((m) => m.target.path);
  if (!off.length) return undefined;
  const peft = configured
    ? 'fan_in_fan_out is set to True but the target module is `torch.nn.Linear`. Setting fan_in_fan_out to False.'
    : 'fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True.';
  const stored = configured ? '(fan_out, fan_in) like torch.nn.Linear' : '(fan_in, fan_out) like transformers\' Conv1D';
  return `${peft} [${compactPaths(off).join(', ')} store their weight ${stored}; webpeft uses the stored layout]`;
}

/** inject_adapter's three "nothing adapted" errors, plus what the model offers. */
function noMatchError(targets: readonly LoraTarget[], c: LoraConfig, excluded: number, unmatched: number): LoraTargetError {
  const available = [...new Set(targets.map((t) => t.path))];
  if (!targets.length) return new LoraTargetError('This model has no LoRA-able linear layers (MatMul / Gemm with a constant weight).', available);
  const tm = c.targetModules;
  let msg: string;
  if (excluded && !unmatched) {
    msg = 'All modules were excluded. This is likely unintended. Check your `target_modules`, `exclude_modules` and `modules_to_save` configuration.';
  } else if (tm === undefined || tm.length === 0) {
    msg =
      'No `target_modules` passed but also no `target_parameters` found. Please check the values for these arguments. ' +
      '(PEFT fills target_modules in from the model type; webpeft needs them set, e.g. a list of the module names below, or "all-linear".)';
  } else if (!excluded) {
    msg = `Target modules ${describeValue(tm)} not found in the base model. Please check the target modules and try again.` + layerNotes(c);
  } else {
    msg =
      'No modules were targeted for adaptation. This might be caused by a combination of mismatched target modules and excluded modules. ' +
      'Please check your `target_modules` and `exclude_modules` configuration. You may also have only targeted modules that are marked to be saved (`modules_to_save`).' +
      layerNotes(c);
  }
  const heads = new Set(targets.filter((t) => t.isOutputHead).map((t) => t.path));
  const names = [...new Set(available.map((p) => p.slice(p.lastIndexOf('.') + 1)))];
  const listed = compactPaths(available.map((p) => (heads.has(p) ? `${p} (output head)` : p)));
  msg +=
    `\nThe model's LoRA-able modules (${available.length}): ${listed.join(', ')}` +
    `\nModule names: ${names.join(', ')}` +
    `\nA list entry matches a module whose path equals it or ends with "." + it; a string is a regex that must match the whole path.`;
  return new LoraTargetError(msg, available);
}

function layerNotes(c: LoraConfig): string {
  let s = '';
  if (c.layersToTransform !== undefined) s += ` Note: You specified 'layers_to_transform': ${describeValue(c.layersToTransform)}.`;
  if (c.layersPattern !== undefined) s += ` You also specified 'layers_pattern': ${describeValue(c.layersPattern)}.`;
  return s;
}

/**
 * Paths that differ only in one layer index folded together, first-seen order kept:
 * `model.layers.{0..31}.self_attn.q_proj`, `encoder.block.{0,2,4}.fc`. At most `max` entries.
 */
export function compactPaths(paths: readonly string[], max = 40): string[] {
  const groups = new Map<string, number[]>();
  for (const p of new Set(paths)) {
    const nums = [...p.matchAll(/(?<=^|\.)\d+(?=\.|$)/g)];
    if (nums.length === 0) {
      groups.set(p, []);
      continue;
    }
    const m = nums[0];
    const key = `${p.slice(0, m.index)}\u0000${p.slice(m.index! + m[0].length)}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(Number(m[0]));
  }
  const out = [...groups].map(([key, idx]) => {
    if (!idx.length) return key;
    const sorted = [...new Set(idx)].sort((a, b) => a - b);
    const run = sorted.length > 2 && sorted.every((v, i) => v === sorted[0] + i);
    const set = sorted.length === 1 ? String(sorted[0]) : run ? `{${sorted[0]}..${sorted.at(-1)}}` : `{${sorted.join(',')}}`;
    return key.replace('\u0000', set);
  });
  return out.length > max ? [...out.slice(0, max), `... ${out.length - max} more`] : out;
}
